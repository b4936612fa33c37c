"""Probe a meter on stock firmware: which protocol version, is the key right, which DPs and profile?"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuyameter.profiles.match import ProfileMatch, best_fit, rank_profiles
from tuyameter.profiles.model import Profile
from tuyameter.sources.tuyalan.connection import LanConnection
from tuyameter.sources.tuyalan.target import LanTarget, parse_lan_url
from tuyameter.tuyalan import events as ev
from tuyameter.tuyalan.client import ClientConfig, ClientSession
from tuyameter.tuyalan.discovery import parse_datagram
from tuyameter.tuyamcu.constants import DPType

TRY_ORDER = ("3.5", "3.4", "3.3", "3.1")


@dataclass
class LanAttempt:
    version: str
    outcome: str  # "ready", "no answer", "refused", "unreachable", "wrong key"
    detail: str


@dataclass
class LanProbeResult:
    target: str
    device_id: str
    attempts: list[LanAttempt] = field(default_factory=list)
    version: str | None = None
    key_checked: bool = False
    dps: dict[str, Any] = field(default_factory=dict)
    discovery: dict[str, Any] | None = None
    matches: list[ProfileMatch] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.version is not None

    @property
    def product_key(self) -> str | None:
        pk = (self.discovery or {}).get("productKey")
        return pk if isinstance(pk, str) and pk else None

    @property
    def profile(self) -> str | None:
        return best_fit(self.matches)

    def advice(self) -> list[str]:
        if self.answered:
            return []
        outcomes = {a.outcome for a in self.attempts}
        tips = []
        if "unreachable" in outcomes:
            tips.append("nothing answers on that address and port: check the device's IP (tuyameter scan) "
                        "and that it is on the same network; stock devices listen on TCP 6668")  # fmt: skip
        if "refused" in outcomes:
            tips.append("the device hung up: it takes one local connection at a time — close the Tuya/Smart Life "
                        "app and stop LocalTuya, tuya-local or tinytuya scripts; some new models refuse local "
                        "control altogether")  # fmt: skip
        if outcomes & {"no answer", "wrong key"}:
            tips.append("the device did not accept the local key: take it again from a flash backup "
                        "(tuyameter flash inspect backup.bin --show-secrets) or the Tuya cloud; "
                        "re-pairing the device in the app changes the key")  # fmt: skip
        return tips


def seen_types(dps: dict[str, Any]) -> dict[int, DPType]:
    out: dict[int, DPType] = {}
    for k, v in dps.items():
        if k.isdigit():
            out[int(k)] = DPType.BOOL if isinstance(v, bool) else DPType.VALUE if isinstance(v, int) else DPType.ENUM
    return out


async def probe_lan(
    url: str, profiles: list[Profile], *, listen: float = 2.0,
    progress: Callable[[str], None] = lambda s: None, discovery_ports: tuple[int, ...] = (6666, 6667),
) -> LanProbeResult:  # fmt: skip
    target = parse_lan_url(url)
    res = LanProbeResult(target.description, target.device_id)
    heard: list[dict[str, Any]] = []
    listeners = await _listen(discovery_ports, heard)
    try:
        versions = (target.version,) if target.version_given else TRY_ORDER
        for v in versions:
            progress(f"trying protocol {v}…")
            att = await _attempt(dataclasses.replace(target, version=v), listen, res)
            res.attempts.append(att)
            progress(f"protocol {v}: {att.outcome} — {att.detail}")
            if att.outcome == "ready":
                res.target = dataclasses.replace(target, version=v).description
                break
            if att.outcome in ("unreachable", "refused"):
                break
    finally:
        for t in listeners:
            t.close()
    res.discovery = next((d for d in heard if d.get("gwId") == target.device_id), None)
    if res.answered:
        res.matches = rank_profiles(profiles, seen_types(res.dps), res.product_key)
    return res


async def _attempt(target: LanTarget, listen: float, res: LanProbeResult) -> LanAttempt:
    cfg = ClientConfig(target.device_id, target.key, target.version, refresh_interval=max(listen / 2, 0.2))
    session = ClientSession(cfg)
    conn = LanConnection(target, session)
    ready_at: float | None = None

    def handle(events: list[ev.Event], now: float) -> bool:
        nonlocal ready_at
        for e in events:
            if isinstance(e, ev.Ready):
                ready_at, res.version = now, target.version
                res.key_checked = target.version != "3.1"
            elif isinstance(e, ev.Dps):
                if not res.dps:  # the first answer names every DP: ask for the measured ones too
                    session.config.refresh_dps = tuple(sorted(int(k) for k in e.dps if k.isdigit()))
                res.dps.update(e.dps)
        return ready_at is not None and now >= ready_at + listen

    reason = await conn.run(handle)
    if res.version == target.version:
        return LanAttempt(target.version, "ready", f"answered with {len(res.dps)} DPs")
    if not conn.connected:
        return LanAttempt(target.version, "unreachable", reason)
    if conn.refused:
        return LanAttempt(target.version, "refused", reason)
    return LanAttempt(target.version, "wrong key" if conn.key_failure else "no answer", reason)


async def _listen(ports: tuple[int, ...], heard: list[dict[str, Any]]) -> list[asyncio.DatagramTransport]:
    loop = asyncio.get_running_loop()
    out = []
    for port in ports:
        with contextlib.suppress(OSError):  # a port someone else holds: no discovery from it
            t, _ = await loop.create_datagram_endpoint(
                lambda: _Collector(heard), local_addr=("0.0.0.0", port), family=socket.AF_INET, reuse_port=True
            )
            out.append(t)
    return out


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, heard: list[dict[str, Any]]) -> None:
        self.heard = heard

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        info = parse_datagram(data)
        if info is not None:
            self.heard.append(info | {"from": addr[0]})
