"""PostgreSQL with TimescaleDB: hypertables, and continuous aggregates of the energy per local day
and month that agree with the rollup tables and the 15-minute buckets (before and after they are
materialised, across DST changes, in another zone, after an upgrade); a server with the extension
installed but not preloaded is used as plain PostgreSQL.

These run where the machine's PostgreSQL has the extension (its Debian package, or a build of it);
elsewhere they are skipped, saying so."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from pg import Postgres, timescale_installed
from test_store_rollup import check, readings, write
from tuyameter.store import postgres
from tuyameter.store.base import offset_segments
from tuyameter.store.postgres import PostgresStore
from tuyameter.store.rollup import month_of_day

pytestmark = pytest.mark.skipif(not timescale_installed(), reason="TimescaleDB is not installed for this PostgreSQL")

ROWS = "SELECT meter, name, bucket, wh FROM energy ORDER BY meter, name, bucket"
#: (meter, period number, counter) → Wh
Totals = dict[tuple[str, int, str], float]


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres(timescale=True)
    yield pg
    pg.stop()


def aggregate(store: PostgresStore, by: str, zone: str) -> Totals:
    """What the continuous aggregate holds, by local day number or year * 12 + month - 1."""
    view, col = ("energy_daily", "day") if by == "day" else ("energy_monthly", "month")
    rows = store.db.execute(
        f"SELECT meter, name, ({col} AT TIME ZONE %s)::date, wh FROM {view}".encode(), (zone,)
    ).fetchall()
    out: Totals = {}
    for meter, name, d, wh in rows:
        n = (d - dt.date(1970, 1, 1)).days
        assert d.day == 1 or by == "day", "a month bucket starts on a local first of the month"
        out[meter, n if by == "day" else month_of_day(n), name] = wh
    return out


def rollup_tables(store: PostgresStore, by: str) -> Totals:
    names, rows = store.rollup_rows(by, None, 0, 10**7)
    return {(m, n, name): v for m, n, *vals in rows for name, v in zip(names, vals, strict=True) if v is not None}


def buckets_by_day(store: PostgresStore, zone: str) -> Totals:
    z = ZoneInfo(zone)
    lo, hi = dt.datetime(2026, 1, 1, tzinfo=z).timestamp(), dt.datetime(2027, 1, 1, tzinfo=z).timestamp()
    return {(m, d, name): wh for m, name, d, wh in store.energy_days(None, lo, hi, offset_segments(z, lo, hi))}


def same(a: Totals, b: Totals) -> None:
    assert sorted(a) == sorted(b) and len(a) > 20
    for k, v in a.items():  # the same Wh summed in another order
        assert v == pytest.approx(b[k], rel=1e-12, abs=1e-9), k


def agree(store: PostgresStore, zone: str) -> None:
    """The aggregates hold what the rollup tables hold, and the days what the buckets sum to."""
    days = aggregate(store, "day", zone)
    same(days, rollup_tables(store, "day"))
    same(days, buckets_by_day(store, zone))
    same(aggregate(store, "month", zone), rollup_tables(store, "month"))


def refresh(store: PostgresStore) -> None:
    """Run the stores' own refresh policies (the test server runs no background jobs), the day one
    first: the month one reads it."""
    jobs = dict(
        store.db.execute(
            "SELECT hypertable_name, job_id FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ).fetchall()
    )
    assert sorted(jobs) == ["energy_daily", "energy_monthly"], "a refresh policy for each aggregate"
    for view in ("energy_daily", "energy_monthly"):
        store.db.execute("CALL run_job(%s)", (jobs[view],))


def hypertables(store: PostgresStore) -> set[str]:
    rows = store.db.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
    return {r[0] for r in rows}


def test_the_aggregates_agree_with_the_rollups_before_and_after_materialising(server: Postgres) -> None:
    zone = "Europe/Berlin"  # the readings cross its spring and autumn DST changes
    store = PostgresStore(server.new_database("agg"), rollup_zone=zone)
    assert store.timescale
    assert {"reading", "energy"} <= hypertables(store)
    recs = readings(zone, 21)
    write(store, recs[: len(recs) // 2], 22)
    agree(store, zone)  # nothing materialised yet: real-time aggregation over the buckets
    refresh(store)
    store.db.execute("ALTER MATERIALIZED VIEW energy_daily SET (timescaledb.materialized_only = true)")
    agree(store, zone)  # the materialised rows alone
    store.db.execute("ALTER MATERIALIZED VIEW energy_daily SET (timescaledb.materialized_only = false)")
    write(store, recs[len(recs) // 2 :], 23)  # more, into days that are materialised and days that are not
    refresh(store)
    agree(store, zone)
    check(store, zone)  # the store's own queries on the hypertable, as on plain PostgreSQL
    store.close()


def test_another_zone_makes_the_aggregates_again(server: Postgres, caplog: pytest.LogCaptureFixture) -> None:
    dsn = server.new_database("zones")
    store = PostgresStore(dsn, rollup_zone="Europe/Berlin")
    write(store, readings("Asia/Kathmandu", 31), 32)
    refresh(store)
    store.close()
    caplog.set_level(logging.INFO, "tuyameter.store.timescale")
    moved = PostgresStore(dsn, rollup_zone="Asia/Kathmandu")  # a quarter-hour offset
    assert "made for Asia/Kathmandu (was Europe/Berlin)" in caplog.text
    agree(moved, "Asia/Kathmandu")
    caplog.clear()
    PostgresStore(dsn, rollup_zone="Asia/Kathmandu").close()  # the same zone again: kept, and said
    assert "made for" not in caplog.text
    assert "continuous aggregates energy_daily and energy_monthly for Asia/Kathmandu" in caplog.text
    moved.close()


def test_a_view_of_the_users_keeps_the_aggregates(server: Postgres, caplog: pytest.LogCaptureFixture) -> None:
    """Another zone remakes the aggregates, but never drops a view the user built on them."""
    dsn = server.new_database("userview")
    store = PostgresStore(dsn, rollup_zone="Europe/Berlin")
    write(store, readings("Europe/Berlin", 61, meters=1), 62)
    store.db.execute("CREATE VIEW my_days AS SELECT day, sum(wh) AS wh FROM energy_daily GROUP BY day")
    store.close()
    caplog.set_level(logging.WARNING, "tuyameter.store.timescale")
    moved = PostgresStore(dsn, rollup_zone="Asia/Kathmandu")  # the rollup tables move; the aggregates cannot
    assert "stay those of Europe/Berlin, not Asia/Kathmandu" in caplog.text and "my_days" in caplog.text
    assert moved.db.execute("SELECT COUNT(*) FROM my_days").fetchone()[0] > 20
    agree_days = aggregate(moved, "day", "Europe/Berlin")
    same(agree_days, buckets_by_day(moved, "Europe/Berlin"))  # still right, for their own zone
    moved.db.execute("DROP VIEW my_days")
    moved.close()
    again = PostgresStore(dsn, rollup_zone="Asia/Kathmandu")  # the next start makes them
    agree(again, "Asia/Kathmandu")
    again.close()


def test_an_older_timescale_database_gets_the_energy_hypertable(
    server: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = server.new_database("upgrade")
    with monkeypatch.context() as m:
        m.setattr(postgres, "MIGRATIONS", postgres.MIGRATIONS[:5])
        old = PostgresStore(dsn, rollup_zone="Europe/Berlin")
        assert not old.timescale and hypertables(old) == {"reading"}  # as the store wrote it before
        write(old, readings("Europe/Berlin", 41), 42)
        before = old.db.execute(ROWS).fetchall()
        old.close()
    store = PostgresStore(dsn, rollup_zone="Europe/Berlin")
    assert store.schema_version == len(postgres.MIGRATIONS)
    assert {"reading", "energy"} <= hypertables(store)
    assert store.db.execute(ROWS).fetchall() == before and len(before) > 1000  # every bucket, to the bit
    assert store.db.execute("SELECT COUNT(*) FROM energy WHERE at <> to_timestamp(bucket)").fetchone() == (0,)
    agree(store, "Europe/Berlin")
    store.close()


def test_gateways_opening_one_new_database_at_once(server: Postgres) -> None:
    dsn = server.new_database("race")
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(PostgresStore(dsn, rollup_zone="Europe/Berlin"))
        except BaseException as e:  # the test reports it
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 4
    views = (
        opened[0]
        .db.execute("SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1")
        .fetchall()
    )
    assert views == [("energy_daily",), ("energy_monthly",)]
    for s in opened:
        s.close()


def test_installed_but_not_preloaded_is_plain_postgresql(caplog: pytest.LogCaptureFixture) -> None:
    plain = Postgres()  # TimescaleDB's files are there, the server does not load it
    try:
        caplog.set_level(logging.WARNING, "tuyameter.store.timescale")
        store = PostgresStore(plain.new_database("plain"), rollup_zone="Europe/Berlin")
        assert not store.timescale
        assert "installed on this PostgreSQL server but not preloaded" in caplog.text
        write(store, readings("Europe/Berlin", 51, meters=3), 52)
        check(store, "Europe/Berlin")
        store.close()
    finally:
        plain.stop()
