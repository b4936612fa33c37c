"""A calibration bench whose load can be switched while the emulated chip runs: a small JSON file
(``{"volts": 231.5, "load_a": 60, "load_b": -40, "pf_a": 1.0, "pf_b": 1.0}``) that ``spi://sim?bench=FILE``
reads again whenever it changes, as a person at a real bench switches a kettle for a bulb between
calibration steps."""

from __future__ import annotations

import json
import math
import os

from tuyameter.emulator.hlw8112_chip import Truth
from tuyameter.emulator.hlw8112_meter import steady_load

#: what a bench file may say, and the range of each
BENCH_KEYS = {"volts": (80.0, 300.0), "hz": (45.0, 65.0), "load_a": (-30000.0, 30000.0),
              "load_b": (-30000.0, 30000.0), "pf_a": (0.05, 1.0), "pf_b": (0.05, 1.0)}  # fmt: skip


def parse_bench(text: str, where: str = "bench") -> Truth:
    """The steady load a bench file describes (ValueError naming what is wrong)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a JSON object is expected")
    for key, value in data.items():
        if key not in BENCH_KEYS:
            raise ValueError(f"{where}: unknown key {key!r} ({', '.join(BENCH_KEYS)})")
        lo, hi = BENCH_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{where}: {key} must be a number")
        if not lo <= value <= hi:
            raise ValueError(f"{where}: {key} must be in {lo:g}..{hi:g}, not {value:g}")
    return steady_load(float(data.get("volts", 230.0)), float(data.get("load_a", 0.0)), float(data.get("load_b", 0.0)),
                       float(data.get("hz", 50.0)), pf_a=float(data.get("pf_a", 1.0)),
                       pf_b=float(data.get("pf_b", 1.0)))  # fmt: skip


class BenchFile:
    """A bench file, read again when it changes; an edit that does not parse keeps the last good load."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.bad_edits = 0
        self._stamp: tuple[int, int] | None = None
        self.truth = self._read()  # at the start a bad file is an error (ValueError / OSError)

    def _read(self) -> Truth:
        st = os.stat(self.path)
        with open(self.path, encoding="utf-8") as f:
            text = f.read()
        self._stamp = (st.st_mtime_ns, st.st_size)
        return parse_bench(text, self.path)

    def poll(self) -> Truth | None:
        """The new load when the file changed since the last look, else None."""
        try:
            st = os.stat(self.path)
            if (st.st_mtime_ns, st.st_size) == self._stamp:
                return None
            self.truth = self._read()
        except (OSError, ValueError):
            self.bad_edits += 1
            return None
        return self.truth
