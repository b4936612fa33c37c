"""Console output: one human line (or one JSON line) per meter update."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from tuyameter.pipeline.events import MeterStatus, MeterUpdate
from tuyameter.profiles.model import Profile, Value

#: Values shown first on a human line, when the profile has them: (name, short label)
_SUMMARY = (
    ("power_a", "A"), ("power_b", "B"), ("power_total", "Σ"), ("voltage", ""), ("frequency", ""),
    ("current_a", "IA"), ("current_b", "IB"),
    ("energy_forward_a", "A→"), ("energy_reverse_a", "A←"), ("energy_forward_b", "B→"), ("energy_reverse_b", "B←"),
)  # fmt: skip


def format_value(v: Value, unit: str | None, signed: bool = False, decimals: int | None = None) -> str:
    if isinstance(v, float):
        d = 1 if decimals is None else decimals
        s = f"{v:+.{d}f}" if signed else f"{v:.{d}f}"
    elif isinstance(v, bool):
        s = "on" if v else "off"
    else:
        s = str(v)
    return f"{s} {unit}" if unit else s


class ConsoleOutput:
    def __init__(
        self,
        profiles: dict[str, Profile],
        *,
        as_json: bool = False,
        every: float = 0.0,
        stream: TextIO | None = None,
        err: TextIO | None = None,
        include_private: bool = False,
    ) -> None:
        self.profiles = profiles
        self.as_json = as_json
        self.every = every
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.include_private = include_private
        self._last: dict[str, float] = {}
        self._fmt: dict[str, tuple[dict[str, str | None], dict[str, int], frozenset[str]]] = {}

    async def update(self, u: MeterUpdate) -> None:
        mono = time.monotonic()
        if self.every and mono - self._last.get(u.meter, -1e9) < self.every:
            return
        self._last[u.meter] = mono
        values = dict(u.values)
        if self.include_private:
            values.update(u.private)
        if self.as_json:
            line = json.dumps({"meter": u.meter, "time": u.time.isoformat(timespec="milliseconds"), "values": values})
        else:
            line = self.human(u.meter, u.time.strftime("%H:%M:%S"), values)
        print(line, file=self.stream, flush=True)

    def _formats(self, meter: str) -> tuple[dict[str, str | None], dict[str, int], frozenset[str]]:
        """Units, decimals and the signed (power) names of a meter, built on its first line."""
        if meter not in self._fmt:
            prof = self.profiles.get(meter)
            units: dict[str, str | None] = {}
            decimals: dict[str, int] = {}
            signed: frozenset[str] = frozenset()
            if prof is not None:
                signed = frozenset(prof.power_names())
                units = {d.name: d.unit for d in prof.quantities} | {c.name: c.unit for c in prof.computed}
                decimals = {d.name: d.decimals for d in prof.quantities} | {c.name: c.decimals for c in prof.computed}
                # The gateway's energy totals have Wh resolution, finer than the meter's counters.
                decimals |= {d.name: 3 for d in prof.quantities if d.counter}
            self._fmt[meter] = (units, decimals, signed)
        return self._fmt[meter]

    def human(self, meter: str, when: str, values: dict[str, Value]) -> str:
        units, decimals, signed_names = self._formats(meter)
        parts = []
        for name, short in _SUMMARY:
            if name in values:
                text = format_value(values[name], units.get(name), name in signed_names, decimals.get(name))
                parts.append(f"{short} {text}".strip())
        if not parts:
            parts = [f"{k}={format_value(v, units.get(k), False, decimals.get(k))}" for k, v in values.items()]
        return f"{when} {meter:<8} " + "  ".join(parts)

    async def status(self, s: MeterStatus) -> None:
        state = "online" if s.online else "offline"
        print(f"{s.time.strftime('%H:%M:%S')} {s.meter}: {state} — {s.detail}", file=self.err, flush=True)
