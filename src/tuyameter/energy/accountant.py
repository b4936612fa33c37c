"""Per-meter energy accountant: one :class:`CounterStream` per counter DP of the profile.

Sans-IO: call :meth:`Accountant.update` with the source's time (seconds) and the meter's
current values (as the meter model produces them: signed power in W, counters in
kWh). Each counter is paired with the signed power of its channel — its positive
part for a ``forward`` counter, its negative part for ``reverse`` — and a counter
without a channel (the meter's totals) with the sum over all channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuyameter.energy.stream import CounterEvent, CounterStream
from tuyameter.profiles.model import DPSpec, Profile, Value

MAX_CHANNEL_W = 25_000.0  # 80 A (120 A variants: 28 kW) at 240 V, with headroom
MAX_GAP_S = 120.0  # integrate power over at most this long without a new reading


@dataclass
class AccountEvent:
    time: float
    name: str
    event: CounterEvent
    counter_kwh: float
    total_kwh: float


@dataclass
class Accountant:
    profile: Profile
    max_channel_w: float = MAX_CHANNEL_W
    streams: dict[str, CounterStream] = field(default_factory=dict)
    last_time: float | None = None
    last_counter_time: dict[str, float] = field(default_factory=dict)
    powers: dict[str, float] = field(default_factory=dict)  # channel → signed W at last update
    counts: dict[str, int] = field(default_factory=dict)  # event name → how often

    def __post_init__(self) -> None:
        self._counters: list[DPSpec] = [d for d in self.profile.dps if d.counter]
        self._power_of: dict[str, str] = {}
        for d in self.profile.dps:
            if d.channel and d.device_class == "power" and not d.diagnostic:
                self._power_of[d.channel] = d.name
        for d in self._counters:
            self.streams.setdefault(d.name, CounterStream())

    def update(self, t: float, values: Mapping[str, Value], restarted: bool = False) -> list[AccountEvent]:
        """``restarted``: the MCU restarted (power cut) since the previous update."""
        events: list[AccountEvent] = []
        if self.last_time is not None and t > self.last_time:
            dt = min(t - self.last_time, MAX_GAP_S)
            for d in self._counters:
                self.streams[d.name].integrate(self._directional_w(d) * dt / 3600.0)
        self.last_time = t if self.last_time is None else max(t, self.last_time)
        for ch, name in self._power_of.items():
            p = values.get(name)
            if isinstance(p, int | float) and not isinstance(p, bool):
                self.powers[ch] = float(p)
        for d in self._counters:
            v = values.get(d.name)
            if not isinstance(v, int | float) or isinstance(v, bool):
                continue
            wh = float(v) * 1000.0
            stream = self.streams[d.name]
            if wh == (stream.last_counter if stream.pending_drop is None else stream.pending_drop):
                continue  # the same reading again: nothing new (keeps the jump bound honest)
            # Time since the counter last moved bounds how far it can have moved.
            since = t - self.last_counter_time.get(d.name, t)
            channels = 1 if d.channel else max(1, len(self._power_of))
            max_step = self.max_channel_w * channels * max(since, 1.0) / 3600.0
            ev = stream.counter(wh, max_step, restarted)
            self.last_counter_time[d.name] = t
            if ev not in (CounterEvent.STEP, CounterEvent.FIRST):
                self.counts[ev.name.lower()] = self.counts.get(ev.name.lower(), 0) + 1
                events.append(AccountEvent(t, d.name, ev, float(v), self.streams[d.name].total_wh / 1000.0))
        return events

    def _directional_w(self, d: DPSpec) -> float:
        sign = 1.0 if d.counter == "forward" else -1.0
        chans = [d.channel] if d.channel else list(self._power_of)
        return sum(max(0.0, sign * self.powers.get(ch, 0.0)) for ch in chans)

    def totals_kwh(self) -> dict[str, float]:
        return {name: round(s.total_wh / 1000.0, 6) for name, s in self.streams.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": {k: s.to_dict() for k, s in self.streams.items()},
            "last_time": self.last_time,
            "last_counter_time": dict(self.last_counter_time),
            "powers": dict(self.powers),
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, profile: Profile, d: Mapping[str, Any]) -> Accountant:
        acc = cls(profile, streams={k: CounterStream.from_dict(v) for k, v in d.get("streams", {}).items()})
        acc.last_time = d.get("last_time")
        acc.last_counter_time = dict(d.get("last_counter_time", {}))
        acc.powers = dict(d.get("powers", {}))
        acc.counts = dict(d.get("counts", {}))
        return acc
