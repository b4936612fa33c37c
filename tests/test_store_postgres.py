"""PostgreSQL store against a real server started by the tests; same results as SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from harness import make_loop
from pg import Postgres
from tuyameter.emulator.quirks import Quirks
from tuyameter.energy.accountant import Accountant
from tuyameter.energy.report import aggregate
from tuyameter.meter import MeterState
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.store.base import offset_segments
from tuyameter.store.postgres import MIGRATIONS, PostgresStore
from tuyameter.store.sqlite import SqliteStore
from tuyameter.tuyamcu import events as ev

P = find_profile("pj1103a")
_dbs = count()


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.stop()


@pytest.fixture
def pg_store(server: Postgres) -> Iterator[PostgresStore]:
    s = PostgresStore(server.new_database(f"t{next(_dbs)}"))
    yield s
    s.close()


def scenario(stores: list[object]) -> None:
    """An emulated morning with two power cuts, recorded into every store."""
    loop = make_loop(Quirks(counter_reset=1e12), speed=60, sim_hour=7.5, seed=8)
    meter, acc = MeterState(P), Accountant(P)
    seen, cuts = 0, 0
    base = 1_790_000_000.0  # a fixed epoch so both stores see identical timestamps
    while loop.t < 120:
        loop.step(0.05)
        ups = [e for e in loop.events[seen:] if isinstance(e, ev.DPUpdate)]
        seen = len(loop.events)
        if ups:
            for u in ups:
                meter.apply(DPBinding(P).readings(u.records))
            ts = base + loop.emu.sim_time(loop.t) - loop.emu.sim_start
            acc.update(ts, meter.values)
            totals = {n: s.total_wh for n, s in acc.streams.items() if s.last_counter is not None}
            for st in stores:
                snap = meter.snapshot()
                power = {n: float(snap[n]) for n in P.power_names() if n in snap}  # type: ignore[arg-type]
                st.record("house", ts, snap, totals, acc.to_dict(), power=power)  # type: ignore[attr-defined]
        if cuts < 2 and loop.t > 40 * (cuts + 1):
            loop.emu.power_cycle(loop.t)
            cuts += 1


def test_migrations_and_state(pg_store: PostgresStore, server: Postgres) -> None:
    assert pg_store.schema_version == len(MIGRATIONS)
    pg_store.record("m", 1000.0, {"a": 1}, {"energy_forward_a": 10.0}, {"k": [1, 2]})
    assert pg_store.load_state("m") == {"k": [1, 2]} and pg_store.meters() == ["m"]
    again = PostgresStore(pg_store.dsn)  # a second gateway connecting: migrations are a no-op
    assert again.schema_version == len(MIGRATIONS) and again.load_state("m") == {"k": [1, 2]}
    again.close()
    assert pg_store.purge_readings(2000.0) == 1


def test_postgres_and_sqlite_give_identical_results(pg_store: PostgresStore, tmp_path: Path) -> None:
    lite = SqliteStore(tmp_path / "s.db")
    scenario([lite, pg_store])
    a = lite.energy_rows(None, 0, 4e9)
    b = pg_store.energy_rows(None, 0, 4e9)
    assert len(a) == len(b) > 4
    for x, y in zip(a, b, strict=True):
        assert (x.meter, x.name, x.bucket_start) == (y.meter, y.name, y.bucket_start)
        assert x.wh == pytest.approx(y.wh, abs=1e-9)
    for by in ("hour", "day"):
        pa, pb = aggregate(a, by, "Europe/Berlin"), aggregate(b, by, "Europe/Berlin")
        assert [(p.label, p.kwh) for p in pa] == [(p.label, p.kwh) for p in pb]
    assert lite.load_state("house") == pg_store.load_state("house")
    segs = offset_segments(ZoneInfo("Europe/Berlin"), 0, 4e9)
    da, db = sorted(lite.energy_days(None, 0, 4e9, segs)), sorted(pg_store.energy_days(None, 0, 4e9, segs))
    assert [r[:3] for r in da] == [r[:3] for r in db] and da
    assert all(x[3] == pytest.approx(y[3]) for x, y in zip(da, db, strict=True))
    pa_, pb_ = lite.power_minutes(None, 0, 4e9), pg_store.power_minutes(None, 0, 4e9)
    assert len(pa_) == len(pb_) > 2
    for x, y in zip(pa_, pb_, strict=True):
        assert (x.meter, x.name, x.minute, x.min, x.max, x.samples) == (
            y.meter,
            y.name,
            y.minute,
            y.min,
            y.max,
            y.samples,
        )
        assert x.avg == pytest.approx(y.avg)
    lite.close()


def test_two_gateways_write_concurrently(pg_store: PostgresStore) -> None:
    other = PostgresStore(pg_store.dsn)
    for i in range(50):
        pg_store.record("a", float(i), {}, {"energy_forward_a": float(i)}, {})
        other.record("b", float(i), {}, {"energy_forward_a": 2.0 * i}, {})
    assert sum(r.wh for r in pg_store.energy_rows("a", 0, 1e6)) == pytest.approx(49.0)
    assert sum(r.wh for r in pg_store.energy_rows("b", 0, 1e6)) == pytest.approx(98.0)
    other.close()


@pytest.mark.slow
def test_gateway_and_energy_cli_on_postgres(server: Postgres) -> None:
    from e2e import run_cli

    dsn = server.new_database("cli")
    url = f"postgresql://postgres@127.0.0.1:{server.port}/cli"
    assert "dbname=cli" in dsn
    r = run_cli("run", "sim://pj1103a?speed=120&start=11:00", "--db", url, "--duration", "8", "--json", "--id", "pg",
                "--tz", "Asia/Kathmandu")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli("energy", "--db", url, "--by", "hour", "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and rows[-1]["meter"] == "pg" and rows[-1]["kwh"]["energy_forward_a"] > 0
    store = PostgresStore(dsn)  # the gateway's zone is the store's: its days come from the rollups
    assert store.rollup_zone == "Asia/Kathmandu" and store.rollup_rows("day", "pg", 0, 10**6)[1]
    store.close()
    days = {}
    for tz in ("Asia/Kathmandu", "UTC"):  # from the rollups, and summed from the buckets
        r = run_cli("energy", "--db", url, "--by", "day", "--json", "--tz", tz, "--meter", "pg")
        days[tz] = [json.loads(x) for x in r.stdout.splitlines()]
    assert days["Asia/Kathmandu"] and sum(d["kwh"]["energy_forward_a"] for d in days["Asia/Kathmandu"]) == (
        pytest.approx(sum(d["kwh"]["energy_forward_a"] for d in days["UTC"]), abs=1e-5)
    )
