"""Socket reads into one buffer shared by every connection.

asyncio's plain ``Protocol`` has each read made as ``sock.recv(256 KiB)``: a fresh 256 KiB
object for every chunk, however small, shrunk afterwards. A bridged meter's chunk is about 16
bytes, and at thousands of meters that allocation cost more than everything else done with the
chunk (12 µs of 14 per read here). A ``BufferedProtocol`` is read with ``recv_into``; all of
ours share one buffer, which is safe because the event loop hands each read over (get_buffer,
recv_into, buffer_updated) before it starts another.
"""

from __future__ import annotations

import asyncio

_BUFFER = memoryview(bytearray(16 * 1024))


class ChunkProtocol(asyncio.BufferedProtocol):
    """A protocol that receives each read as ``data_received(bytes)``, read into the shared buffer."""

    def get_buffer(self, sizehint: int) -> memoryview:
        return _BUFFER

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_BUFFER[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        raise NotImplementedError
