"""Benchmark: inspecting a 2 MB flash dump, tuyameter beside bk7231tools (same synthetic dump)."""

from __future__ import annotations

import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import kvencode as kve
from tuyameter.flash.kv import read_store
from tuyameter.flash.summary import summarize


def synthetic_dump(n_values: int = 80, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    s = kve.Store()
    s.put("baud_cfg", b'{"baud":9600}')
    s.put("gw_di", b'{"id":"bf0123456789abcdefgh","pk":"z95s7p3z54xbsjnl","local_key":"0123456789abcdef"}')
    for i in range(n_values):
        s.put(f"value_{i:03d}", bytes(rnd.randrange(32, 127) for _ in range(rnd.randrange(20, 1200))))
    return bytes(kve.full_dump(kve.config_region(s)))


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    from bk7231tools.analysis.kvstorage import KVStorage

    image = synthetic_dump()
    runs = 5 if quick else 30
    ours = read_store(image)
    blocks = len(ours.blocks)

    def tuyameter() -> None:
        summarize(read_store(image), image)

    def bk7231tools() -> dict[str, object]:
        return KVStorage.decrypt_and_unpack(image, find=True).read_all_values_parsed()

    logging.disable(logging.WARNING)  # bk7231tools warns about every block beyond what it reads
    theirs = bk7231tools()
    their_ms = _median_ms(bk7231tools, runs)
    logging.disable(logging.NOTSET)
    rows = [
        ("flash inspect, 2 MB dump (tuyameter library)", f"median {_median_ms(tuyameter, runs):.1f} ms",
         f"{blocks} data blocks, {len(ours.values)} values read; scan, decrypt, parse, summary; {runs} runs"),
        ("same dump, bk7231tools 2.1.2 (library)", f"median {their_ms:.1f} ms",
         f"{len(theirs)} values read (it stops after 0x8000 bytes: 7 data blocks); {runs} runs"),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dump.bin"
        path.write_bytes(image)
        cmd = [sys.executable, "-m", "tuyameter", "flash", "inspect", str(path), "--json"]
        wall = _median_ms(lambda: subprocess.run(cmd, check=True, capture_output=True), max(3, runs // 6))
    rows.append(("`tuyameter flash inspect --json`, whole command", f"median {wall:.0f} ms",
                 "includes Python start-up and imports"))  # fmt: skip
    return rows
