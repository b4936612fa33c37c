"""tuyameter benchmarks: decoder throughput and emulator→reading latency.

Run with ``make bench`` (or ``python bench/run.py [--quick]``); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.serve import PtyServer
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.meter import MeterState
from tuyameter.pipeline import MeterStatus, MeterUpdate
from tuyameter.profiles import find_profile
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import mcu_report_frame

ROWS: list[tuple[str, str, str]] = []


def report_stream(n: int, noise: float, seed: int = 1) -> tuple[bytes, int]:
    rng = random.Random(seed)
    out = bytearray()
    for i in range(n):
        dp = 101 + i % 31
        out += mcu_report_frame([DPRecord.make(dp, DPType.VALUE, rng.randrange(100000))]).encode()
        if noise and rng.random() < noise:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(out), n


def bench_decoder(n: int) -> None:
    for noise in (0.0, 0.05):
        data, frames = report_stream(n, noise)
        best = 0.0
        for _ in range(3):
            dec = FrameDecoder()
            t0 = time.perf_counter()
            got = 0
            for i in range(0, len(data), 64):  # 64-byte reads, like a UART driver delivers them
                got += sum(isinstance(x, Frame) for x in dec.feed(data[i : i + 64], 0.0))
            dt = time.perf_counter() - t0
            assert got >= frames * (0.99 if noise else 1.0)
            best = max(best, frames / dt)
        ROWS.append(
            (
                f"decode single-DP reports, {noise:.0%} garbage",
                f"{best:,.0f} frames/s",
                f"{n:,} frames, 64-byte chunks, best of 3",
            )
        )


def bench_hostile_decode(size: int) -> None:
    """The worst input found for the decoder: a run of headers that each announce a long payload."""
    import resource

    data = b"\x55\xaa" * (size // 2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    dec = FrameDecoder(max_payload=0xFFFF)  # as `tuyameter decode` runs it
    out = dec.feed(data, 0.0) + dec.flush()
    dt = time.perf_counter() - t0
    grown = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert sum(len(g.data) for g in out if isinstance(g, Garbage)) == len(data)
    ROWS.append(
        (
            f"decode {size / 2**20:.0f} MB of 55 AA headers (hostile)",
            f"{dt:.2f} s, +{grown:.0f} MB peak",
            f"{len(out):,} garbage runs; `tuyameter decode` took 101 s and 438 MB before issue 10",
        )
    )


def minimal_decode(data: bytes, chunk: int = 64) -> int:
    """The least a streaming TuyaMCU decoder can do in Python (header search, length, checksum, payload
    slice; no garbage reporting, no objects): the yardstick the whole path is measured against."""
    buf = b""
    frames = 0
    for i in range(0, len(data), chunk):
        buf += data[i : i + chunk]
        pos, n = 0, len(buf)
        while True:
            start = buf.find(b"\x55\xaa", pos)
            if start < 0 or n - start < 7:
                pos = start if start >= 0 else max(pos, n - 1)  # a last 0x55 may begin a header
                break
            end = start + 6 + ((buf[start + 4] << 8) | buf[start + 5])
            if end >= n:
                pos = start
                break
            if sum(buf[start:end]) & 0xFF == buf[end]:
                _cmd, _payload = buf[start + 3], buf[start + 6 : end]
                frames += 1
                pos = end + 1
            else:
                pos = start + 1
        buf = buf[pos:]
    return frames


def whole_path(n: int) -> dict[str, float]:
    """Bytes → decoder → session → the TuyaMCU source's own handler (binding, the burst ended by its
    last DP) → meter model once per report cycle, as the gateway runs them: an emulated meter's
    report cycles (one DP per frame) in 64-byte reads. Beside it the minimal decoder of the same bytes.
    The heap settled first, as ``tuyameter run`` does once its meters are started."""
    from gateway import cycles

    from tuyameter.compiled import compiled_modules
    from tuyameter.pipeline.events import Batch
    from tuyameter.sources.tuyamcu.source import TuyaMcuSource
    from tuyameter.util.heap import settle_heap

    bursts = cycles(1, max(1, n // 20))
    data = b"".join(bursts)
    frames = data.count(b"\x55\xaa")  # the emulator's frames hold no 55 AA inside
    settle_heap()
    best_min = best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        assert minimal_decode(data) == frames
        best_min = max(best_min, frames / (time.perf_counter() - t0))

        profile = find_profile("pj1103a")
        source = TuyaMcuSource("socket://127.0.0.1:9", profile)
        meter = MeterState(profile)
        batches = [0]

        def on_batch(item: object, meter: MeterState = meter, batches: list[int] = batches) -> None:
            if isinstance(item, Batch):
                meter.apply(item.readings)
                batches[0] += 1

        source._emit = on_batch  # type: ignore[method-assign]  # the gateway's pipeline, in line
        session, handle = source.session, source._on_events_now
        t0 = time.perf_counter()
        for i in range(0, len(data), 64):
            session.receive_data(data[i : i + 64], 0.0)
            handle(session.events(), 0.0)
        best = max(best, frames / (time.perf_counter() - t0))
        assert session.stats.frames_in == frames and batches[0] >= len(bursts) - 1
        assert not meter.stats.implausible and len(meter.values) >= 15
    return {"minimal": best_min, "whole": best, "frames": frames, "cycles": len(bursts),
            "compiled": len(compiled_modules())}  # fmt: skip


def bench_pipeline(n: int) -> None:
    """The whole per-frame path in two fresh processes: this installation's pure Python, and the
    compiled build of ``make compiled`` (build/compiled), each beside the minimal decoder."""
    import json
    import subprocess
    from pathlib import Path

    from farm import build_env, compiled_built

    runs = {}
    for build, compiled in (("pure Python", False), ("compiled core", True)):
        if compiled and not compiled_built():
            ROWS.append(("whole per-frame path, compiled core", "not built", "`make compiled` builds it"))
            continue
        code = f"import json, run; print(json.dumps(run.whole_path({n})))"
        out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, env=build_env(compiled),
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        runs[build] = r = json.loads(out.splitlines()[-1])
        assert bool(r["compiled"]) == compiled, f"{build}: {r['compiled']} modules compiled"
    for build, r in runs.items():
        ROWS.append((f"minimal streaming decoder (the yardstick), beside the {build} run",
                     f"{r['minimal']:,.0f} frames/s",
                     f"{r['frames']:,} frames, 64-byte chunks: header search, length, checksum, payload slice, "
                     "no objects; pure Python; best of 5"))  # fmt: skip
        ROWS.append((f"bytes → session → source → meter model (the whole per-frame path), {build}",
                     f"{r['whole']:,.0f} frames/s",
                     f"**{r['whole'] / r['minimal']:.0%} of the minimal decoder** of the same process; the same "
                     f"{r['frames']:,} single-DP frames: {r['cycles']:,} report cycles of an emulated meter, the "
                     "source's handler and burst end, the meter model once per cycle; heap settled as `tuyameter "
                     "run` does; best of 5"))  # fmt: skip
    from chunks import CHUNK, per_chunk

    cpu = min(asyncio.run(per_chunk(max(100, n // 100)))[0] for _ in range(3))
    ROWS.append(("a bridged meter's chunk through the source, pump and session", f"{cpu * 1e6:.1f} µs CPU",
                 f"{CHUNK}-byte chunks (a bridge's pace at 9600 baud) handed to the TCP link's callback as the "
                 "event loop would, without sockets: the pump's fast lane, session, source handler; "
                 "best of 3"))  # fmt: skip
    line = 9600 / 10 / 15
    ROWS.append(("(for scale) one meter at 9600 baud", f"{line:.0f} frames/s max", "15-byte frames, 8N1"))


class _Latency:
    def __init__(self, emu: Pj1103aEmulator) -> None:
        self.emu = emu
        self.cycle_sent: dict[int, float] = {}
        self.samples: list[float] = []
        self._orig = emu._report_cycle
        emu._report_cycle = self._wrapped  # type: ignore[method-assign]

    def _wrapped(self) -> None:
        self._orig()
        self.cycle_sent[self.emu.cycles] = time.monotonic()

    async def update(self, u: MeterUpdate) -> None:
        sent = self.cycle_sent.get(self.emu.cycles)
        if sent is not None and len(self.cycle_sent) > 1:
            self.samples.append(time.monotonic() - sent)
            del self.cycle_sent[self.emu.cycles]

    async def status(self, s: MeterStatus) -> None:
        pass


async def _latency_pty(cycles: int, baud: int) -> list[float]:
    emu = Pj1103aEmulator(seed=3, report_rate=3, speed=3.0)
    lat = _Latency(emu)
    server = PtyServer(emu, baud)
    stop = asyncio.Event()
    serve = asyncio.ensure_future(server.serve(stop))
    cfg = MeterConfig(id="b", url=server.path, baud=baud)
    async with Gateway([cfg], {"b": find_profile("pj1103a")}, outputs=[lat]) as gw:
        async for _ in gw.updates():
            if len(lat.samples) >= cycles:
                break
    stop.set()
    await serve
    return lat.samples


def bench_latency(cycles: int) -> None:
    for baud in (9600, 115200):
        s = asyncio.run(_latency_pty(cycles, baud))
        p95 = sorted(s)[int(len(s) * 0.95) - 1]
        ROWS.append(
            (f"emulator cycle start → reading, pty at {baud}", f"median {statistics.median(s) * 1000:.0f} ms, "
             f"p95 {p95 * 1000:.0f} ms",
             f"{len(s)} cycles of 20 frames; includes wire time; the burst ends on its last DP (131), no settle wait")
        )  # fmt: skip


def bench_startup(runs: int) -> None:
    """Whole commands, Python start-up included: only the named command's module is imported."""
    import subprocess
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("tuyameter"))
    for argv, what in ((["--help"], "`tuyameter --help`"),
                       (["decode", "55AA0307000802020004000000647D"], "`tuyameter decode HEX`")):  # fmt: skip
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([exe, *argv], capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        ROWS.append((f"start-up: {what}", f"median {statistics.median(times) * 1000:.0f} ms",
                     f"{runs} runs, wall time of the whole process (Python start-up included)"))  # fmt: skip


PARTS = ("startup", "decoder", "pipeline", "latency", "gateway", "stores", "flash", "lan", "web", "scale")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--only", metavar="PART[,PART]", help=f"run only these parts: {', '.join(PARTS)}")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else set(PARTS)
    if only - set(PARTS):
        ap.error(f"unknown part(s): {', '.join(sorted(only - set(PARTS)))}; the parts are {', '.join(PARTS)}")
    n = 20_000 if args.quick else 200_000
    for part in PARTS:
        if part not in only:
            continue
        if part == "startup":
            bench_startup(5 if args.quick else 15)
        elif part == "decoder":
            bench_decoder(n)
            bench_hostile_decode(2**19 if args.quick else 2**21)
        elif part == "pipeline":
            bench_pipeline(n // 2)
        elif part == "latency":
            bench_latency(5 if args.quick else 20)
        else:  # the parts with a module of their own
            ROWS.extend(__import__(part).run(args.quick))
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}\n")
    print("| what | result | conditions |\n|---|---|---|")
    for r in ROWS:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
