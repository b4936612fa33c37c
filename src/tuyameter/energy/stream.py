"""One monotonic energy total built from a meter counter and refined by integrated power.

Sans-IO and clock-free: the caller feeds counter readings (Wh) and integrated
energy (Wh); the stream keeps a total that

- follows the meter's counter step for step, so it agrees with the meter over time;
- between two counter steps (10 Wh apart on a PJ-1103A) adds the energy integrated
  from power readings, at most up to the next step, giving Wh resolution;
- never decreases, whatever the counter does;
- treats a counter that drops as a suspected power cut: one lone low reading that is
  followed by the old level again is a glitch (ignored); a second low reading
  confirms that it restarted from zero, and what it counted since then is added;
- ignores (and reports) a step larger than the power could have produced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


@dataclass
class CounterStream:
    base_wh: float = 0.0  # total at the last accepted counter reading
    last_counter: float | None = None  # meter counter at that reading, Wh
    integrated_wh: float = 0.0  # integrated since then
    shown_wh: float = 0.0  # the published total: never decreases
    pending_drop: float | None = None
    resolution_wh: float = RESOLUTION_WH

    @property
    def total_wh(self) -> float:
        return self.shown_wh

    def integrate(self, wh: float) -> None:
        if wh > 0:
            self.integrated_wh += wh
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
            if self.pending_drop is None and counter_wh <= _EPS and not restarted:
                # A zero out of the blue may be a glitch: wait for the next reading.
                self.pending_drop = counter_wh
                return CounterEvent.SUSPECT_DROP
            # A restart, a second low reading, or a drop to a non-zero value: the counter
            # really restarted, from zero, so everything it counted since then is new energy.
            # What power integration saw since the last step before the cut is energy the
            # meter's counter lost with its fraction of a step: keep it.
            self.pending_drop = None
            self.base_wh += min(self.integrated_wh, self.resolution_wh - _EPS)
            self.integrated_wh = 0.0
            self.last_counter = 0.0
            self._accept(counter_wh, max_step_wh)
            return CounterEvent.RESET
        if self.pending_drop is not None:
            self.pending_drop = None
            event = self._accept(counter_wh, max_step_wh)
            return CounterEvent.LONE_ZERO if event is CounterEvent.STEP else event
        return self._accept(counter_wh, max_step_wh)

    def _accept(self, counter_wh: float, max_step_wh: float) -> CounterEvent:
        assert self.last_counter is not None
        step = counter_wh - self.last_counter
        self.last_counter = counter_wh
        if step <= _EPS:
            self._refresh()
            return CounterEvent.STEP
        if step > max_step_wh + self.resolution_wh:
            self._refresh()
            return CounterEvent.IMPLAUSIBLE_JUMP
        self.base_wh += step
        # What the integration counted beyond this step carries over, within one resolution.
        self.integrated_wh = min(max(0.0, self.integrated_wh - step), self.resolution_wh - _EPS)
        self._refresh()
        return CounterEvent.STEP

    def _refresh(self) -> None:
        candidate = self.base_wh + min(self.integrated_wh, self.resolution_wh - _EPS)
        self.shown_wh = max(self.shown_wh, candidate)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CounterStream:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
