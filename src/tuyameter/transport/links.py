"""Byte links to a meter: serial devices and pyserial URLs, or an in-process emulator.

``parse_link_url`` accepts a device path (``/dev/ttyUSB0``), any pyserial URL
(``socket://host:port``, ``rfc2217://host:port``, ``loop://``) or
``sim://pj1103a?seed=1&speed=30&quirk=late-direction``; a ``baud=`` query
parameter is taken out for us on all of them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import serial

from tuyameter.util.limits import BAUD_MAX, BAUD_MIN, PORT_MAX


class LinkError(Exception):
    """The link could not be opened or broke."""


class Link(Protocol):
    description: str

    async def read(self) -> bytes: ...

    # A link may also offer ``received() -> list[tuple[bytes, float]]``: what has arrived and not
    # been read, each chunk with its time of arrival (loop clock). The pump then takes bytes at the
    # time they came, not when the event loop got round to them (see transport/session_pump.py).

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class LinkUrl:
    kind: str  # "serial" (pyserial path or URL) or "sim"
    target: str  # what pyserial opens, or the emulator name
    baud: int | None = None
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def baud_matters(self) -> bool:
        """False where the bridge, not we, sets the line speed (raw TCP)."""
        return self.kind == "serial" and not self.target.startswith(("socket://", "loop://"))


def parse_link_url(url: str) -> LinkUrl:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    baud: int | None = None
    rest: list[tuple[str, str]] = []
    for k, v in pairs:
        if k == "baud":
            try:
                baud = int(v)
            except ValueError:
                raise LinkError(f"{url}: baud must be a number, got {v!r}") from None
            if baud <= 0:
                raise LinkError(f"{url}: baud must be positive")
        else:
            rest.append((k, v))
    if parts.scheme == "sim":
        params: dict[str, list[str]] = {}
        for k, v in rest:
            params.setdefault(k, []).append(v)
        name = parts.netloc or parts.path.lstrip("/")
        if not name:
            raise LinkError(f"{url}: name the emulator, e.g. sim://pj1103a")
        return LinkUrl("sim", name, baud, params)
    if parts.scheme in ("", "file", "serial") or (len(parts.scheme) == 1 and url[1:2] == ":"):
        return LinkUrl("serial", parts.path, baud)
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return LinkUrl("serial", target, baud)


class Arrivals:
    """What a link has received and the loop has not taken yet: chunks stamped with their time of
    arrival (loop clock), or the error that ended the link, in order. Shared by the links that
    stamp their own bytes (:class:`SerialLink`, ``transport.tcp.TcpLink``).

    Items are appended by :meth:`_put` on the loop, or straight to the deque from another thread
    followed by :meth:`_arrived` scheduled on the loop (a deque append is thread-safe).
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self._loop = asyncio.get_running_loop()
        self._chunks: collections.deque[tuple[bytes, float] | BaseException] = collections.deque()
        self._ready: asyncio.Event | None = None  # made by the first read_timed (notified pumps never read)
        self._notify: Callable[[], None] | None = None

    def set_notify(self, notify: Callable[[], None] | None) -> None:
        """Called (on the loop) whenever bytes or an error arrive."""
        self._notify = notify

    def _put(self, item: tuple[bytes, float] | BaseException) -> None:  # on the loop
        self._chunks.append(item)
        self._arrived()

    def _arrived(self) -> None:  # on the loop
        if self._ready is not None:
            self._ready.set()
        if self._notify is not None:
            self._notify()

    async def read(self) -> bytes:
        return (await self.read_timed())[0]

    async def read_timed(self) -> tuple[bytes, float]:
        while not self._chunks:
            if self._ready is None:
                self._ready = asyncio.Event()
            self._ready.clear()
            if self._chunks:
                break
            await self._ready.wait()
        return self._unwrap(self._chunks.popleft())

    def received(self) -> list[tuple[bytes, float]]:
        """Everything that has arrived. Bytes that came before an error are given first; the error
        is raised by the next call, and the listener is told at once so that the call comes."""
        out, error_waits = self.received_now()
        if error_waits:
            if not out:
                self._unwrap(self._chunks.popleft())  # raises it
            self._arrived()
        return out

    def received_now(self) -> tuple[list[tuple[bytes, float]], bool]:
        """The bytes that have arrived, up to an error if one came, and whether one did; the error
        stays for :meth:`received` to raise (the pump's fast lane takes bytes but never errors)."""
        out: list[tuple[bytes, float]] = []
        chunks = self._chunks
        while chunks:  # one by one: a reader thread may append meanwhile
            item = chunks[0]
            if isinstance(item, BaseException):
                return out, True
            out.append(chunks.popleft())  # type: ignore[arg-type]
        return out, False

    def _unwrap(self, item: tuple[bytes, float] | BaseException) -> tuple[bytes, float]:
        if isinstance(item, LinkError):
            raise item
        if isinstance(item, BaseException):
            raise LinkError(f"{self.description}: {item}") from item
        return item


class SerialLink(Arrivals):
    """A pyserial port read by a helper thread; bytes are handed to the event loop.

    The thread stamps each chunk with its time of arrival and keeps it in the thread-safe deque,
    so :meth:`received` sees everything the thread has read even while the event loop was
    blocked (its wake-up callbacks have not run yet then).
    """

    def __init__(self, port: serial.SerialBase, description: str) -> None:
        super().__init__(description)
        self._port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._reader, name=f"read {description}", daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._port.read(max(1, getattr(self._port, "in_waiting", 0)))
                if data:  # stamped here, in the reader thread: the loop's clock is time.monotonic
                    self._chunks.append((data, time.monotonic()))
                    self._loop.call_soon_threadsafe(self._arrived)
        except Exception as e:
            if not self._stop.is_set():
                self._chunks.append(e)
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._arrived)

    async def write(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._port.write, data)
        except Exception as e:
            raise LinkError(f"{self.description}: write failed: {e}") from e

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 1.0)
        with contextlib.suppress(Exception):
            self._port.close()


async def open_serial(target: str, baud: int, parity: str = "N") -> SerialLink:
    # A local device is locked so that a second program cannot steal half the bytes.
    exclusive = "://" not in target

    # pyserial's RFC 2217 client refuses a write timeout (NotImplementedError): its writes go to a socket
    write_timeout = None if target.startswith("rfc2217://") else 2.0

    def _open() -> serial.SerialBase:
        return serial.serial_for_url(target, baudrate=baud, parity=parity, timeout=0.1, write_timeout=write_timeout,
                                     exclusive=exclusive)  # fmt: skip

    try:
        port = await asyncio.to_thread(_open)
    except (serial.SerialException, OSError, ValueError, NotImplementedError) as e:
        raise LinkError(f"cannot open {target}: {e}") from e
    return SerialLink(port, f"{target}@{baud}")


#: Openers for link kinds other than pyserial's, registered by their modules
#: (the emulator registers ``sim``): transport never imports them.
LinkOpener = Callable[[LinkUrl], Awaitable[Link]]
_OPENERS: dict[str, LinkOpener] = {}


_CHECKS: dict[str, Callable[[LinkUrl], None]] = {}


def register_link_kind(kind: str, opener: LinkOpener, check: Callable[[LinkUrl], None] | None = None) -> None:
    """``check`` validates a URL of this kind without opening it (raises LinkError)."""
    _OPENERS[kind] = opener
    if check is not None:
        _CHECKS[kind] = check


def check_link_url(lu: LinkUrl) -> None:
    """What can be known wrong about a link URL before opening it (LinkError): at start, not as a
    meter that stays offline for ever."""
    if lu.baud is not None and not BAUD_MIN <= lu.baud <= BAUD_MAX:
        raise LinkError(f"baud {lu.baud} is not in {BAUD_MIN}..{BAUD_MAX}")
    if lu.kind != "serial":
        if lu.kind not in _OPENERS:
            raise LinkError(f"{lu.kind}://{lu.target}: no such link kind here (known: {', '.join(_OPENERS)})")
        if (check := _CHECKS.get(lu.kind)) is not None:
            check(lu)
        return
    if lu.target.startswith(("socket://", "rfc2217://")):
        parts = urlsplit(lu.target)
        try:
            port = parts.port
        except ValueError:
            raise LinkError(f"{lu.target}: the port must be a number 0..{PORT_MAX}") from None
        if not parts.hostname or port is None:
            raise LinkError(f"{lu.target}: needs HOST:PORT")


async def open_link(url: str | LinkUrl, baud: int = 9600, parity: str = "N") -> Link:
    """Open a link; the URL's own ``baud=`` wins over ``baud``. ``parity`` ("N", "E", "O") is a serial
    port's (a TCP bridge sets its own)."""
    lu = parse_link_url(url) if isinstance(url, str) else url
    if lu.kind != "serial":
        opener = _OPENERS.get(lu.kind)
        if opener is None:
            raise LinkError(f"{lu.kind}://{lu.target}: no such link kind here (known: {', '.join(_OPENERS)})")
        return await opener(lu)
    tcp = _plain_tcp(lu.target)
    if tcp is not None:  # read by the event loop in whole chunks, not by a thread a byte at a time
        from tuyameter.transport.tcp import open_tcp  # here: tcp.py imports this module

        return await open_tcp(*tcp, lu.target)
    return await open_serial(lu.target, lu.baud or baud, parity)


def _plain_tcp(target: str) -> tuple[str, int] | None:
    """HOST, PORT of a ``socket://HOST:PORT`` without pyserial options (those stay pyserial's)."""
    if not target.startswith("socket://"):
        return None
    parts = urlsplit(target)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.query or parts.path not in ("", "/") or not parts.hostname or port is None:
        return None
    return parts.hostname, port
