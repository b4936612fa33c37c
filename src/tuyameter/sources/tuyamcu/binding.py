"""The TuyaMCU binding of a profile: DP records ↔ named, typed, scaled readings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tuyameter.pipeline.writes import validate_write
from tuyameter.profiles.model import Profile, Value
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord, DPValue


@dataclass
class BindingStats:
    records: int = 0
    unknown_dps: int = 0
    type_mismatches: int = 0


class DPBinding:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.stats = BindingStats()
        self._by_dp = profile.by_dp()

    def readings(self, records: Iterable[DPRecord]) -> list[tuple[str, Value]]:
        """Records in arrival order → (name, value); unknown DPs as ``dp<N>`` with their raw value."""
        out: list[tuple[str, Value]] = []
        for rec in records:
            self.stats.records += 1
            spec = self._by_dp.get(rec.dp)
            if spec is None:
                self.stats.unknown_dps += 1
                v = rec.value
                out.append((f"dp{rec.dp}", v.hex() if isinstance(v, bytes) else v))
            elif rec.type != spec.type:
                self.stats.type_mismatches += 1
            else:
                out.append((spec.name, spec.to_value(rec.value)))
        return out

    def record(self, name: str, value: Value) -> DPRecord:
        """The DP record that writes ``value`` to ``name`` (validated; raises WriteRefused)."""
        spec, raw = validate_write(self.profile, name, value)
        return DPRecord.make(spec.dp, spec.type, bool(raw) if spec.type is DPType.BOOL else raw)

    def echoed(self, echoed: dict[int, DPValue]) -> dict[str, Value]:
        return {self._by_dp[dp].name: self._by_dp[dp].to_value(v) for dp, v in echoed.items() if dp in self._by_dp}
