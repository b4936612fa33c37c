"""What the web page needs of the gateway: :class:`WebBackend`. A gateway in this process serves
it through :class:`LocalBackend`; a fleet shared out between worker processes through the
supervisor's ``FleetBackend`` (``gateway/fleet_backend.py``), whose diagnostics and last frames
come from another process, hence awaited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol, TypeVar

from tuyameter.pipeline.events import MeterStatus, MeterUpdate, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome
from tuyameter.profiles.model import Profile, Value
from tuyameter.store.base import Store

T = TypeVar("T")


class _Meters(Protocol):
    """What every backend has at hand: the meters, their profiles and latest state, writes, history."""

    zone: dt.tzinfo

    @property
    def meter_ids(self) -> list[str]: ...

    def profile(self, meter: str) -> Profile: ...

    def latest(self, meter: str) -> MeterUpdate | None: ...

    def status(self, meter: str) -> MeterStatus | None: ...

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome: ...

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T: ...


class WebBackend(_Meters, Protocol):
    async def diagnostics(self, meter: str) -> dict[str, object]: ...

    async def traffic(self, meter: str) -> list[TrafficLine]: ...


class Gateway(_Meters, Protocol):
    """What a gateway in this process has (its ``GatewayApi``): diagnostics and frames at hand."""

    def diagnostics(self, meter: str) -> dict[str, object]: ...

    def traffic(self, meter: str) -> list[TrafficLine]: ...


class LocalBackend:
    """A gateway of this process as the page's backend."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.zone = gateway.zone

    @property
    def meter_ids(self) -> list[str]:
        return self.gateway.meter_ids

    def profile(self, meter: str) -> Profile:
        return self.gateway.profile(meter)

    def latest(self, meter: str) -> MeterUpdate | None:
        return self.gateway.latest(meter)

    def status(self, meter: str) -> MeterStatus | None:
        return self.gateway.status(meter)

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        return await self.gateway.write(meter, name, value, timeout)

    async def diagnostics(self, meter: str) -> dict[str, object]:
        return self.gateway.diagnostics(meter)

    async def traffic(self, meter: str) -> list[TrafficLine]:
        return self.gateway.traffic(meter)

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T:
        return await self.gateway.read_store(fn, timeout)
