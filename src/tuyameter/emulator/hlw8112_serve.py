"""The emulated HLW8112 on a UART: a pseudo-terminal or a TCP port (the asyncio adapter).

On a pty the baud rate matters as on a real board: a client at another baud than the chip's gets
garbage both ways. A pty carries no parity (Linux clears PARENB on it), so a host at 8N1 instead
of 8E1 is emulated by the ``parity`` fault. Answers are paced at the line's byte rate (11 bits a
byte, 8E1).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import time
import tty
from collections.abc import Callable

from tuyameter.emulator.hlw8112_meter import EmulatedHlw8112
from tuyameter.emulator.serve import _BAUDS, garble, read_master


class _Uart:
    def __init__(self, meter: EmulatedHlw8112, baud: int, pace: bool) -> None:
        self.meter, self.baud = meter, baud
        self.byte_time = 11.0 / baud if pace else 0.0

    def answer(self, data: bytes) -> bytes:
        self.meter.sync(time.monotonic())
        return self.meter.wire.uart_feed(data)

    async def send(self, data: bytes, write: Callable[[bytes], None]) -> None:
        if self.byte_time:
            await asyncio.sleep(len(data) * self.byte_time)  # the answer takes its time on the line
        write(data)


class Hlw8112PtyServer:
    """The chip on the master side of a pty; clients open :attr:`path` at 8E1."""

    def __init__(self, meter: EmulatedHlw8112, baud: int = 9600, pace: bool = True) -> None:
        self.uart = _Uart(meter, baud, pace)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[4] = attrs[5] = next((k for k, v in _BAUDS.items() if v == baud), termios.B9600)
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        self._rearm: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Future[None]] = set()

    def _baud_ok(self) -> bool:
        """Whether the client set the line to the chip's baud rate."""
        try:
            attrs = termios.tcgetattr(self.master)
        except termios.error:
            return True
        return _BAUDS.get(attrs[5]) == self.uart.baud

    def _on_readable(self) -> None:
        data, rearm = read_master(self.master, self._on_readable)
        if rearm is not None:
            self._rearm = rearm
        if not data:
            return
        baud_ok = self._baud_ok()
        out = self.uart.answer(data if baud_ok else garble(data))
        if out:
            task = asyncio.ensure_future(self.uart.send(out if baud_ok else garble(out), self._write))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    async def serve(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.master, self._on_readable)
        try:
            await stop.wait()
        finally:
            if self._rearm is not None:
                self._rearm.cancel()
            loop.remove_reader(self.master)
            with contextlib.suppress(OSError):
                os.close(self.master)


class Hlw8112TcpServer:
    """The chip behind a TCP port, like a serial bridge set to 8E1. One client at a time."""

    def __init__(self, meter: EmulatedHlw8112, host: str, port: int, baud: int = 9600, pace: bool = True) -> None:
        self.uart = _Uart(meter, baud, pace)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = writer
        try:
            while data := await reader.read(4096):
                out = self.uart.answer(data)
                if out:
                    await self.uart.send(out, writer.write)
        except (ConnectionError, OSError):
            pass
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()

    async def serve(self, stop: asyncio.Event) -> None:
        if self._server is None:
            await self.start()
        try:
            await stop.wait()
        finally:
            assert self._server is not None
            self._server.close()
            if self._writer is not None:
                self._writer.close()
