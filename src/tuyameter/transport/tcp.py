"""A raw TCP link (``socket://HOST:PORT``: a serial-to-network bridge, ser2net, ``sim --tcp``)
read by the event loop itself, in whole chunks.

pyserial's ``socket://`` backend reports at most one byte waiting, so a reader thread per
link woke the loop once per byte; a fleet of bridged meters then cost a thread each and
most of a core at a few hundred meters. Here each chunk the kernel hands over is one
callback, stamped with its time of arrival (loop clock) like :class:`SerialLink` stamps
its chunks, and no thread is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import cast

from tuyameter.transport.chunks import ChunkProtocol
from tuyameter.transport.links import Arrivals, LinkError

#: what may queue unsent before write() waits for the peer to take it
_HIGH_WATER = 64 * 1024


class TcpLink(Arrivals, ChunkProtocol):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self._transport: asyncio.Transport | None = None
        self._closed = False
        self._drained = asyncio.Event()
        self._drained.set()

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's is one without deriving from asyncio.Transport)
        self._transport = stream = cast(asyncio.Transport, transport)
        stream.set_write_buffer_limits(high=_HIGH_WATER)
        sock = stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # frames are small: send them as they come
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._put((data, self._loop.time()))

    def eof_received(self) -> bool:
        return False  # the peer closed: close our side too (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._drained.set()
        if not self._closed:
            why = f"{exc}" if exc is not None else "the other end closed the connection"
            self._put(LinkError(f"{self.description}: {why}"))

    def pause_writing(self) -> None:
        self._drained.clear()

    def resume_writing(self) -> None:
        self._drained.set()

    # -- Link (reading is Arrivals') --------------------------------------------------

    async def write(self, data: bytes) -> None:
        t = self._transport
        if t is None or t.is_closing():
            raise LinkError(f"{self.description}: write failed: the connection is closed")
        t.write(data)
        await self._drained.wait()

    async def close(self) -> None:
        self._closed = True
        t = self._transport
        if t is not None:
            t.close()


async def open_tcp(host: str, port: int, description: str) -> TcpLink:
    loop = asyncio.get_running_loop()
    try:
        _, link = await asyncio.wait_for(loop.create_connection(lambda: TcpLink(description), host, port), timeout=10.0)
    except (OSError, TimeoutError) as e:
        raise LinkError(f"cannot open {description}: {e or 'timed out'}") from e
    return link
