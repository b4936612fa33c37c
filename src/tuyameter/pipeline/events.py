"""The events of the pipeline: source → gateway → outputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from tuyameter.profiles.model import Value


class SourceState(Enum):
    """Where a source's connection stands (explicit, as in aiomqtt / aioesphomeapi)."""

    CONNECTING = "connecting"  # opening the link / socket
    HANDSHAKING = "handshaking"  # link open, the device has not finished its handshake
    READY = "ready"  # readings flow, writes are accepted
    DOWN = "down"  # lost; the source retries by itself


@dataclass(frozen=True)
class Batch:
    """Readings that belong together (one report burst), in the source's own clock.

    ``time`` is seconds on the source's clock: the wall clock for a real device, a
    faster one for an emulator running accelerated. Energy is integrated in it.
    """

    time: float
    readings: tuple[tuple[str, Value], ...]
    #: the device restarted (power cut) since the previous batch: counters may have reset
    restarted: bool = False


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    detail: str
    info: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class MeterEvent:
    """Something in a meter's data worth marking on its graph: a counter reset, a glitch, a restart."""

    time: float  # wall-clock epoch seconds
    kind: str  # reset, lone_zero, implausible_jump, rebased, restart
    text: str


@dataclass(frozen=True)
class MeterUpdate:
    """A settled set of readings after one report burst."""

    meter: str
    time: dt.datetime
    values: dict[str, Value]
    changed: frozenset[str] = frozenset()
    private: dict[str, Value] = field(default_factory=dict)
    #: what happened to the meter's data with this update (see :class:`MeterEvent`)
    events: tuple[MeterEvent, ...] = ()


@dataclass(frozen=True)
class TrafficLine:
    """One frame or message of a source's link, decoded for people (the web page's "last frames")."""

    time: float  # wall-clock epoch seconds
    outgoing: bool
    command: str
    raw: str  # the frame's bytes in hex (TuyaMCU) or the decrypted payload (Tuya LAN)
    text: str
    readings: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class MeterStatus:
    meter: str
    time: dt.datetime
    online: bool
    detail: str
    info: dict[str, object] = field(default_factory=dict)
    state: SourceState = SourceState.DOWN
    #: the meter's diagnostics (link counters, data quality, store) when the status changed
    diagnostics: dict[str, object] = field(default_factory=dict)


class Output(Protocol):
    async def update(self, u: MeterUpdate) -> None: ...

    async def status(self, s: MeterStatus) -> None: ...
