"""Events a module-side :class:`~tuyameter.tuyamcu.session.Session` emits."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.tuyamcu.decoder import Garbage
from tuyameter.tuyamcu.dp import DPRecord, DPValue
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import Direction, Message


@dataclass(frozen=True)
class Event:
    time: float


@dataclass(frozen=True)
class LinkUp(Event):
    """Handshake finished; the MCU is talking."""

    product_info: str | None
    product_id: str | None
    protocol_version: int
    working_mode: bytes | None


@dataclass(frozen=True)
class LinkDown(Event):
    reason: str


@dataclass(frozen=True)
class McuRestarted(Event):
    pass


@dataclass(frozen=True)
class DPUpdate(Event):
    """DP records from the MCU. ``frames`` > 1: consecutive plain reports (0x07) of one record
    each, received together and given as one update (the session coalesces them); so a record
    is a frame of its own exactly when ``frames`` > 1 or there is one record."""

    records: tuple[DPRecord, ...]
    command: int
    error: str | None = None
    frames: int = 1


@dataclass(frozen=True)
class WriteResult(Event):
    write_id: int
    records: tuple[DPRecord, ...]
    ok: bool
    attempts: int
    echoed: dict[int, DPValue] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Traffic(Event):
    """A frame that went in or out (for monitors)."""

    direction: Direction
    frame: Frame
    message: Message


@dataclass(frozen=True)
class SkippedBytes(Event):
    garbage: Garbage
