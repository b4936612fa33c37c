"""Plain reports (0x07) as the session takes them: most frames of a meter, and most of those
repeated byte for byte from one report cycle to the next.

:class:`ReportGatherer` gives the reports received together as one :class:`DPUpdate` (records in
arrival order, ``frames`` telling how many frames they came from); the records of a one-record
payload seen before (by this meter or another of the process) are the same immutable records
again, not parsed anew. Sans-IO, like the session that owns it."""

from __future__ import annotations

from collections.abc import Sequence

from tuyameter.tuyamcu.decoder import Garbage
from tuyameter.tuyamcu.dp import DPRecord, parse_records
from tuyameter.tuyamcu.events import DPUpdate, Event
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import DP_REPORT

#: payloads of one small record (a value, an enum, a switch: 5–8 bytes) → their records, for every
#: session of the process; bounded: when full it starts again (see the decoder's own, which hands
#: a repeated frame's payload as the same bytes object, so its hash is known)
MEMO_PAYLOAD = 16
_MEMO: dict[bytes, tuple[DPRecord, ...]] = {}
_MEMO_MAX = 4096


class ReportGatherer:
    def __init__(self) -> None:
        self._records: list[DPRecord] = []
        self._at = 0.0

    @property
    def pending(self) -> bool:
        return bool(self._records)

    def update(self) -> DPUpdate:
        """The records gathered so far as one update; gathering starts again."""
        records, self._records = tuple(self._records), []
        return DPUpdate(self._at, records, DP_REPORT, None, len(records))

    def add(self, records: Sequence[DPRecord], now: float, events: list[Event]) -> None:
        """Gather one frame's records (received at ``now``; what was gathered at another time goes
        to ``events`` first)."""
        if self._records and self._at != now:
            events.append(self.update())
        self._at = now
        self._records += records

    def records(self, payload: bytes) -> tuple[DPRecord, ...] | None:
        """A plain report's records, the same objects for a repeat; None when malformed."""
        known = _MEMO.get(payload)
        if known is not None:
            return known
        parsed, error = parse_records(payload)
        if error is not None:
            return None
        records = tuple(parsed)
        if len(records) == 1 and len(payload) <= MEMO_PAYLOAD:
            if len(_MEMO) >= _MEMO_MAX:
                _MEMO.clear()
            _MEMO[payload] = records
        return records

    def take(self, items: list[Frame | Garbage], now: float, events: list[Event]) -> int:
        """Gather the one-record plain reports at the head of ``items`` (nearly always all of them);
        return how many were taken. The caller counts them, and must know that no request waits for
        a report (a query, a write's echo): nothing but gathering happens to them here."""
        memo, taken = _MEMO, 0
        for item in items:
            if type(item) is not Frame or item[0] != DP_REPORT:
                break
            records = memo.get(item[1])
            if records is None:
                got = self.records(item[1])
                if got is None or len(got) != 1:
                    break  # malformed (counted on the full route), or a frame of several records
                records = got
            if not taken and self._records and self._at != now:
                events.append(self.update())
            self._records += records
            taken += 1
        if taken:
            self._at = now
        return taken
