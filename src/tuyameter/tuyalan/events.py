"""Events of a Tuya LAN client session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuyameter.tuyalan.codec import Message


@dataclass(frozen=True)
class Event:
    time: float


@dataclass(frozen=True)
class Ready(Event):
    """Keys agreed (3.4/3.5) and the first status answered: DPs flow, writes are taken."""

    version: str
    device22: bool = False


@dataclass(frozen=True)
class Dps(Event):
    """DP values from the device (a status push or a query answer), as JSON gives them."""

    dps: dict[str, Any]
    cmd: int


@dataclass(frozen=True)
class WriteResult(Event):
    write_id: int
    ok: bool
    echoed: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Failed(Event):
    """The connection is of no further use: close it (and retry later, unless ``kind`` says why not)."""

    reason: str
    kind: str  # "key": wrong local key or version; "timeout"; "protocol"; "refused"


@dataclass(frozen=True)
class Traffic(Event):
    """A message that went out or came in (for monitors)."""

    outgoing: bool
    message: Message


@dataclass(frozen=True)
class Undecodable(Event):
    """A frame that did not verify or open: counted, and dropped."""

    reason: str
