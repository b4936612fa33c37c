"""Store benchmarks: ingest rate and "daily totals for a year" for 100 meters."""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from tuyameter.energy.report import aggregate_days, offset_segments
from tuyameter.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

STREAMS = ("energy_forward_a", "energy_reverse_a", "energy_forward_b", "energy_reverse_b",
           "energy_forward_total", "energy_reverse_total")  # fmt: skip
ZONE = ZoneInfo("Europe/Berlin")
POWER = ("power_a", "power_b", "power_total")
YEAR_START = dt.datetime(2025, 1, 1, tzinfo=ZONE)
YEAR_END = dt.datetime(2026, 1, 1, tzinfo=ZONE)


def reading(i: int) -> dict[str, object]:
    return {"power_a": 100.0 + i % 50, "power_b": -200.0, "power_total": -100.0, "voltage": 230.1,
            "current_a": 0.5, "current_b": 1.0, "frequency": 50.0, "direction_a": "forward"}  # fmt: skip


def ingest(store: object, n: int) -> float:
    record: Callable[..., None] = store.record  # type: ignore[attr-defined]
    totals = dict.fromkeys(STREAMS, 0.0)
    t0 = time.perf_counter()
    for i in range(n):
        totals = {k: v + 1.7 for k, v in totals.items()}
        values = reading(i)
        power = {k: v for k, v in values.items() if k in POWER and isinstance(v, float)}
        record("ingest", 1_700_000_000.0 + 60.0 * i, values, totals, {"streams": {}}, power=power)
    return n / (time.perf_counter() - t0)


def year_rows(meters: int) -> list[tuple[str, str, float, float]]:
    """One year of 15-minute energy buckets for ``meters`` meters (what per-minute readings produce)."""
    rng = random.Random(1)
    start, end = int(YEAR_START.timestamp()), int(YEAR_END.timestamp())
    rows = []
    for m in range(meters):
        for b in range(start, end, 900):
            for s in STREAMS:
                rows.append((f"m{m:03d}", s, float(b), rng.uniform(0, 60)))
    return rows


def daily_totals(store: object) -> tuple[float, int]:
    t0 = time.perf_counter()
    a, b = YEAR_START.timestamp(), YEAR_END.timestamp()
    rows = store.energy_days(None, a, b, offset_segments(ZONE, a, b))  # type: ignore[attr-defined]
    days = aggregate_days(rows, "day", ZONE)
    return time.perf_counter() - t0, len(days)


def bench_sqlite(meters: int, n_ingest: int, rows: list[tuple[str, str, float, float]]) -> list[tuple[str, str, str]]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        s = SqliteStore(Path(d) / "b.db")
        rate = ingest(s, n_ingest)
        out.append(
            ("SQLite ingest (WAL, synchronous=FULL)", f"{rate:,.0f} readings/s", f"{n_ingest:,} readings, 1 meter")
        )
        s.db.execute("BEGIN")
        s.db.executemany("INSERT INTO energy VALUES (?, ?, ?, ?)", rows)
        s.db.execute("COMMIT")
        secs, days = daily_totals(s)
        out.append(
            ("SQLite daily totals for a year", f"{secs:.2f} s", f"{meters} meters × 6 counters, {days:,} meter-days")
        )
        s.close()
    return out


def bench_postgres(meters: int, n_ingest: int, rows: list[tuple[str, str, float, float]]) -> list[tuple[str, str, str]]:
    from pg import Postgres
    from tuyameter.store.postgres import PostgresStore

    server = Postgres()
    try:
        s = PostgresStore(server.new_database("bench"))
        rate = ingest(s, n_ingest)
        out = [("PostgreSQL ingest", f"{rate:,.0f} readings/s", f"{n_ingest:,} readings, 1 meter, fsync off")]
        with s.db.cursor() as cur, cur.copy("COPY energy (meter, name, bucket, wh) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        s.db.execute("ANALYZE energy")
        secs, days = daily_totals(s)
        out.append(
            (
                "PostgreSQL daily totals for a year",
                f"{secs:.2f} s",
                f"{meters} meters × 6 counters, {days:,} meter-days",
            )
        )
        s.close()
    finally:
        server.stop()
    return out


def run(quick: bool) -> list[tuple[str, str, str]]:
    meters = 10 if quick else 100
    n = 500 if quick else 5000
    rows = year_rows(meters)
    return bench_sqlite(meters, n, rows) + bench_postgres(meters, n, rows)
