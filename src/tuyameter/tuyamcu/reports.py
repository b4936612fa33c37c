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
        """Gather one frame's records, received at ``now``."""
        self._received_at(now, events)
        self._records += records

    def records(self, payload: bytes) -> tuple[tuple[DPRecord, ...], str | None]:
        """A plain report's records (the same objects for a repeat) and what is wrong with it."""
        known = _MEMO.get(payload)
        return (known, None) if known is not None else _parse(payload)

    def take(self, items: list[Frame | Garbage], now: float, events: list[Event]) -> int:
        """Gather the one-record plain reports at the head of ``items`` (nearly always all of them);
        return how many were taken. The caller counts them, and must know that no request waits for
        a report (a query, a write's echo): nothing but gathering happens to them here."""
        self._received_at(now, events)
        memo, gathered, taken = _MEMO, self._records, 0
        for item in items:
            if type(item) is not Frame or item[0] != DP_REPORT:
                break
            records = memo.get(item[1])
            if records is None:
                records, error = _parse(item[1])
                if error is not None or len(records) != 1:
                    break  # malformed (counted on the full route), or a frame of several records
            gathered += records
            taken += 1
        return taken

    def _received_at(self, now: float, events: list[Event]) -> None:
        """Records come at ``now``: what was gathered at another time goes to ``events`` first."""
        if self._records and self._at != now:
            events.append(self.update())
        self._at = now


def _parse(payload: bytes) -> tuple[tuple[DPRecord, ...], str | None]:
    """A payload parsed, and remembered when it is one small well-formed record."""
    parsed, error = parse_records(payload)
    records = tuple(parsed)
    if error is None and len(records) == 1 and len(payload) <= MEMO_PAYLOAD:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[payload] = records
    return records, error
