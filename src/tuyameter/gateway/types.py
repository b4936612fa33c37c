"""What flows through the pipeline, from a meter source to the outputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from tuyameter.profiles.model import Value


@dataclass(frozen=True)
class MeterUpdate:
    """A settled set of readings after one report burst."""

    meter: str
    time: dt.datetime
    values: dict[str, Value]
    changed: frozenset[str] = frozenset()
    private: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class MeterStatus:
    meter: str
    time: dt.datetime
    online: bool
    detail: str
    info: dict[str, object] = field(default_factory=dict)


class Output(Protocol):
    async def update(self, u: MeterUpdate) -> None: ...

    async def status(self, s: MeterStatus) -> None: ...
