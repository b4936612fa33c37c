"""Batched writes and the day/month rollups: the same answers as writing reading by reading and
summing the 15-minute buckets, in zones with DST, half-hour DST and quarter-hour offsets, on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pg import Postgres
from tuyameter.energy.history import energy_periods, energy_series
from tuyameter.energy.report import Period, aggregate_days
from tuyameter.store.base import Record, offset_segments
from tuyameter.store.postgres import PostgresStore
from tuyameter.store.sqlite import SqliteStore

ZONES = ["Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"]
COUNTERS = ("energy_forward_a", "energy_reverse_a", "energy_forward_total", "energy_reverse_total")


def readings(zone: str, seed: int, meters: int = 3) -> list[Record]:
    """Readings every 7–40 minutes over two DST changes of ``zone``, counters rising irregularly; one
    meter has only half the counters and one starts late."""
    rng = random.Random(seed)
    z = ZoneInfo(zone)
    t0 = dt.datetime(2026, 3, 25, 22, 10, tzinfo=z).timestamp()
    t1 = dt.datetime(2026, 4, 12, 3, 0, tzinfo=z).timestamp()
    t2 = dt.datetime(2026, 9, 20, tzinfo=z).timestamp()
    t3 = dt.datetime(2026, 10, 30, tzinfo=z).timestamp()
    out = []
    for m in range(meters):
        names = COUNTERS[:2] if m == 1 else COUNTERS
        totals = dict.fromkeys(names, 0.0)
        for lo, hi in ((t0, t1), (t2, t3)):
            ts = lo + rng.uniform(0, 3600) + (86400 * 3 if m == 2 else 0)
            while ts < hi:
                totals = {k: v + rng.choice((0.0, rng.uniform(0, 400))) for k, v in totals.items()}
                power = {"power_a": rng.uniform(-500, 500)}
                out.append(Record(f"m{m}", ts, {"power_a": power["power_a"]}, dict(totals), {"n": len(out)}, power))
                ts += rng.uniform(420, 2400)
    out.sort(key=lambda r: r.ts)
    return out


def write(store: SqliteStore | PostgresStore, records: list[Record], seed: int) -> None:
    """In batches of random size, as the writer hands them over when it is behind."""
    rng = random.Random(seed)
    i = 0
    while i < len(records):
        n = rng.choice((1, 1, 2, 7, 50, 400))
        store.record_many(records[i : i + n])
        i += n


def from_buckets(store: SqliteStore | PostgresStore, span: tuple[float, float], by: str, z: ZoneInfo) -> list[Period]:
    return aggregate_days(store.energy_days(None, *span, offset_segments(z, *span)), by, z)


def same(a: list[Period], b: list[Period]) -> None:
    assert [(p.meter, p.start, p.hours, sorted(p.kwh)) for p in a] == [
        (p.meter, p.start, p.hours, sorted(p.kwh)) for p in b
    ]
    for x, y in zip(a, b, strict=True):  # the same Wh added in another order: equal to the last bit or two
        assert all(x.kwh[k] == pytest.approx(y.kwh[k], abs=2e-6) for k in x.kwh), (x, y)


def spans(z: ZoneInfo) -> list[tuple[tuple[float, float], str]]:
    day = lambda y, m, d: dt.datetime(y, m, d, tzinfo=z).timestamp()  # noqa: E731
    return [
        ((day(2026, 3, 1), day(2026, 11, 1)), "day"),
        ((day(2026, 3, 1), day(2026, 11, 1)), "month"),  # whole months: the month table
        ((day(2026, 3, 28), day(2026, 10, 5)), "month"),  # days summed into months
        ((day(2026, 4, 1), day(2026, 4, 6)), "day"),
    ]


class _RollupsOnly:
    """A store whose buckets cannot be read: the answer must come from the rollups."""

    def __init__(self, store: SqliteStore | PostgresStore) -> None:
        self.rollup_zone, self.rollup_rows = store.rollup_zone, store.rollup_rows
        self.rollup_columns = store.rollup_columns

    def energy_days(self, *args: object) -> None:
        raise AssertionError("read from the buckets")


def check(store: SqliteStore | PostgresStore, zone: str) -> None:
    z = ZoneInfo(zone)
    assert store.rollup_zone == zone
    for span, by in spans(z):
        fast = energy_periods(_RollupsOnly(store), None, span, by, z)  # type: ignore[arg-type]
        assert fast, (span, by)
        same(fast, from_buckets(store, span, by, z))
    # not from midnight to midnight, or another zone: answered from the buckets, still right
    odd = (spans(z)[0][0][0] + 3600, spans(z)[0][0][1])
    assert energy_periods(store, None, odd, "day", z) == from_buckets(store, odd, "day", z)
    utc = ZoneInfo("UTC")
    whole = (dt.datetime(2026, 3, 1, tzinfo=utc).timestamp(), dt.datetime(2026, 11, 1, tzinfo=utc).timestamp())
    assert energy_periods(store, "m0", whole, "day", utc) == [
        p for p in from_buckets(store, whole, "day", utc) if p.meter == "m0"
    ]
    for span, by in [*spans(z), (odd, "day")]:
        series_agree(store, span, by, z)


def series_agree(store: SqliteStore | PostgresStore, span: tuple[float, float], by: str, z: ZoneInfo) -> None:
    """The columns are the periods: the same numbers to the bit, a series per meter in order, a
    value or None for every period; a meter without some counters has None in their columns."""
    series = energy_series(store, None, span, by, z)
    assert [p for s in series for p in s.periods()] == energy_periods(store, None, span, by, z)
    assert [s.meter for s in series] == sorted({s.meter for s in series}) == ["m0", "m1", "m2"]
    for s in series:
        assert s.starts == sorted(set(s.starts)) and len(s.hours) == len(s.starts)
        assert all(len(col) == len(s.starts) for col in s.kwh.values()) and list(s.kwh) == sorted(s.kwh)
    half = next(s for s in series if s.meter == "m1")  # only the _a counters
    assert all(v is None for v in half.kwh["energy_forward_total"]) and any(half.kwh["energy_forward_a"])


@pytest.mark.parametrize("zone", ZONES)
def test_rollups_answer_as_the_buckets_do(tmp_path: Path, zone: str) -> None:
    s = SqliteStore(tmp_path / "r.db", rollup_zone=zone)
    write(s, readings(zone, 1), 2)
    check(s, zone)
    s.close()


def test_batches_write_what_reading_by_reading_writes(tmp_path: Path) -> None:
    recs = readings("Europe/Berlin", 5)[:1500]  # three meters, the spring DST change
    one, many = SqliteStore(tmp_path / "1.db"), SqliteStore(tmp_path / "n.db")
    for s in (one, many):
        s.db.execute("PRAGMA synchronous=OFF")  # what is written is compared, not how safely
    for r in recs:
        one.record_many([r])
    write(many, recs, 6)
    for q in ("SELECT meter, name, bucket, wh FROM energy ORDER BY 1, 2, 3",
              "SELECT meter, name, minute, min, max, sum, n FROM power_minute ORDER BY 1, 2, 3",
              "SELECT id, state, last_ts, last_totals FROM meter ORDER BY 1",
              "SELECT meter, ts, data FROM reading ORDER BY 1, 2"):  # fmt: skip
        a, b = one.db.execute(q).fetchall(), many.db.execute(q).fetchall()
        assert len(a) == len(b) > 0
        for x, y in zip(a, b, strict=True):
            assert x == pytest.approx(y, abs=1e-9) if isinstance(x[-1], float) else x == y
    one.close(), many.close()


def test_another_zone_rebuilds_the_rollups_from_the_buckets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "z.db"
    s = SqliteStore(db, rollup_zone="Europe/Berlin")
    write(s, readings("Europe/Berlin", 3), 4)
    s.close()
    kept = SqliteStore(db)  # a reader (the energy command): keeps the zone it finds
    assert kept.rollup_zone == "Europe/Berlin"
    kept.close()
    caplog.set_level("INFO")
    moved = SqliteStore(db, rollup_zone="Australia/Lord_Howe")
    assert "rebuilt for Australia/Lord_Howe (was Europe/Berlin)" in caplog.text
    check(moved, "Australia/Lord_Howe")
    write(moved, readings("Europe/Berlin", 9, meters=1)[-50:], 1)  # and kept up to date from there on
    check(moved, "Australia/Lord_Howe")
    moved.close()


def test_an_old_store_gets_its_rollups_on_the_first_open_with_a_zone(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    s = SqliteStore(db)  # no zone: buckets only, as before the rollups
    write(s, readings("Asia/Kathmandu", 7), 8)
    assert s.rollup_zone is None and s.db.execute("SELECT COUNT(*) FROM energy_day").fetchone() == (0,)
    s.close()
    s = SqliteStore(db, rollup_zone="Asia/Kathmandu")
    check(s, "Asia/Kathmandu")
    s.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.stop()


def test_postgres_rollups_match_sqlite_and_the_buckets(server: Postgres, tmp_path: Path) -> None:
    zone = "America/Santiago"
    pg = PostgresStore(server.new_database("rollup"), rollup_zone=zone)
    lite = SqliteStore(tmp_path / "l.db", rollup_zone=zone)
    recs = readings(zone, 11)
    write(pg, recs, 12)
    write(lite, recs, 13)
    check(pg, zone)
    z = ZoneInfo(zone)
    for span, by in spans(z):
        same(energy_periods(pg, None, span, by, z), energy_periods(lite, None, span, by, z))
    again = PostgresStore(pg.dsn, rollup_zone="Europe/Berlin")  # another zone: rebuilt in PostgreSQL too
    check(again, "Europe/Berlin")
    again.close(), pg.close(), lite.close()
