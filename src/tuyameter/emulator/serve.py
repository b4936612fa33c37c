"""Serve an emulator on a pseudo-terminal or a TCP port (the asyncio adapter).

On a pty the emulator behaves like a UART: when the other end opens the port
at a different baud than the emulator's, both directions turn to garbage.
Output is paced at the line's byte rate (10 bits per byte).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable
from pathlib import Path

from tuyameter.emulator.pj1103a import Pj1103aEmulator

TICK = 0.02
CHUNK = 16

_BAUDS = {getattr(termios, f"B{b}"): b for b in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)}


def garble(data: bytes) -> bytes:
    """What bytes sent at one baud look like when read at another: junk, never a header."""
    return bytes(0x00 if b & 1 else 0xF8 for b in data)


class _Pacer:
    def __init__(self, baud: int, pace: bool) -> None:
        self.byte_time = 10.0 / baud if pace else 0.0

    async def send(self, data: bytes, write: Callable[[bytes], None]) -> None:
        for i in range(0, len(data), CHUNK):
            write(data[i : i + CHUNK])
            if self.byte_time:
                await asyncio.sleep(len(data[i : i + CHUNK]) * self.byte_time)


async def _pump(emu: Pj1103aEmulator, out: Callable[[bytes], asyncio.Future[None] | None], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        now = loop.time()
        emu.tick(now)
        data = emu.data_to_send()
        if data:
            fut = out(data)
            if fut is not None:
                await fut
        wait = emu.next_deadline(now) - now
        await asyncio.sleep(min(TICK, max(wait, 0.001)))


def read_master(master: int, again: Callable[[], None]) -> tuple[bytes, asyncio.TimerHandle | None]:
    """What a client wrote to a pty (its master side, non-blocking), and the timer that watches it again
    when no client has the port open yet (EIO: the master stays "readable" until one does, so it is
    looked at a little later instead of spinning)."""
    loop = asyncio.get_running_loop()
    try:
        return os.read(master, 4096), None
    except BlockingIOError:
        return b"", None
    except OSError:
        loop.remove_reader(master)
        return b"", loop.call_later(0.1, loop.add_reader, master, again)


class PtyServer:
    """The emulator on the master side of a pty; clients open :attr:`path`."""

    def __init__(self, emu: Pj1103aEmulator, baud: int = 9600, link: str | None = None, pace: bool = True) -> None:
        self.emu, self.baud = emu, baud
        self.master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        speed = next((k for k, v in _BAUDS.items() if v == baud), termios.B9600)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.tty_path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.link = Path(link) if link else None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.tty_path)
        self.path = str(self.link) if self.link else self.tty_path
        self._pacer = _Pacer(baud, pace)
        self.bytes_dropped = 0
        self._rearm: asyncio.TimerHandle | None = None

    def _line_ok(self) -> bool:
        try:
            attrs = termios.tcgetattr(self.master)
        except termios.error:
            return True
        return _BAUDS.get(attrs[5]) == self.baud

    def _write(self, data: bytes) -> None:
        if not self._line_ok():
            data = garble(data)
        try:
            os.write(self.master, data)
        except OSError:  # nobody has the port open, or its buffer is full: bytes fall on the floor
            self.bytes_dropped += len(data)

    def _on_readable(self) -> None:
        loop = asyncio.get_running_loop()
        data, rearm = read_master(self.master, self._on_readable)
        if rearm is not None:
            self._rearm = rearm
        if data and self._line_ok():
            self.emu.receive_data(data, loop.time())

    async def serve(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.master, self._on_readable)
        try:
            await _pump(self.emu, lambda d: asyncio.ensure_future(self._pacer.send(d, self._write)), stop)
        finally:
            if self._rearm is not None:
                self._rearm.cancel()
            loop.remove_reader(self.master)
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.master)
        if self.link is not None:
            with contextlib.suppress(OSError):
                self.link.unlink()


class TcpServer:
    """The emulator behind a TCP port, like a ser2net / ESP-link bridge. One client at a time."""

    def __init__(self, emu: Pj1103aEmulator, host: str, port: int, baud: int = 9600, pace: bool = True) -> None:
        self.emu, self.host, self.port = emu, host, port
        self._writer: asyncio.StreamWriter | None = None
        self._pacer = _Pacer(baud, pace)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            self._writer.close()  # a new client takes over, as a serial bridge would
        self._writer = writer
        try:
            while data := await reader.read(4096):
                self.emu.receive_data(data, asyncio.get_running_loop().time())
        except (ConnectionError, OSError):
            pass
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()

    def _write(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)

    async def serve(self, stop: asyncio.Event) -> None:
        if self._server is None:
            await self.start()
        try:
            await _pump(self.emu, lambda d: asyncio.ensure_future(self._pacer.send(d, self._write)), stop)
        finally:
            assert self._server is not None
            self._server.close()
            if self._writer is not None:
                self._writer.close()
