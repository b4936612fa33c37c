"""How the MQTT publisher paces itself: QoS 1 publishes in flight, and periodic work spread out.

A fleet's periodic documents (diagnostics every few seconds, a full state refresh every
minute) must not go out as one flood: a thousand publishes at once hold every fresh reading
behind them for the flood's length. :class:`Rotation` hands out each meter once per interval,
a slice at a time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Sequence
from typing import Any

#: the shortest time between two slices of a rotation
SLICE = 0.5


class Window:
    """QoS 1 publishes in flight, each in a task: at most ``size`` at once (``send`` waits for a
    place); the first failure is kept and raised by ``check``."""

    def __init__(self, size: int, wake: asyncio.Event) -> None:
        self._places = asyncio.Semaphore(size)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = wake
        self.error: BaseException | None = None

    async def send(self, publish: Coroutine[Any, Any, None]) -> None:
        await self._places.acquire()
        task = asyncio.ensure_future(publish)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._places.release()
        if not task.cancelled() and (e := task.exception()) is not None and self.error is None:
            self.error = e
            self._wake.set()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def cancel(self) -> None:
        for t in list(self._tasks):
            t.cancel()


class Rotation:
    """Each of ``items`` once per ``interval``, evenly spread from ``start``, handed out in slices at
    least :data:`SLICE` apart. After a stall each item comes once, not once per missed round."""

    def __init__(self, items: Sequence[str], interval: float, start: float) -> None:
        if interval <= 0:
            raise ValueError("a rotation needs a positive interval")
        self.items, self.interval, self.start = list(items), interval, start
        self._handed = 0  # items handed out since start, counting every round
        self._last = start

    def due(self, now: float) -> list[str]:
        n = len(self.items)
        if n == 0 or now < self.next_time():
            return []
        behind = int((now - self.start) / self.interval * n) - self._handed
        count = max(0, min(behind, n))
        first = self._handed % n
        # whole rounds missed in a stall are dropped, the rest is owed: the turns stay in order
        self._handed += count + (behind - count) // n * n
        self._last = now
        return [self.items[(first + k) % n] for k in range(count)]

    def next_time(self) -> float:
        n = len(self.items)
        if n == 0:
            return math.inf
        return max(self.start + (self._handed + 1) * self.interval / n, self._last + SLICE)
