"""A meter's report cycles as whole bursts of readings (sans-IO, like the session it follows).

A PJ-1103A reports its DPs one frame each, a cycle every few seconds. The readings of one cycle
go out together, as soon as the frame of the cycle's last DP (the profile's ``report_ends_with``)
arrives; without that DP (another profile, a lost frame) the quiet time after the last report
(:data:`SETTLE`) ends the burst, and no burst is held longer than :data:`MAX_HOLD`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tuyameter.profiles.model import Value
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.tuyamcu.events import DPUpdate, Event

SETTLE = 0.15  # quiet time that ends a report burst
MAX_HOLD = 1.0  # longest a burst is held before it goes out anyway

Reading = tuple[str, Value]


class ReportBursts:
    """DP updates in, one call of ``emit`` per burst out (its readings in arrival order)."""

    def __init__(self, binding: DPBinding, end_dp: int | None, emit: Callable[[tuple[Reading, ...]], None]) -> None:
        self.binding = binding
        #: the DP a report cycle ends with (the burst goes out when it arrives), or -1: none
        self.end_dp = -1 if end_dp is None else end_dp
        self._emit = emit
        self._burst: list[Reading] = []
        self._open = False  # a burst has begun
        self._start = 0.0  # when it began
        #: when the last update came (the open burst's, if one is open), or None before the first
        self.last_update: float | None = None

    def take(self, events: Sequence[Event], i: int) -> int:
        """Add the DP updates from ``events[i]`` on, up to the first other event: its index (or the
        number of events). The caller handles that one, then takes on from the event after it."""
        n = len(events)
        while i < n:
            e = events[i]
            if type(e) is not DPUpdate:
                break
            self.add(e)
            i += 1
        return i

    def add(self, e: DPUpdate) -> None:
        """One update's records; a burst that its records complete goes out now."""
        records, end_dp = e.records, self.end_dp
        self.last_update = e.time
        while records:
            if not self._open:
                self._open, self._start = True, e.time
            cut = -1
            for i in range(len(records)):
                if records[i][0] == end_dp:  # (by index: a compiled build reads a tuple's item directly)
                    cut = i
                    break
            if cut < 0:
                self._burst += self.binding.readings(records)
                return
            # The cycle is complete with the frame of its last DP: out now, and what follows is
            # the next one (the frame's other records, if it has several, go with it).
            cut = cut + 1 if e.frames > 1 else len(records)
            self._burst += self.binding.readings(records[:cut])
            self.flush()
            records = records[cut:]

    def due(self, now: float) -> float | None:
        """When the burst held now goes out for want of its last DP (it goes out now if that time has
        come); None when none is held."""
        last = self.last_update
        if not self._open or last is None:  # (open: an update came, so it has a time)
            return None
        settle, hold = last + SETTLE, self._start + MAX_HOLD
        due = settle if settle < hold else hold
        if now < due:
            return due
        self.flush()
        return None

    def flush(self) -> None:
        """The burst held now goes out (a link lost, an MCU restarted)."""
        if not self._open:
            return
        self._open = False
        readings, self._burst = tuple(self._burst), []
        self._emit(readings)
