"""What every source shares: an explicit state, a bounded queue of batches and statuses, one driver task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tuyameter.pipeline.events import Batch, SourceState, SourceStatus, TrafficLine
from tuyameter.sources.traffic import Tap

QUEUE = 256  # batches held for a slow consumer (oldest dropped beyond)


@dataclass(frozen=True)
class _Crash:
    error: Exception


class RunningSource:
    """Subclasses implement :meth:`_run` (connect, read, reconnect) and call :meth:`_emit` / :meth:`_set_state`."""

    description: str
    #: the ring of the link's last frames while someone looks (sources/traffic.py), if the source keeps one
    _tap: Tap | None = None

    def __init__(self, clock: Callable[[], float]) -> None:
        self._state = SourceState.CONNECTING
        self.detail = "not started"
        self._ready = asyncio.Event()
        self._out: asyncio.Queue[Batch | SourceStatus | _Crash] = asyncio.Queue(QUEUE + 1)
        self._task: asyncio.Task[None] | None = None
        self._clock = clock
        self.batches_dropped = 0

    @property
    def state(self) -> SourceState:
        return self._state

    def clock(self) -> float:
        return self._clock()

    def _look(self) -> list[Any]:
        """What the tap holds (oldest first), opening it or keeping it open (sources/traffic.py)."""
        return self._tap.ask() if self._tap is not None else []

    def recent_traffic(self) -> list[TrafficLine]:
        """The link's last frames (both ways, oldest first), decoded for people; none unless a source keeps them."""
        return []

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._guarded(), name=self.description)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._tap is not None:
            self._tap.close()

    async def readings(self) -> AsyncIterator[Batch | SourceStatus]:
        while True:
            item = await self._out.get()  # one await per item: no task per reading
            if isinstance(item, _Crash):
                raise item.error  # a crash of the driver surfaces here
            yield item

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        raise NotImplementedError

    async def _guarded(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._out.put_nowait(_Crash(e))  # the one place kept free for it

    def _emit(self, item: Batch | SourceStatus) -> None:
        if self._out.qsize() >= QUEUE:
            self._out.get_nowait()
            self.batches_dropped += 1
        self._out.put_nowait(item)

    def _set_state(self, state: SourceState, detail: str, info: dict[str, object] | None = None) -> None:
        self._state, self.detail = state, detail
        if state is SourceState.READY:
            self._ready.set()
        else:
            self._ready.clear()
        self._emit(SourceStatus(state, detail, info or {}))
