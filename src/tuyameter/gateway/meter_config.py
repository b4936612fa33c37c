"""What the configuration says about one meter."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.meter import MeterOptions
from tuyameter.sources.base import SourceOptions


@dataclass
class MeterConfig:
    id: str
    url: str
    profile: str = "pj1103a"
    baud: int | None = None
    late_direction: list[str] = field(default_factory=list)
    suppress_lone_zeros: bool = False
    wifi_state: int | None = None
    heartbeat_interval: float = 10.0
    #: the device's clock runs this much faster than the wall clock ('tuyameter sim --speed')
    clock_rate: float | None = None

    def source_options(self) -> SourceOptions:
        return SourceOptions(
            baud=self.baud,
            wifi_state=self.wifi_state,
            heartbeat_interval=self.heartbeat_interval,
            clock_rate=self.clock_rate,
        )

    def meter_options(self) -> MeterOptions:
        return MeterOptions(frozenset(self.late_direction), self.suppress_lone_zeros)
