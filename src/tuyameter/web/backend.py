"""What the web page needs of the gateway (the gateway's ``GatewayApi`` has all of it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol, TypeVar

from tuyameter.pipeline.events import MeterStatus, MeterUpdate, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome
from tuyameter.profiles.model import Profile, Value
from tuyameter.store.base import Store

T = TypeVar("T")


class WebBackend(Protocol):
    zone: dt.tzinfo

    @property
    def meter_ids(self) -> list[str]: ...

    def profile(self, meter: str) -> Profile: ...

    def latest(self, meter: str) -> MeterUpdate | None: ...

    def status(self, meter: str) -> MeterStatus | None: ...

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome: ...

    def diagnostics(self, meter: str) -> dict[str, object]: ...

    def traffic(self, meter: str) -> list[TrafficLine]: ...

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T: ...
