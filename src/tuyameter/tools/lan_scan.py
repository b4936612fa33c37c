"""Listen for stock Tuya devices announcing themselves on UDP (and ask 3.5 devices, where told to)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuyameter.tuyalan.constants import DISCOVERY_PORTS
from tuyameter.tuyalan.discovery import app_request, parse_datagram

#: 6666 and 6667: devices' broadcasts; 7000: where 3.5 devices and apps talk
PORTS = (DISCOVERY_PORTS["plain"], DISCOVERY_PORTS["encrypted"], DISCOVERY_PORTS["v35"])


@dataclass
class Found:
    device_id: str
    ip: str
    product_key: str | None
    version: str | None
    seen: int = 1
    raw: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "ip": self.ip, "product_key": self.product_key,
                "version": self.version, "announcements": self.seen}  # fmt: skip


@dataclass
class ScanResult:
    devices: dict[str, Found] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    busy_ports: list[int] = field(default_factory=list)
    datagrams: int = 0
    unreadable: int = 0


async def scan(
    seconds: float, *, bind: str = "0.0.0.0", ports: tuple[int, ...] = PORTS, ask: str | None = None,
    ask_port: int = DISCOVERY_PORTS["v35"], on_found: Callable[[Found], None] = lambda f: None,
) -> ScanResult:  # fmt: skip
    """Collect announcements for ``seconds``; with ``ask``, send the app's request to ``ask:ask_port``."""
    res = ScanResult()
    loop = asyncio.get_running_loop()
    transports: list[asyncio.DatagramTransport] = []
    proto = _Collector(res, on_found)
    for port in ports:
        try:
            t, _ = await loop.create_datagram_endpoint(
                lambda: proto, local_addr=(bind, port), family=socket.AF_INET, reuse_port=True
            )
        except OSError:
            res.busy_ports.append(port)
            continue
        transports.append(t)
        res.ports.append(port)
    try:
        if ask is not None:
            t, _ = await loop.create_datagram_endpoint(lambda: proto, family=socket.AF_INET)
            transports.append(t)
            t.sendto(app_request(ask), (ask, ask_port))
        await asyncio.sleep(seconds)
    finally:
        for t in transports:
            with contextlib.suppress(Exception):
                t.close()
    return res


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, res: ScanResult, on_found: Callable[[Found], None]) -> None:
        self.res, self.on_found = res, on_found

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.res.datagrams += 1
        info = parse_datagram(data)
        if info is not None and info.get("from") == "app":
            return  # another app asking (or our own --ask): not a device
        dev_id = info.get("gwId") if info else None
        if info is None or not isinstance(dev_id, str):
            self.res.unreadable += 1
            return
        known = self.res.devices.get(dev_id)
        if known is not None:
            known.seen += 1
            return
        ip = info.get("ip") if isinstance(info.get("ip"), str) else addr[0]
        pk, v = info.get("productKey"), info.get("version")
        found = Found(dev_id, str(ip), pk if isinstance(pk, str) else None, v if isinstance(v, str) else None,
                      raw=info)  # fmt: skip
        self.res.devices[dev_id] = found
        self.on_found(found)
