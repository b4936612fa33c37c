"""Run a sans-IO TuyaMCU session over an asyncio link: the one driving loop.

The gateway runner, the probe and the monitor all use it; each supplies a
handler that receives the session's events and may name an extra deadline of
its own (a burst to flush, the end of a probe).

Bytes are taken with their time of arrival where the link knows it, and everything
that has already arrived is taken before deadlines are looked at: a process starved
for a moment (a slow disk, a busy core) must not end a report burst early and split it
in two just because the loop read its second half late.

On a link that says when bytes arrive, a handler that can run synchronously (``handle_now``)
gets the fast lane: while the pump is parked with nothing to send, arrivals are taken, the
session ticked and the handler called right in the link's callback, and the pump's task is
woken only when there is something to write, an error, or a deadline. A meter's report burst
arrives in one chunk per frame; without the lane each chunk cost a task wake-up, a future and
a timer, about half of the gateway's time at thousands of meters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tuyameter.transport.links import Link
from tuyameter.tuyamcu.events import Event
from tuyameter.tuyamcu.session import Session

#: Called with the new events and the loop time; returns an extra deadline (loop time) or None.
Handler = Callable[[list[Event], float], Awaitable[float | None]]
#: The same, when it can run synchronously (it must not block).
SyncHandler = Callable[[list[Event], float], float | None]


class SessionPump:
    def __init__(self, link: Link, session: Session, on_bytes: Callable[[bytes], None] | None = None) -> None:
        self.link, self.session, self.on_bytes = link, session, on_bytes
        self._wake: asyncio.Event | None = None  # the reading loop's (the notified loop needs none)
        self._stopped = False
        self._signal: asyncio.Future[None] | None = None  # the notified loop's one wait
        self._timer: asyncio.TimerHandle | None = None  # its deadline, while parked
        self._due = 0.0  # the deadline the last turn (the task's or a fast one) worked out
        self._handle_now: SyncHandler | None = None
        self._error: Exception | None = None  # raised in the fast lane, re-raised by the task
        #: turns of the pump's task, and arrivals handled in the fast lane without one
        self.turns = self.fast_turns = 0

    def wake(self) -> None:
        """Something was queued on the session (a write): look at it now."""
        if self._wake is not None:
            self._wake.set()
        self._poke()

    def stop(self) -> None:
        self._stopped = True
        if self._wake is not None:
            self._wake.set()
        self._poke()

    async def run(self, handle: Handler, handle_now: SyncHandler | None = None) -> None:
        """Until :meth:`stop`; a broken link raises :class:`~tuyameter.transport.links.LinkError`.
        ``handle_now``, the same handler callable synchronously, enables the fast lane."""
        if hasattr(self.link, "set_notify") and hasattr(self.link, "received"):
            self._handle_now = handle_now if hasattr(self.link, "received_now") else None
            await self._run_notified(handle)
        else:
            await self._run_reading(handle)

    async def _run_notified(self, handle: Handler) -> None:
        """For links that say when bytes arrive: one future per turn, set by the link, a write or the
        deadline's timer; no task per read. Everything that has arrived is taken at the top of a turn,
        before any deadline is looked at."""
        loop = asyncio.get_running_loop()
        link: Any = self.link
        link.set_notify(self._poke if self._handle_now is None else self._arrived)
        try:
            while not self._stopped:
                self.turns += 1
                signal = self._signal = loop.create_future()  # before taking: no arrival is missed
                for item in link.received():  # raises LinkError
                    self._take(item)
                deadline = await self._turn(handle)
                if deadline is None:
                    break
                if signal.done():
                    continue
                self._due = deadline
                self._timer = loop.call_at(deadline, self._on_timer)
                try:
                    await signal
                finally:
                    self._timer.cancel()
                    self._timer = None
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
        finally:
            link.set_notify(None)
            self._signal = None

    async def _turn(self, handle: Handler) -> float | None:
        """Time, what the session has to send, the handler: the next deadline, or None once stopped."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.session.tick(now)
        while data := self.session.data_to_send(now):
            await self.link.write(data)
            now = loop.time()
        extra = await handle(self.session.events(), loop.time())
        if self._stopped:
            return None
        return self._deadline(extra)

    def _deadline(self, extra: float | None) -> float:
        """The session's next deadline, or the handler's if that comes first."""
        deadline = self.session.next_deadline(asyncio.get_running_loop().time())
        return deadline if extra is None else min(deadline, extra)

    def _poke(self) -> None:
        s = self._signal
        if s is not None and not s.done():
            s.set_result(None)

    def _on_timer(self) -> None:
        """The parked task's timer: wake it if its deadline has come. Fast turns may have moved the
        deadline later since the timer was set (a burst's quiet time, a partial frame's expiry move
        with every chunk); then the timer is set again instead, without a turn of the task."""
        loop = asyncio.get_running_loop()
        s = self._signal
        if self._due > loop.time() and s is not None and not s.done() and self._timer is not None:
            self._timer = loop.call_at(self._due, self._on_timer)
            return
        self._poke()

    def _arrived(self) -> None:
        """The link's callback in the fast lane: handle the arrival here when the task is parked."""
        s = self._signal
        if self._timer is None or s is None or s.done():
            self._poke()  # the task is running or about to: it takes the bytes itself
            return
        try:
            handled = self._fast_turn()
        except Exception as e:  # the task raises it, as if its own turn had
            self._error, handled = e, False
        if not handled:
            self._poke()

    def _fast_turn(self) -> bool:
        """A turn without the task; False when the task must take over (output, error, stop)."""
        link: Any = self.link
        items, error_waits = link.received_now()
        for item in items:
            self._take(item)
        if error_waits:
            return False
        loop, session = asyncio.get_running_loop(), self.session
        now = loop.time()
        if now >= self._due:  # a timer of the session's may have come (else nothing is due before _due)
            session.tick(now)
        if session.has_output():
            return False  # writing is the task's (it may have to wait for the link to drain)
        assert self._handle_now is not None
        extra = self._handle_now(session.events(), now)
        if self._stopped:
            return False
        deadline = self._due = self._deadline(extra)
        timer = self._timer
        if timer is not None and deadline < timer.when():  # a later one is seen to when it fires
            timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
        self.fast_turns += 1
        return True

    async def _run_reading(self, handle: Handler) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        read_task: asyncio.Future[tuple[bytes, float]] | None = None
        wake_task: asyncio.Future[Any] | None = None
        try:
            while not self._stopped:
                if hasattr(self.link, "received"):
                    # Take all that has arrived, in order, before any deadline is looked at: the
                    # pending read first (cancelled if it has nothing yet), then the rest.
                    if read_task is not None:
                        await self._settle(read_task)
                        read_task = None
                    self._take_received()
                deadline = await self._turn(handle)
                if deadline is None:
                    break
                now = loop.time()
                if read_task is None:
                    read_task = asyncio.ensure_future(self._read())
                if wake_task is None:
                    wake.clear()
                    wake_task = asyncio.ensure_future(wake.wait())
                waiting: set[asyncio.Future[Any]] = {read_task, wake_task}
                done, _ = await asyncio.wait(
                    waiting, timeout=max(0.0, deadline - now), return_when=asyncio.FIRST_COMPLETED
                )
                if read_task in done:
                    self._take(read_task.result())  # raises LinkError
                    read_task = None
                if wake_task in done:
                    wake_task = None
        finally:
            for t in (read_task, wake_task):
                if t is not None:
                    t.cancel()

    async def _read(self) -> tuple[bytes, float]:
        timed = getattr(self.link, "read_timed", None)
        if timed is not None:
            got: tuple[bytes, float] = await timed()
            return got
        data = await self.link.read()
        return data, asyncio.get_running_loop().time()

    def _take_received(self) -> None:
        received = getattr(self.link, "received", None)
        if received is not None:
            for item in received():
                self._take(item)

    def _take(self, item: tuple[bytes, float]) -> None:
        data, at = item
        if self.on_bytes is not None:
            self.on_bytes(data)
        self.session.receive_data(data, at)

    async def _settle(self, task: asyncio.Future[tuple[bytes, float]]) -> None:
        if not task.done():
            task.cancel()
        try:
            item = await task  # raises LinkError
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being stopped, not just the read
            return
        self._take(item)
