"""What every source produces and every output consumes; no protocol types in here.

Sources (TuyaMCU link, Tuya LAN, HLW8112) turn their device's words into named,
typed readings (:class:`Batch`) and status changes (:class:`SourceStatus`); the
gateway turns those into :class:`MeterUpdate` / :class:`MeterStatus` for outputs.
"""

from tuyameter.pipeline.events import (
    Batch,
    MeterStatus,
    MeterUpdate,
    Output,
    SourceState,
    SourceStatus,
)
from tuyameter.pipeline.writes import WriteOutcome, WriteRefused, validate_write

__all__ = [
    "Batch",
    "MeterStatus",
    "MeterUpdate",
    "Output",
    "SourceState",
    "SourceStatus",
    "WriteOutcome",
    "WriteRefused",
    "validate_write",
]
