"""What happened to a meter's data, as events for its graph: counter resets, glitches, restarts.

The accountant says what each counter reading was (energy/stream.py); the MCU says when it
restarted. Each becomes a :class:`MeterEvent` that goes out with the update and into the store.
A meter that misbehaves at every report must not fill the store with them: of each kind at
most one per :data:`EVERY` seconds is kept, and the next one kept says how many it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable

from tuyameter.energy.accountant import AccountEvent
from tuyameter.energy.stream import CounterEvent
from tuyameter.pipeline.events import MeterEvent

EVERY = 60.0

#: the accountant's events a graph shows (a suspected drop waits for its outcome: a reset or a glitch)
_SHOWN = {
    CounterEvent.RESET: "reset",
    CounterEvent.LONE_ZERO: "glitch",
    CounterEvent.IMPLAUSIBLE_JUMP: "jump",
    CounterEvent.REBASED: "rebased",
}


class MeterEvents:
    """Turns one meter's accountant events and restarts into :class:`MeterEvent` (throttled per kind)."""

    def __init__(self, every: float = EVERY) -> None:
        self.every = every
        self._last: dict[str, float] = {}  # kind → when one was last kept
        self._held: dict[str, int] = {}  # kind → how many were not kept since
        self.kept = 0
        self.dropped = 0

    def collect(self, wall: float, restarted: bool, account: Iterable[AccountEvent]) -> tuple[MeterEvent, ...]:
        out: list[MeterEvent] = []
        if restarted:
            self._add(out, wall, "restart", "the meter restarted (a power cut?)")
        for e in account:
            kind = _SHOWN.get(e.event)
            if kind is not None:
                text = (f"{e.name}: {e.event.value}; meter counter {e.counter_kwh:.3f} kWh, "
                        f"total kept at {e.total_kwh:.3f} kWh")  # fmt: skip
                self._add(out, wall, kind, text)
        return tuple(out)

    def _add(self, out: list[MeterEvent], wall: float, kind: str, text: str) -> None:
        last = self._last.get(kind)
        if last is not None and 0 <= wall - last < self.every:
            self._held[kind] = self._held.get(kind, 0) + 1
            self.dropped += 1
            return
        held = self._held.pop(kind, 0)
        if held:
            text += f" (and {held} more like it in the {wall - last:.0f} s before)" if last is not None else ""
        self._last[kind] = wall
        self.kept += 1
        out.append(MeterEvent(wall, kind, text))
