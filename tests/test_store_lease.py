"""Two gateways never write one meter into one database: a lease per meter id (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import Proc, run_cli, wait_until
from pg import Postgres
from tuyameter.store.lease import LeaseError
from tuyameter.store.postgres import PostgresStore
from tuyameter.store.sqlite import SqliteStore


def test_sqlite_lease_per_meter_id(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    a, b = SqliteStore(db), SqliteStore(db)
    a.claim(["house", "garage"])
    with pytest.raises(LeaseError, match=r"'garage'.*pid \d+ on .* since"):
        b.claim(["shed", "garage"])
    b.claim(["shed"])  # another meter in the same database is fine
    a.close()  # the leases go with the store
    b.claim(["garage"])
    b.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.stop()


def test_postgres_lease_is_an_advisory_lock_of_the_connection(server: Postgres) -> None:
    dsn = server.new_database("lease")
    a, b = PostgresStore(dsn), PostgresStore(dsn)
    a.claim(["house"])
    with pytest.raises(LeaseError, match=r"'house'.*PostgreSQL.*pid \d+"):
        b.claim(["house"])
    b.claim(["garage"])
    a.db.close()  # a gateway that dies: its connection ends, and the lock with it

    def free() -> bool:  # the server lets go of the lock once it has seen the connection end
        try:
            b.claim(["house"])
        except LeaseError:
            return False
        return True

    wait_until(free, 10, "the lease freed")
    b.close()


@pytest.mark.slow
def test_second_gateway_on_one_db_is_refused_and_kill_9_frees_the_lease(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    first = Proc("run", "sim://pj1103a?speed=30", "--db", str(db), "--id", "house", "--json")
    try:
        first.wait_json(2, timeout=20)
        second = run_cli("run", "sim://pj1103a", "--db", str(db), "--id", "house", "--duration", "5", timeout=30)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert "already being written by another gateway" in second.stderr and f"pid {first.p.pid}" in second.stderr
        other = run_cli("run", "sim://pj1103a", "--db", str(db), "--id", "garage", "--duration", "2", timeout=30)
        assert other.returncode == 0, other.stderr
    finally:
        first.stop(9)
    after = run_cli("run", "sim://pj1103a", "--db", str(db), "--id", "house", "--duration", "2", timeout=30)
    assert after.returncode == 0, after.stderr
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in con.execute("SELECT meter FROM lease")} == {"house", "garage"}
