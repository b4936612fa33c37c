"""Store benchmarks: ingest rate and "daily totals for a year" for 100 meters."""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from tuyameter.energy.history import energy_periods, energy_series
from tuyameter.energy.report import aggregate_days
from tuyameter.store.base import Record, offset_segments
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


def _records(n: int, meters: int, step: float) -> list[Record]:
    """``n`` readings of ``meters`` meters, each meter one every ``step`` seconds, counters rising."""
    out, totals = [], {f"m{m:03d}": dict.fromkeys(STREAMS, 0.0) for m in range(meters)}
    for i in range(n):
        m = f"m{i % meters:03d}"
        totals[m] = {k: v + 1.7 for k, v in totals[m].items()}
        values = reading(i)
        power = {k: v for k, v in values.items() if k in POWER and isinstance(v, float)}
        out.append(Record(m, 1_700_000_000.0 + step * (i // meters), values, totals[m], {"streams": {}}, power))
    return out


def ingest(store: object, n: int, meters: int = 1, batch: int = 1, step: float = 60.0) -> float:
    """Readings/s written in transactions of ``batch`` readings (the writer's batches when behind)."""
    record_many: Callable[[list[Record]], None] = store.record_many  # type: ignore[attr-defined]
    records = _records(n, meters, step)
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        record_many(records[i : i + batch])
    return n / (time.perf_counter() - t0)


class YearRows:
    """One year of 15-minute energy buckets for ``meters`` meters (what per-minute readings produce),
    made as they are read: 21 million tuples held in a list made every garbage collection of the
    bench's process walk them, which quadrupled the year query's time (a gateway or the energy
    command holds nothing like it)."""

    def __init__(self, meters: int) -> None:
        self.meters = meters
        self._start, self._end = int(YEAR_START.timestamp()), int(YEAR_END.timestamp())

    def __len__(self) -> int:
        return self.meters * len(range(self._start, self._end, 900)) * len(STREAMS)

    def __iter__(self) -> Iterator[tuple[str, str, float, float]]:
        rng = random.Random(1)
        for m in range(self.meters):
            for b in range(self._start, self._end, 900):
                for s in STREAMS:
                    yield (f"m{m:03d}", s, float(b), rng.uniform(0, 60))


def daily_totals(store: object, how: str) -> tuple[float, int]:
    """A year of daily totals with net values for every meter: ``buckets`` summed from the 15-minute
    buckets in the database (as before the rollups; once, it takes seconds), ``periods`` from the day
    rollup as a period per meter-day, ``series`` from it as a column per counter and meter. Best of 3."""
    a, b = YEAR_START.timestamp(), YEAR_END.timestamp()
    best, days = float("inf"), 0
    for _ in range(1 if how == "buckets" else 3):
        t0 = time.perf_counter()
        if how == "series":
            got = energy_series(store, None, (a, b), "day", ZONE)  # type: ignore[arg-type]
            n = sum(len(s.starts) for s in got)
        elif how == "periods":
            n = len(energy_periods(store, None, (a, b), "day", ZONE))  # type: ignore[arg-type]
        else:
            n = len(aggregate_days(store.energy_days(None, a, b, offset_segments(ZONE, a, b)), "day", ZONE))  # type: ignore[attr-defined]
        best, days = min(best, time.perf_counter() - t0), n
    return best, days


def store_rows(
    kind: str, store: object, *, reopen: Callable[[], object], n: int, rows: YearRows,
    load: Callable[[object], None],
) -> list[tuple[str, str, str]]:  # fmt: skip
    """Ingest one by one and batched, then a year of buckets: the year query before and after rollups."""
    one = ingest(store, n // 5)
    batched = ingest(store, n * 4, meters=100, batch=500, step=3.0)
    out = [
        (f"{kind} ingest, a transaction per reading", f"{one:,.0f} readings/s", f"{n // 5:,} readings, 1 meter"),
        (f"{kind} ingest, batched", f"{batched:,.0f} readings/s",
         f"{n * 4:,} readings of 100 meters reporting every 3 s, in transactions of 500 (the writer's batches "
         "when behind): raw readings, buckets, day and month rollups, power minutes, state"),
    ]  # fmt: skip
    load(store)
    secs, days = daily_totals(store, "buckets")
    meters = rows.meters
    out.append((f"{kind} daily totals for a year, summed from the buckets", f"{secs * 1000:,.0f} ms",
                f"{meters} meters × 6 counters, {days:,} meter-days with net values"))  # fmt: skip
    store.close()  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    fresh = reopen()  # another zone: the rollups are rebuilt from the buckets
    rebuild = time.perf_counter() - t0
    secs, days = daily_totals(fresh, "periods")
    out.append((f"{kind} daily totals for a year, from the day rollup, a period each", f"{secs * 1000:,.0f} ms",
                f"the same {days:,} meter-days as Period objects, best of 3; the rollups of {len(rows):,} buckets "
                f"were rebuilt in {rebuild:.1f} s when the store was opened in this zone"))  # fmt: skip
    secs, days = daily_totals(fresh, "series")
    out.append((f"{kind} daily totals for a year, from the day rollup, as columns", f"{secs * 1000:,.0f} ms",
                f"the same {days:,} meter-days as a series per meter (a column per counter, what a chart or "
                "CSV takes), best of 3"))  # fmt: skip
    fresh.close()  # type: ignore[attr-defined]
    return out


def bench_sqlite(n: int, rows: YearRows) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as d:

        def load(s: object) -> None:
            db = s.db  # type: ignore[attr-defined]
            db.execute("BEGIN")
            db.executemany("INSERT INTO energy VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
            db.execute("COMMIT")

        path = Path(d) / "b.db"
        first, again = SqliteStore(path, rollup_zone="UTC"), lambda: SqliteStore(path, rollup_zone=ZONE.key)
        return store_rows("SQLite (WAL, synchronous=FULL)", first, reopen=again, n=n, rows=rows, load=load)


def pg_load(rows: YearRows, *, at: bool = False) -> Callable[[object], None]:
    """What puts the year of buckets into a PostgreSQL store, by COPY; ``at``: with each bucket's
    start as a timestamp too (a TimescaleDB store's hypertable column)."""
    columns = "meter, name, bucket, wh, at" if at else "meter, name, bucket, wh"

    def load(s: object) -> None:
        db = s.db  # type: ignore[attr-defined]
        db.execute("DELETE FROM energy")
        with db.cursor() as cur, cur.copy(f"COPY energy ({columns}) FROM STDIN".encode()) as cp:
            for r in rows:
                cp.write_row((*r, dt.datetime.fromtimestamp(r[2], dt.UTC)) if at else r)
        db.execute("ANALYZE energy")

    return load


def bench_postgres(n: int, rows: YearRows) -> list[tuple[str, str, str]]:
    from pg import Postgres
    from tuyameter.store.postgres import PostgresStore

    server = Postgres()
    try:
        dsn = server.new_database("bench")
        first, again = PostgresStore(dsn, rollup_zone="UTC"), lambda: PostgresStore(dsn, rollup_zone=ZONE.key)
        return store_rows("PostgreSQL (fsync off)", first, reopen=again, n=n, rows=rows, load=pg_load(rows))
    finally:
        server.stop()


def bench_timescale(n: int, rows: YearRows) -> list[tuple[str, str, str]]:
    """The same with TimescaleDB (hypertables), and the year of days from its continuous aggregate."""
    from pg import Postgres, timescale_installed
    from tuyameter.store.postgres import PostgresStore

    kind = "PostgreSQL + TimescaleDB (fsync off)"
    if not timescale_installed():
        return [(kind, "not measured", "the extension is not installed for this machine's PostgreSQL")]
    server = Postgres(timescale=True)
    try:
        dsn = server.new_database("bench")
        first, again = PostgresStore(dsn, rollup_zone="UTC"), lambda: PostgresStore(dsn, rollup_zone=ZONE.key)
        out = store_rows(kind, first, reopen=again, n=n, rows=rows, load=pg_load(rows, at=True))
        store = PostgresStore(dsn)
        t0 = time.perf_counter()
        for view in ("energy_daily", "energy_monthly"):
            store.db.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)".encode())
        built = time.perf_counter() - t0
        best, got = float("inf"), 0
        for _ in range(3):
            t0 = time.perf_counter()
            fetched = store.db.execute(
                "SELECT meter, name, day, wh FROM energy_daily WHERE day >= %s AND day < %s ORDER BY meter, day",
                (YEAR_START, YEAR_END), binary=True,
            ).fetchall()  # fmt: skip
            best, got = min(best, time.perf_counter() - t0), len(fetched)
        days = len({(r[0], r[2]) for r in fetched})
        out.append((f"{kind} daily totals for a year, from the continuous aggregate energy_daily",
                    f"{best * 1000:,.0f} ms",
                    f"only fetching its {got:,} rows (a row per meter, counter and day: {days:,} meter-days) in "
                    f"binary, no net values, best of 3; materialised from the {len(rows):,} buckets in "
                    f"{built:.1f} s"))  # fmt: skip
        store.close()
        return out
    finally:
        server.stop()


def run(quick: bool) -> list[tuple[str, str, str]]:
    meters = 10 if quick else 100
    n = 500 if quick else 5000
    rows = YearRows(meters)
    return bench_sqlite(n, rows) + bench_postgres(n, rows) + bench_timescale(n, rows)
