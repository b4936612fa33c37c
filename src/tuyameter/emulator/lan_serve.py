"""Serve a stock-firmware meter (:class:`StockModule`) on TCP, with discovery on UDP (asyncio adapter).

One client at a time, as the device: a second connection is reset at once while
the first is open. Discovery datagrams go to ``announce`` (loopback by default:
this emulator never sends to a broadcast address unless told to), and app
requests on the 3.5 port are answered by unicast.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any, cast

from tuyameter.emulator.factory import build_emulator, spec_from_params
from tuyameter.emulator.stock_module import StockModule
from tuyameter.profiles.loader import find_profile
from tuyameter.transport.links import parse_link_url
from tuyameter.tuyalan.device import DeviceSession
from tuyameter.tuyalan.discovery import announcement, parse_datagram

TICK = 0.25
ANNOUNCE_EVERY = 5.0


class LanServer:
    def __init__(
        self, module: StockModule, host: str, port: int, *,
        announce: tuple[str, int] | None = None, app_port: int | None = None, product_key: str = "",
    ) -> None:  # fmt: skip
        self.module, self.host, self.port = module, host, port
        self.announce, self.app_port, self.product_key = announce, app_port, product_key
        self._server: asyncio.Server | None = None
        self._writers: dict[DeviceSession, asyncio.StreamWriter] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._app: asyncio.DatagramTransport | None = None
        self._wake = asyncio.Event()
        self.announcements = 0

    def url(self) -> str:
        m = self.module
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tuya://{m.device_id}@{host}:{self.port}?key={m.local_key.decode()}&version={m.version}"

    def info(self) -> dict[str, Any]:
        m = self.module
        return {"ip": self.host, "gwId": m.device_id, "active": 2, "ability": 0, "mode": 0, "encrypt": True,
                "productKey": self.product_key, "version": m.version}  # fmt: skip

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        if self.announce is not None:
            self._udp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, family=socket.AF_INET)
        if self.app_port is not None:
            self._app, _ = await loop.create_datagram_endpoint(
                lambda: _AppRequests(self), local_addr=(self.host, self.app_port), reuse_port=True
            )

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = self.module.connect()
        if session is None:  # the one local slot is taken: reset, as the device does
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            return
        try:
            self._writers[session] = writer
            while data := await reader.read(4096):
                session.receive_data(data)
                self._flush(session)
                if session.closed:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.module.disconnect(session)
            self._writers.pop(session, None)
            writer.close()

    def _flush(self, session: DeviceSession) -> None:
        out = session.data_to_send()
        w = self._writers.get(session)
        if out and w is not None and not w.is_closing():
            w.write(out)

    async def serve(self, stop: asyncio.Event) -> None:
        if self._server is None:
            await self.start()
        loop = asyncio.get_running_loop()
        next_announce = loop.time()
        try:
            while not stop.is_set():
                now = loop.time()
                self.module.tick(now)
                for s in list(self._writers):
                    self._flush(s)
                if self._udp is not None and self.announce is not None and now >= next_announce:
                    self._udp.sendto(announcement(self.info(), self.module.version, self.announcements), self.announce)
                    self.announcements += 1
                    next_announce = now + ANNOUNCE_EVERY
                wait = min(self.module.next_deadline(now) - now, TICK)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(wait, 0.001))
        finally:
            self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers.values():
            w.close()
        for t in (self._udp, self._app):
            if t is not None:
                t.close()


@contextlib.asynccontextmanager
async def lan_meters(sim_urls: list[str], version: str) -> AsyncIterator[list[str]]:
    """Serve each ``sim://pj1103a?…`` meter behind a stock module on 127.0.0.1; yields their tuya:// URLs."""
    profile = find_profile("pj1103a")
    stop = asyncio.Event()
    servers, tasks = [], []
    try:
        for url in sim_urls:
            lu = parse_link_url(url)
            emu = build_emulator(spec_from_params(lu.target, lu.params))
            dev_id, key = "bf" + secrets.token_hex(10), secrets.token_hex(8).encode()
            server = LanServer(StockModule(emu, profile, dev_id, key, version), "127.0.0.1", 0)
            await server.start()
            servers.append(server)
            tasks.append(asyncio.ensure_future(server.serve(stop)))
        yield [s.url() for s in servers]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


class _AppRequests(asyncio.DatagramProtocol):
    """UDP 7000: an app's request makes a 3.5 device announce itself to the asker."""

    def __init__(self, server: LanServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        req = parse_datagram(data)
        if req is None or req.get("from") != "app" or self.transport is None:
            return
        s = self.server
        self.transport.sendto(announcement(s.info(), s.module.version), addr)
