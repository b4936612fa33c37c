"""Per-meter energy accountant: one :class:`CounterStream` per counter DP of the profile.

Sans-IO: call :meth:`Accountant.update` with the source's time (seconds), the meter's
current values (as the meter model produces them: signed power in W, counters in
kWh) and the names just read. Each counter is paired with the signed power of its
channel — its positive part for a ``forward`` counter, its negative part for
``reverse`` — and a counter without a channel (the meter's totals) with the sum over
all channels.

A power beyond the channel's maximum (the profile's power range) is never integrated.
A source clock that goes back (a new emulator, a restarted process's clock) starts a
new time base: nothing is integrated across it, and the first counter step after it
is not bounded by a time that is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuyameter.energy.stream import CounterEvent, CounterStream
from tuyameter.profiles.model import DPSpec, Profile, Value

MAX_CHANNEL_W = 30_000.0  # 120 A at 250 V; a profile's power range overrides it
MAX_GAP_S = 120.0  # integrate power over at most this long without a new reading
CLOCK_BACK_S = 1.0  # the source's clock went back more than this: a new time base


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
    max_channel_w: float | None = None  # None: from the profile's power ranges
    streams: dict[str, CounterStream] = field(default_factory=dict)
    last_time: float | None = None
    last_counter_time: dict[str, float] = field(default_factory=dict)
    powers: dict[str, float] = field(default_factory=dict)  # channel → signed W at last update
    restarted_pending: set[str] = field(default_factory=set)  # counters not read since an MCU restart
    counts: dict[str, int] = field(default_factory=dict)  # event name → how often

    def __post_init__(self) -> None:
        self._counters: list[DPSpec] = [d for d in self.profile.quantities if d.counter]
        self._power_of: dict[str, str] = {}
        highs = []
        for d in self.profile.quantities:
            if d.channel and d.is_power:
                self._power_of[d.channel] = d.name
                if d.range is not None:
                    highs.append(max(abs(d.range[0]), abs(d.range[1])))
        if self.max_channel_w is None:
            self.max_channel_w = max(highs) if highs else MAX_CHANNEL_W
        for d in self._counters:
            self.streams.setdefault(d.name, CounterStream())
        #: counter → (sign of its direction, the channels whose power it integrates), worked out once
        self._flow = {
            d.name: (1.0 if d.counter == "forward" else -1.0, (d.channel,) if d.channel else tuple(self._power_of))
            for d in self._counters
        }

    def update(
        self, t: float, values: Mapping[str, Value], restarted: bool = False, fresh: Collection[str] | None = None
    ) -> list[AccountEvent]:
        """``values``: the meter's current values; ``fresh``: the names read just now (default: all of
        ``values``) — a counter is taken as a new reading only then, never from a value that merely
        persists. ``restarted``: the MCU restarted (power cut) since the previous update; it holds for
        each counter until that counter's next reading, which may come in a later update."""
        events: list[AccountEvent] = []
        if restarted:
            self.restarted_pending.update(d.name for d in self._counters)
        if self.last_time is not None and t < self.last_time - CLOCK_BACK_S:
            self.new_time_base(t)
        if self.last_time is not None and t > self.last_time:
            dt = min(t - self.last_time, MAX_GAP_S)
            for d in self._counters:
                self.streams[d.name].integrate(self._directional_w(d) * dt / 3600.0)
        self.last_time = t if self.last_time is None else max(t, self.last_time)
        assert self.max_channel_w is not None
        for ch, name in self._power_of.items():
            p = values.get(name)
            if isinstance(p, int | float) and not isinstance(p, bool):
                if abs(p) <= self.max_channel_w:
                    self.powers[ch] = float(p)
                else:
                    self.powers.pop(ch, None)  # phantom power: integrate nothing rather than that
        for d in self._counters:
            v = values.get(d.name)
            if not isinstance(v, int | float) or isinstance(v, bool) or (fresh is not None and d.name not in fresh):
                continue
            wh = float(v) * 1000.0
            stream = self.streams[d.name]
            restarted_here = d.name in self.restarted_pending
            # Time since the counter last moved bounds how far it can have moved (if it is known).
            channels = 1 if d.channel else max(1, len(self._power_of))
            last = self.last_counter_time.get(d.name)
            max_step = math.inf if last is None else self.max_channel_w * channels * max(t - last, 1.0) / 3600.0
            ev = stream.counter(wh, max_step, restarted_here)
            self.restarted_pending.discard(d.name)
            if ev not in (CounterEvent.SUSPECT_DROP, CounterEvent.IMPLAUSIBLE_JUMP):
                self.last_counter_time[d.name] = t  # the bound runs from the last reading taken
            if ev not in (CounterEvent.STEP, CounterEvent.FIRST):
                self.counts[ev.name.lower()] = self.counts.get(ev.name.lower(), 0) + 1
                events.append(AccountEvent(t, d.name, ev, float(v), self.streams[d.name].total_wh / 1000.0))
        return events

    def new_session(self) -> None:
        """The source starts a new session: powers seen before it are not integrated across the gap."""
        self.powers.clear()

    def new_time_base(self, t: float) -> None:
        """The source's clock was replaced: times before ``t`` say nothing about times after it."""
        self.counts["clock_jump"] = self.counts.get("clock_jump", 0) + 1
        self.last_time = t
        self.last_counter_time.clear()
        self.powers.clear()

    def _directional_w(self, d: DPSpec) -> float:
        sign, chans = self._flow[d.name]
        powers = self.powers
        w = 0.0
        for ch in chans:
            p = sign * powers.get(ch, 0.0)
            if p > 0.0:
                w += p
        return w

    def totals_kwh(self) -> dict[str, float]:
        return {name: round(s.total_wh / 1000.0, 6) for name, s in self.streams.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": {k: s.to_dict() for k, s in self.streams.items()},
            "last_time": self.last_time,
            "last_counter_time": dict(self.last_counter_time),
            "powers": dict(self.powers),
            "restarted_pending": sorted(self.restarted_pending),
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, profile: Profile, d: Mapping[str, Any]) -> Accountant:
        acc = cls(profile, streams={k: CounterStream.from_dict(v) for k, v in d.get("streams", {}).items()})
        acc.last_time = d.get("last_time")
        acc.last_counter_time = dict(d.get("last_counter_time", {}))
        acc.powers = dict(d.get("powers", {}))
        acc.restarted_pending = set(d.get("restarted_pending", ()))
        acc.counts = dict(d.get("counts", {}))
        return acc
