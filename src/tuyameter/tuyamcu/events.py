"""Events a module-side :class:`~tuyameter.tuyamcu.session.Session` emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from tuyameter.tuyamcu.decoder import Garbage
from tuyameter.tuyamcu.dp import DPRecord, DPValue
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import Direction, Message


class Event:
    """The base of the session's events; each has ``time``, when it happened (the session's clock),
    as its first field. (Not declared here: a compiled build would hand it to the dataclasses below
    as a default value.)"""

    __slots__ = ()


@dataclass(frozen=True)
class LinkUp(Event):
    """Handshake finished; the MCU is talking."""

    time: float
    product_info: str | None
    product_id: str | None
    protocol_version: int
    working_mode: bytes | None


@dataclass(frozen=True)
class LinkDown(Event):
    time: float
    reason: str


@dataclass(frozen=True)
class McuRestarted(Event):
    time: float


class DPUpdate(Event):
    """DP records from the MCU. ``frames`` > 1: consecutive plain reports (0x07) of one record
    each, received together and given as one update (the session coalesces them); so a record
    is a frame of its own exactly when ``frames`` > 1 or there is one record.

    Immutable like the other events, but a plain class: the session makes one for nearly every
    chunk received, and a frozen dataclass's constructor cost a fifth of the whole path."""

    __slots__ = ("command", "error", "frames", "records", "time")

    def __init__(
        self, time: float, records: tuple[DPRecord, ...], command: int, error: str | None = None, frames: int = 1
    ) -> None:
        self.time = time
        self.records: Final = records
        self.command: Final = command
        self.error: Final = error
        self.frames: Final = frames

    def _fields(self) -> tuple[float, tuple[DPRecord, ...], int, str | None, int]:
        return (self.time, self.records, self.command, self.error, self.frames)

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if type(other) is DPUpdate else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        t, records, command, error, frames = self._fields()
        return f"DPUpdate(time={t!r}, records={records!r}, command={command!r}, error={error!r}, frames={frames!r})"


@dataclass(frozen=True)
class WriteResult(Event):
    time: float
    write_id: int
    records: tuple[DPRecord, ...]
    ok: bool
    attempts: int
    echoed: dict[int, DPValue] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Traffic(Event):
    """A frame that went in or out (for monitors)."""

    time: float
    direction: Direction
    frame: Frame
    message: Message


@dataclass(frozen=True)
class SkippedBytes(Event):
    time: float
    garbage: Garbage
