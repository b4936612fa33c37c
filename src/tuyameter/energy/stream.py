"""One monotonic energy total built from a meter counter and refined by integrated power.

Sans-IO and clock-free: the caller feeds counter readings (Wh) and integrated
energy (Wh); the stream keeps a total that

- follows the meter's counter step for step, so it agrees with the meter over time;
- between two counter steps (10 Wh apart on a PJ-1103A) adds the energy integrated
  from power readings, at most up to the next step, giving Wh resolution;
- never decreases, whatever the counter does;
- treats a counter that drops as a suspected power cut: a second low reading confirms
  that it restarted from zero, and what it counted since then is added. A low reading
  followed by the old level again is a glitch (ignored) — unless the climb back is what
  the power flowing since could have counted: then the counter restarted and climbed
  back (a power cut while the gateway was away), and the climb is new energy;
- ignores (and reports) a step larger than the power could have produced, without
  moving its idea of the counter: the next real reading is an ordinary step, not a
  drop. A counter whose next reading goes on from the new level (a plausible step from
  it) is followed from there (rebased), and the jump is never counted as energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

RESOLUTION_WH = 10.0
_EPS = 1e-6


class CounterEvent(Enum):
    FIRST = "first reading"
    STEP = "step"
    SUSPECT_DROP = "counter dropped (waiting for confirmation)"
    LONE_ZERO = "lone low reading ignored"
    RESET = "counter reset (power cut?)"
    IMPLAUSIBLE_JUMP = "implausible jump ignored"
    REBASED = "counter moved to a new level (followed from there, the jump not counted)"


@dataclass
class CounterStream:
    base_wh: float = 0.0  # total at the last accepted counter reading
    last_counter: float | None = None  # meter counter at that reading, Wh
    integrated_wh: float = 0.0  # integrated since then
    shown_wh: float = 0.0  # the published total: never decreases
    pending_drop: float | None = None
    since_drop_wh: float = 0.0  # integrated since the pending drop
    pending_jump: float | None = None  # a reading too far ahead, not (yet) followed
    resolution_wh: float = RESOLUTION_WH

    @property
    def total_wh(self) -> float:
        return self.shown_wh

    def integrate(self, wh: float) -> None:
        if wh > 0:
            self.integrated_wh += wh
            if self.pending_drop is not None:
                self.since_drop_wh += wh
        self._refresh()

    def counter(self, counter_wh: float, max_step_wh: float, restarted: bool = False) -> CounterEvent:
        """A counter reading; ``max_step_wh`` is the most energy that can have flowed since the last one.

        ``restarted``: the MCU restarted since the last reading, so a lower counter is a reset.
        """
        if self.last_counter is None:
            self.last_counter = counter_wh
            if self.base_wh == 0 and self.shown_wh == 0:
                self.base_wh = counter_wh  # a new stream starts at the meter's lifetime counter
            self._refresh()
            return CounterEvent.FIRST
        if counter_wh < self.last_counter - _EPS:
            self.pending_jump = None
            if self.pending_drop is None and not restarted:
                # A drop out of the blue may be a glitch: wait for the next reading.
                self.pending_drop, self.since_drop_wh = counter_wh, 0.0
                return CounterEvent.SUSPECT_DROP
            return self._reset(counter_wh, max_step_wh)
        if restarted:
            # Not lower, but the MCU restarted: a counter that restarted from zero and climbed back
            # moved much less than the energy that flowed, and holds no more than that energy.
            moved = counter_wh - self.last_counter
            if moved < self.integrated_wh - self.resolution_wh and counter_wh < self.integrated_wh + self.resolution_wh:
                return self._reset(counter_wh, max_step_wh)
        if self.pending_drop is not None:
            climb = counter_wh - self.pending_drop
            if climb < self.since_drop_wh + self.resolution_wh:
                return self._reset(counter_wh, max_step_wh)  # restarted and climbed back
            self.pending_drop = None
            event = self._accept(counter_wh, max_step_wh)
            return CounterEvent.LONE_ZERO if event is CounterEvent.STEP else event
        return self._accept(counter_wh, max_step_wh)

    def _reset(self, counter_wh: float, max_step_wh: float) -> CounterEvent:
        """The counter restarted from zero (a restart, a confirmed drop, a climb back): everything
        it counted since is new energy. What power integration saw between the last step and the
        cut (beyond what the new counter holds) is energy the meter's counter lost with its
        fraction of a step: keep it, up to one resolution. What is left beyond that is the new
        counter's own fraction of a step, carried like any other."""
        # After the cut: what the new counter holds, or (a drop seen earlier) what it held then
        # and what flowed since.
        new = counter_wh if self.pending_drop is None else self.pending_drop + self.since_drop_wh
        after_cut = min(self.integrated_wh, new)
        carry = self.integrated_wh - after_cut
        self.pending_drop, self.since_drop_wh = None, 0.0
        lost = min(carry, self.resolution_wh - _EPS)
        self.base_wh += lost
        self.integrated_wh = after_cut + min(carry - lost, self.resolution_wh - _EPS)
        self.last_counter = 0.0
        event = self._accept(counter_wh, max_step_wh)
        return CounterEvent.RESET if event is CounterEvent.STEP else event

    def _accept(self, counter_wh: float, max_step_wh: float) -> CounterEvent:
        assert self.last_counter is not None
        step = counter_wh - self.last_counter
        if step <= _EPS:
            self.pending_jump = None
            self._refresh()
            return CounterEvent.STEP
        if step > max_step_wh + self.resolution_wh:
            jumped, self.pending_jump = self.pending_jump, counter_wh
            if jumped is None or not jumped - _EPS <= counter_wh <= jumped + max_step_wh + self.resolution_wh:
                self._refresh()
                return CounterEvent.IMPLAUSIBLE_JUMP  # the counter stays where it was
            # Two readings that agree with each other at the new level (not two random spikes):
            # the counter really is there now.
            self.pending_jump = None
            self.last_counter = counter_wh
            self.integrated_wh = 0.0
            self._refresh()
            return CounterEvent.REBASED
        self.pending_jump = None
        self.last_counter = counter_wh
        self.base_wh += step
        # What the integration counted beyond this step carries over, within one resolution.
        self.integrated_wh = min(max(0.0, self.integrated_wh - step), self.resolution_wh - _EPS)
        self._refresh()
        return CounterEvent.STEP

    def _refresh(self) -> None:
        candidate = self.base_wh + min(self.integrated_wh, self.resolution_wh - _EPS)
        self.shown_wh = max(self.shown_wh, candidate)

    def to_dict(self) -> dict[str, Any]:
        # every field is a number or None: a flat copy (dataclasses.asdict deep-copies, ~40 µs a call,
        # six calls per update)
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CounterStream:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
