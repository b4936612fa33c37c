"""The SQLite store: migrations, buckets, continuity, retention; energy reports across DST."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tuyameter.energy.report import aggregate
from tuyameter.profiles import find_profile
from tuyameter.store.base import BUCKET_S, EnergyRow, split_into_buckets
from tuyameter.store.sqlite import MIGRATIONS, SqliteStore

BERLIN = ZoneInfo("Europe/Berlin")


def test_migrations_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    s = SqliteStore(db)
    assert s.schema_version == len(MIGRATIONS)
    s.record("m", 1000.0, {"power_a": 1.0}, {"energy_forward_a": 5000.0}, {"x": 1})
    s.close()
    s = SqliteStore(db)  # migrating again is a no-op
    assert s.schema_version == len(MIGRATIONS) and s.load_state("m") == {"x": 1} and s.meters() == ["m"]
    s.close()


def test_energy_is_spread_over_buckets(tmp_path: Path) -> None:
    assert split_into_buckets(0.0, 1800.0, 30.0) == [(0.0, 15.0), (900.0, 15.0)]
    assert split_into_buckets(850.0, 950.0, 10.0) == [(0.0, 5.0), (900.0, 5.0)]
    assert split_into_buckets(10.0, 10.0, 3.0) == [(0.0, 3.0)]
    assert split_into_buckets(0.0, 10.0, 0.0) == []
    s = SqliteStore(tmp_path / "t.db")
    s.record("m", 0.0, {}, {"energy_forward_a": 1000.0}, {})
    s.record("m", 1800.0, {}, {"energy_forward_a": 1030.0}, {})
    s.record("m", 2700.0, {}, {"energy_forward_a": 1040.0}, {})
    rows = s.energy_rows("m", 0, 3600)
    assert [(r.bucket_start, r.wh) for r in rows] == [(0.0, 15.0), (900.0, 15.0), (1800.0, 10.0)]
    assert sum(r.wh for r in s.energy_rows(None, 0, 10_000)) == 40.0
    s.close()


def test_retention_keeps_aggregates(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "t.db")
    for i in range(10):
        s.record("m", i * 60.0, {"v": i}, {"energy_forward_a": 1000.0 + i}, {})
    assert s.purge_readings(300.0) == 5
    assert sum(r.wh for r in s.energy_rows("m", 0, 10_000)) == 9.0
    s.close()


def day_rows(day: dt.date, wh_per_bucket: float = 1.0) -> list[EnergyRow]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=BERLIN).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BERLIN).timestamp()
    n = int((end - start) // BUCKET_S)
    return [EnergyRow("m", "energy_forward_a", start + i * BUCKET_S, wh_per_bucket) for i in range(n)]


@pytest.mark.parametrize(("day", "hours"), [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25),
                                            (dt.date(2026, 6, 1), 24)])  # fmt: skip
def test_dst_days_sum_their_real_hours(day: dt.date, hours: int) -> None:
    rows = day_rows(day - dt.timedelta(days=1)) + day_rows(day) + day_rows(day + dt.timedelta(days=1))
    days = aggregate(rows, "day", BERLIN)
    target = next(p for p in days if p.start.date() == day)
    assert target.hours == hours
    assert target.kwh["energy_forward_a"] == pytest.approx(hours * 4 / 1000)
    by_hour = [p for p in aggregate(rows, "hour", BERLIN) if p.start.date() == day]
    assert len(by_hour) == hours and all(p.kwh["energy_forward_a"] == pytest.approx(0.004) for p in by_hour)


def test_months_and_net() -> None:
    rows = [
        EnergyRow("m", "energy_forward_total", dt.datetime(2026, 1, 31, 23, 50, tzinfo=BERLIN).timestamp(), 500.0),
        EnergyRow("m", "energy_reverse_total", dt.datetime(2026, 2, 1, 0, 0, tzinfo=BERLIN).timestamp(), 200.0),
        EnergyRow("m", "energy_forward_total", dt.datetime(2026, 2, 14, 12, 0, tzinfo=BERLIN).timestamp(), 700.0),
    ]
    months = aggregate(rows, "month", BERLIN)
    assert [p.label for p in months] == ["2026-01", "2026-02"]
    assert months[1].kwh == {"energy_forward_total": 0.7, "energy_reverse_total": 0.2, "net_total": 0.5}
    assert months[0].kwh["net_total"] == 0.5


def test_today_yesterday_this_month_across_a_dst_night() -> None:
    from tuyameter.energy.periods import local_midnight, summarize

    now = dt.datetime(2026, 10, 26, 9, 0, tzinfo=BERLIN)  # the day after the 25-hour day
    assert local_midnight(now, 1) == dt.datetime(2026, 10, 25, tzinfo=BERLIN)
    rows = day_rows(dt.date(2026, 10, 25)) + day_rows(dt.date(2026, 10, 26))[:36]  # until 09:00
    rows += day_rows(dt.date(2026, 9, 30))  # last month: not counted
    s = summarize(rows, now)
    assert s["energy_forward_a_yesterday"] == 0.1  # 100 quarter hours of 1 Wh
    assert s["energy_forward_a_today"] == 0.036
    assert s["energy_forward_a_this_month"] == 0.136


def power_of(values: dict[str, object]) -> dict[str, float]:
    """What the pipeline hands the store: the profile's power quantities (not the MCU's total)."""
    names = find_profile("pj1103a").power_names()
    return {k: float(v) for k, v in values.items() if k in names and isinstance(v, int | float)}


def test_power_minutes(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "p.db")
    for i, p in enumerate((100.0, -50.0, 250.0, 10.0)):
        values = {"power_a": p, "power_total_mcu": 9e9, "voltage": 230.0}
        s.record("m", 600.0 + i * 20, values, {}, {}, power=power_of(values))
    rows = s.power_minutes("m", 0, 1e6)
    assert [(r.minute, r.min, r.max, r.samples) for r in rows] == [(600.0, -50.0, 250.0, 3), (660.0, 10.0, 10.0, 1)]
    assert rows[0].avg == pytest.approx(100.0)
    s.close()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])
def test_days_summed_in_the_database_match_python(tmp_path: Path, zone: str) -> None:
    import random

    from tuyameter.energy.report import aggregate_days
    from tuyameter.store.base import offset_segments

    z = ZoneInfo(zone)
    s = SqliteStore(tmp_path / "d.db")
    rng = random.Random(zone)
    start = dt.datetime(2026, 2, 20, tzinfo=z).timestamp()
    end = dt.datetime(2026, 4, 20, tzinfo=z).timestamp()
    rows = [("m", "energy_forward_total", b, rng.uniform(0, 50)) for b in range(int(start) // 900 * 900, int(end), 900)]
    s.db.executemany("INSERT INTO energy VALUES (?, ?, ?, ?)", rows)
    py = aggregate(s.energy_rows("m", start, end), "day", z)
    db = aggregate_days(s.energy_days("m", start, end, offset_segments(z, start, end)), "day", z)
    assert [(p.start, p.hours) for p in py] == [(p.start, p.hours) for p in db]
    for a, b in zip(py, db, strict=True):
        assert a.kwh["energy_forward_total"] == pytest.approx(b.kwh["energy_forward_total"], abs=1e-6)
    months = aggregate_days(s.energy_days("m", start, end, offset_segments(z, start, end)), "month", z)
    assert [p.label for p in months] == ["2026-02", "2026-03", "2026-04"]
    s.close()
