"""The current state of one meter, built from DP records through its profile.

- Power DPs that carry a magnitude (``signed_by`` in the profile) become signed:
  consumption positive, export negative (Home Assistant's convention).
- ``computed`` values (``power_total`` = signed A + signed B) are recomputed
  from the signed values; the MCU's own total stays a raw diagnostic.
- ``late_direction`` channels hold their values until the following direction
  DP, which is the one that belongs to them (a known firmware bug).
- ``suppress_lone_zeros`` drops a single zero between non-zero readings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tuyameter.profiles.model import DPSpec, Profile, Value
from tuyameter.tuyamcu.dp import DPRecord, DPValue


@dataclass(frozen=True)
class MeterOptions:
    late_direction: frozenset[str] = frozenset()
    suppress_lone_zeros: bool = False


@dataclass
class MeterStats:
    records: int = 0
    unknown_dps: int = 0
    type_mismatches: int = 0
    lone_zeros_suppressed: int = 0
    late_direction_missing: int = 0


@dataclass
class MeterState:
    profile: Profile
    options: MeterOptions = field(default_factory=MeterOptions)
    stats: MeterStats = field(default_factory=MeterStats)
    raw: dict[int, DPValue] = field(default_factory=dict)
    values: dict[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_dp = self.profile.by_dp()
        self._by_name = self.profile.by_name()
        self._held: dict[str, list[DPRecord]] = {}
        self._pending_zero: set[int] = set()
        self._signed = [d for d in self.profile.dps if d.signed_by]
        self._unknown_names: set[str] = set()

    # -- public ------------------------------------------------------------

    def apply(self, records: Iterable[DPRecord]) -> set[str]:
        """Apply DP records in arrival order; return the names whose value changed."""
        before = dict(self.values)
        for rec in records:
            self.stats.records += 1
            self._route(rec)
        self._derive()
        return {k for k, v in self.values.items() if before.get(k, _MISSING) != v}

    def flush_held(self) -> set[str]:
        """Release values held for a late direction (e.g. at link loss)."""
        before = dict(self.values)
        for ch in list(self._held):
            self._release(ch)
        self._derive()
        return {k for k, v in self.values.items() if before.get(k, _MISSING) != v}

    def snapshot(self, include_private: bool = False) -> dict[str, Value]:
        if include_private:
            return dict(self.values)
        out: dict[str, Value] = {}
        for k, v in self.values.items():
            spec = self._by_name.get(k)
            if spec is None or not spec.private:
                out[k] = v
        return out

    # -- internals ---------------------------------------------------------

    def _route(self, rec: DPRecord) -> None:
        spec = self._by_dp.get(rec.dp)
        if spec is None:
            self.stats.unknown_dps += 1
            name = f"dp{rec.dp}"
            v = rec.value
            self.raw[rec.dp] = v
            self.values[name] = v.hex() if isinstance(v, bytes) else v
            return
        if rec.type != spec.type:
            self.stats.type_mismatches += 1
            return
        ch = spec.channel
        if ch is not None and ch in self.options.late_direction:
            if spec.reverse_option is not None:
                self._store(spec, rec.value)  # this direction belongs to the held values
                self._release(ch)
                return
            held = self._held.setdefault(ch, [])
            if any(h.dp == rec.dp for h in held):
                # A new cycle began without a direction DP: keep the last direction.
                self.stats.late_direction_missing += 1
                self._release(ch)
                held = self._held.setdefault(ch, [])
            held.append(rec)
            return
        self._apply_one(spec, rec.value)

    def _release(self, ch: str) -> None:
        for rec in self._held.pop(ch, []):
            self._apply_one(self._by_dp[rec.dp], rec.value)

    def _apply_one(self, spec: DPSpec, raw: DPValue) -> None:
        if spec.lone_zero and self.options.suppress_lone_zeros and isinstance(raw, int):
            prev = self.raw.get(spec.dp)
            if spec.dp in self._pending_zero:
                self._pending_zero.discard(spec.dp)
                if raw != 0:
                    self.stats.lone_zeros_suppressed += 1
            elif raw == 0 and prev not in (None, 0):
                self._pending_zero.add(spec.dp)
                return
        self._store(spec, raw)

    def _store(self, spec: DPSpec, raw: DPValue) -> None:
        self.raw[spec.dp] = raw
        self.values[spec.name] = spec.to_value(raw)

    def _derive(self) -> None:
        for spec in self._signed:
            raw = self.raw.get(spec.dp)
            if raw is None or isinstance(raw, bytes | str):
                continue
            assert spec.signed_by is not None
            dspec = self._by_name[spec.signed_by]
            magnitude = spec.to_value(raw)
            assert isinstance(magnitude, int | float)
            sign = -1 if self.values.get(dspec.name) == dspec.reverse_option else 1
            self.values[spec.name] = sign * magnitude if magnitude else magnitude
        for comp in self.profile.computed:
            parts = [self.values.get(p) for p in comp.sum]
            if all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts):
                total = round(sum(float(p) for p in parts if isinstance(p, int | float)), comp.decimals)
                self.values[comp.name] = total + 0.0  # no negative zero


_MISSING = object()
