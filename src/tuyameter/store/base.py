"""The store interface every backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: Energy is aggregated in 15-minute buckets (UTC), so local days, hours and months
#: come out right in every time zone, half-hour offsets and DST changes included.
BUCKET_S = 900


@dataclass(frozen=True)
class EnergyRow:
    meter: str
    name: str  # e.g. energy_forward_a
    bucket_start: float  # epoch seconds, UTC, a multiple of BUCKET_S
    wh: float


class Store(Protocol):
    def load_state(self, meter: str) -> dict[str, Any] | None: ...

    def record(
        self,
        meter: str,
        ts: float,
        values: Mapping[str, object],
        totals_wh: Mapping[str, float],
        state: Mapping[str, Any],
    ) -> None: ...

    def energy_rows(self, meter: str | None, start: float, end: float) -> list[EnergyRow]: ...

    def meters(self) -> list[str]: ...

    def close(self) -> None: ...
