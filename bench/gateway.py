"""Gateway benchmarks: the pipeline per update for 1,000 meters, the store's cost on the event
loop before and after the writer thread, and a live gateway with 1,000 emulated meters."""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.energy.periods import local_zone, summarize, window_start
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.gateway.pipeline import MeterPipeline
from tuyameter.meter import MeterOptions
from tuyameter.pipeline import Batch, MeterStatus, MeterUpdate
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.store.base import BUCKET_S
from tuyameter.store.sqlite import SqliteStore
from tuyameter.store.writer import StoreWriter
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.constants import WifiState
from tuyameter.tuyamcu.session import Session

PROFILE = find_profile("pj1103a")
ZONE = local_zone()


def cycles(seed: int, n: int) -> list[bytes]:
    """``n`` report cycles of an emulated meter, 10 s apart, as the bytes on the wire."""
    emu = Pj1103aEmulator(seed=seed, report_rate=10, speed=1.0)
    emu.wifi_state = WifiState.CLOUD
    out = []
    for k in range(n):
        emu.tick(10.0 * k + 10.0)
        out.append(emu.data_to_send())
    return [c for c in out if c]


def _meter(i: int) -> tuple[Session, DPBinding, MeterPipeline]:
    return (
        Session(),
        DPBinding(PROFILE),
        MeterPipeline(f"m{i:04d}", PROFILE, MeterOptions(), ZONE, keeps_history=True),
    )


def pipeline_per_update(meters: int, rounds: int) -> tuple[float, list[object]]:
    """CPU seconds per update, bytes → session → binding → model → accountant → periods → record."""
    traffic = [cycles(i, rounds) for i in range(meters)]
    state = [_meter(i) for i in range(meters)]
    records: list[object] = []
    wall = time.time()
    t0 = time.process_time()
    updates = 0
    for r in range(rounds):
        for (session, binding, pipe), cyc in zip(state, traffic, strict=True):
            if r >= len(cyc):
                continue
            session.receive_data(cyc[r], 10.0 * r)
            readings = []
            for e in session.events():
                if isinstance(e, ev.DPUpdate):
                    readings += binding.readings(e.records)
            _, rec = pipe.on_batch(Batch(wall + 10.0 * r, tuple(readings)), wall + 10.0 * r)
            records.append(rec)
            updates += 1
    return (time.process_time() - t0) / updates, records


def _fill_month(store: SqliteStore, meter: str, now: float) -> None:
    """Buckets of one meter from the start of the window (last month's last day) until now."""
    start = window_start(dt.datetime.fromtimestamp(now, ZONE)).timestamp()
    rows = [
        (meter, name, float(b), 1.0)
        for b in range(int(start - start % BUCKET_S), int(now), BUCKET_S)
        for name in ("energy_forward_a", "energy_reverse_a", "energy_forward_b", "energy_reverse_b",
                     "energy_forward_total", "energy_reverse_total")
    ]  # fmt: skip
    store.db.executemany("INSERT INTO energy VALUES (?, ?, ?, ?)", rows)


def store_on_the_loop(records: list[object], day: int) -> tuple[float, float, float, int]:
    """(old: ms per update on the loop, new: µs per update on the loop, new: writer CPU ms per reading, batches)."""
    now_dt = dt.datetime.now(ZONE).replace(day=day, hour=18)
    now = now_dt.timestamp()
    with tempfile.TemporaryDirectory() as d:
        old = SqliteStore(Path(d) / "old.db")
        _fill_month(old, "m0000", now)
        sample = [r for r in records if r.meter == "m0000"][:50]  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        for i, r in enumerate(sample):  # what the runner did per update, on the event loop
            ts = now + i
            old.record(r.meter, ts, r.values, r.totals_wh, r.state, power=r.power)  # type: ignore[attr-defined]
            summarize(old.energy_rows(r.meter, window_start(now_dt).timestamp(), ts + 1), now_dt)  # type: ignore[attr-defined]
        old_ms = (time.perf_counter() - t0) / len(sample) * 1000
        old.close()

        async def new() -> tuple[float, float, int]:
            w = StoreWriter(lambda: SqliteStore(Path(d) / "new.db"))
            await w.start()
            c0 = time.process_time()
            t0 = time.perf_counter()
            for r in records:
                w.record(r)  # type: ignore[arg-type]
            enqueue = (time.perf_counter() - t0) / len(records)
            while w.stats.written < len(records):
                await asyncio.sleep(0.05)
            cpu = (time.process_time() - c0) / len(records)
            batches = w.stats.transactions
            await w.close()
            return enqueue, cpu, batches

        enqueue, cpu, batches = asyncio.run(new())
    return old_ms, enqueue * 1e6, cpu * 1000, batches


class _Count:
    def __init__(self) -> None:
        self.updates = 0
        self.online: set[str] = set()

    async def update(self, u: MeterUpdate) -> None:
        self.updates += 1

    async def status(self, s: MeterStatus) -> None:
        (self.online.add if s.online else self.online.discard)(s.meter)


async def _live(meters: int, seconds: float, db: Path) -> tuple[float, float, int, float, int]:
    cfgs = [MeterConfig(f"m{i:04d}", f"sim://pj1103a?seed={i + 1}") for i in range(meters)]
    count = _Count()
    gw = Gateway(cfgs, {c.id: PROFILE for c in cfgs}, store=lambda: SqliteStore(db), outputs=[count])
    async with gw:
        t_end = time.monotonic() + 120
        while len(count.online) < meters and time.monotonic() < t_end:
            await asyncio.sleep(0.2)
        await asyncio.sleep(12)  # every meter past its first full cycle
        u0, c0, w0 = count.updates, time.process_time(), time.perf_counter()
        assert gw.writer is not None
        tx0 = gw.writer.stats.transactions
        await asyncio.sleep(seconds)  # the measurement window
        cpu = (time.process_time() - c0) / (time.perf_counter() - w0)
        rate = (count.updates - u0) / (time.perf_counter() - w0)
        tx = gw.writer.stats.transactions - tx0
        errors = gw.writer.stats.store_errors
    return cpu, rate, tx, rate * seconds / max(tx, 1), errors


def run(quick: bool) -> list[tuple[str, str, str]]:
    rows = []
    meters = 200 if quick else 1000
    per, records = pipeline_per_update(meters, 6)
    rows.append((
        f"pipeline per update, {meters:,} meters",
        f"{per * 1e6:,.0f} µs CPU ({1 / per:,.0f} updates/s per core)",
        "a 20-DP report cycle: bytes → session → binding → meter model → accountant → running periods",
    ))  # fmt: skip
    old_ms, new_us, writer_ms, batches = store_on_the_loop(records, 23)
    rows.append((
        "store cost per update on the event loop, before (runner)",
        f"{old_ms:.1f} ms",
        "SQLite commit (synchronous=FULL) + re-reading 23 days of buckets for today/yesterday/this month",
    ))  # fmt: skip
    rows.append((
        "store cost per update on the event loop, now (writer thread)",
        f"{new_us:.1f} µs enqueue; {writer_ms:.3f} ms writer CPU per reading",
        f"{len(records):,} readings of {meters:,} meters in {batches} transactions (batched while behind)",
    ))  # fmt: skip
    n, secs = (200, 10.0) if quick else (1000, 30.0)
    with tempfile.TemporaryDirectory() as d:
        cpu, rate, tx, batch, errors = asyncio.run(_live(n, secs, Path(d) / "live.db"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append((
        f"live gateway, {n:,} emulated meters (sim://, in-process)",
        f"{cpu * 100:.0f} % of one core, {rate:,.0f} updates/s",
        f"report every 10 s, SQLite store: {tx} transactions in {secs:.0f} s (~{batch:.1f} readings each), "
        f"{errors} store errors, peak RSS {peak:,.0f} MB; includes the {n:,} emulators",
    ))  # fmt: skip
    return rows
