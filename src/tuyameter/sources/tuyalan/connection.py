"""The asyncio adapter of a :class:`~tuyameter.tuyalan.client.ClientSession`: one TCP connection.

Shared by the source, ``probe`` and ``monitor``. It is an asyncio protocol (read into the shared
buffer of :mod:`tuyameter.transport.chunks`):
bytes go to the session as they arrive, and one timer (moved, never a task per wake-up)
ticks the session at its own deadlines, so a silent healthy connection wakes for its
heartbeats only. It ends with the reason, in words a user can act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from tuyameter.sources.tuyalan.target import LanTarget
from tuyameter.transport.chunks import ChunkProtocol
from tuyameter.tuyalan import events as ev
from tuyameter.tuyalan.client import ClientSession

CONNECT_TIMEOUT = 5.0
SLOT_TAKEN = (
    "its one local connection may be taken by the Tuya app or another integration "
    "(LocalTuya, tuya-local), or it refuses local control"
)

#: called with each batch of session events; True stops the connection
Handler = Callable[[list[ev.Event], float], bool | None]


class LanConnection(ChunkProtocol):
    def __init__(self, target: LanTarget, session: ClientSession) -> None:
        self.target, self.session = target, session
        self.connected = False
        self.refused = False  # reset or closed by the device before it was ready
        self.key_failure = False
        self._transport: asyncio.Transport | None = None
        self._done: asyncio.Future[str] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._handle: Handler = lambda events, now: None

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = asyncio.get_running_loop().time()
        self.session.receive_data(data, now)
        self._step(now)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session.ready:
            self._finish("the device closed the connection")
        else:
            self.refused = True
            how = "reset" if exc is not None else "closed"
            self._finish(f"the device {how} the connection during the handshake: {SLOT_TAKEN}")

    # -- driving -----------------------------------------------------------------------

    def flush(self) -> None:
        """Send what the session has to send now (after a write), and move the timer."""
        if self._transport is not None and not self._transport.is_closing():
            data = self.session.data_to_send()
            if data:
                self._transport.write(data)
        self._arm(asyncio.get_running_loop().time())

    async def run(self, handle: Handler, on_connect: Callable[[], None] = lambda: None) -> str:
        """Connect and drive the session until it fails, the device hangs up, or ``handle`` says stop."""
        t, loop = self.target, asyncio.get_running_loop()
        self._handle = handle
        try:
            await asyncio.wait_for(loop.create_connection(lambda: self, t.host, t.port), CONNECT_TIMEOUT)
        except TimeoutError:
            return f"no answer from {t.host}:{t.port} in {CONNECT_TIMEOUT:g} s"
        except ConnectionRefusedError:
            return f"{t.host}:{t.port} refused the connection (nothing listens there)"
        except OSError as e:
            return f"cannot connect to {t.host}:{t.port}: {e.strerror or e}"
        self.connected = True
        self._done = loop.create_future()
        on_connect()
        self.session.start(loop.time())
        self._step(loop.time())
        try:
            return await self._done
        finally:
            if self._timer is not None:
                self._timer.cancel()
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def _tick(self) -> None:
        self._timer = self._timer_at = None
        now = asyncio.get_running_loop().time()
        self.session.tick(now)
        self._step(now)

    def _step(self, now: float) -> None:
        if self._done is None or self._done.done():
            return
        events = self.session.events()
        failed = next((e for e in events if isinstance(e, ev.Failed)), None)
        stop = self._handle(events, now)
        self.flush()
        if failed is not None:
            if failed.kind == "key":
                self.key_failure = True
                self._finish(f"wrong local key or protocol version: {failed.reason}")
            else:
                self._finish(failed.reason)
        elif stop:
            self._finish("stopped")

    def _arm(self, now: float) -> None:
        deadline = self.session.next_deadline(now)
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, deadline
        if deadline is not None and self._done is not None and not self._done.done():
            self._timer = asyncio.get_running_loop().call_at(deadline, self._tick)

    def _finish(self, reason: str) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(reason)
