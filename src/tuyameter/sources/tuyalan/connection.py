"""The asyncio adapter of a :class:`~tuyameter.tuyalan.client.ClientSession`: one TCP connection.

Shared by the source, ``probe`` and ``monitor``. It reads whole chunks, feeds the session,
ticks it at its own deadlines (a silent healthy connection wakes for heartbeats only)
and writes what the session has to send. It ends with the reason, in words a user can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from tuyameter.sources.tuyalan.target import LanTarget
from tuyameter.tuyalan import events as ev
from tuyameter.tuyalan.client import ClientSession

CONNECT_TIMEOUT = 5.0
SLOT_TAKEN = (
    "its one local connection may be taken by the Tuya app or another integration "
    "(LocalTuya, tuya-local), or it refuses local control"
)

#: called with each batch of session events; True stops the connection
Handler = Callable[[list[ev.Event], float], bool | None]


class LanConnection:
    def __init__(self, target: LanTarget, session: ClientSession) -> None:
        self.target, self.session = target, session
        self._writer: asyncio.StreamWriter | None = None
        self._wake = asyncio.Event()
        self.connected = False
        self.refused = False  # reset or closed by the device before it was ready
        self.key_failure = False

    def flush(self) -> None:
        """Send what the session has to send now (after a write), and recompute the next deadline."""
        if self._writer is not None and not self._writer.is_closing():
            data = self.session.data_to_send()
            if data:
                self._writer.write(data)
        self._wake.set()

    async def run(self, handle: Handler, on_connect: Callable[[], None] = lambda: None) -> str:
        """Connect and drive the session until it fails, the device hangs up, or ``handle`` says stop."""
        t, loop = self.target, asyncio.get_running_loop()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(t.host, t.port), CONNECT_TIMEOUT)
        except TimeoutError:
            return f"no answer from {t.host}:{t.port} in {CONNECT_TIMEOUT:g} s"
        except ConnectionRefusedError:
            return f"{t.host}:{t.port} refused the connection (nothing listens there)"
        except OSError as e:
            return f"cannot connect to {t.host}:{t.port}: {e.strerror or e}"
        self.connected, self._writer = True, writer
        on_connect()
        session = self.session
        session.start(loop.time())
        self.flush()
        read = asyncio.ensure_future(reader.read(65536))
        try:
            while True:
                now = loop.time()
                deadline = session.next_deadline(now)
                self._wake.clear()
                wake = asyncio.ensure_future(self._wake.wait())
                timeout = None if deadline is None else max(0.0, deadline - now)
                done, _ = await asyncio.wait({read, wake}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
                now = loop.time()
                if read in done:
                    try:
                        data = read.result()
                    except (ConnectionError, OSError):
                        self.refused = not session.ready
                        return f"the device reset the connection: {SLOT_TAKEN}"
                    if not data:
                        if session.ready:
                            return "the device closed the connection"
                        self.refused = True
                        return f"the device closed the connection during the handshake: {SLOT_TAKEN}"
                    session.receive_data(data, now)
                    read = asyncio.ensure_future(reader.read(65536))
                session.tick(now)
                events = session.events()
                failed = next((e for e in events if isinstance(e, ev.Failed)), None)
                stop = handle(events, now)
                self.flush()
                if failed is not None:
                    if failed.kind == "key":
                        self.key_failure = True
                        return f"wrong local key or protocol version: {failed.reason}"
                    return failed.reason
                if stop:
                    return "stopped"
        finally:
            read.cancel()
            self._writer = None
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
