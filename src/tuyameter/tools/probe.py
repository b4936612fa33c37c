"""Probe a link: is an MCU talking, at which baud, which DPs, which profile?"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from tuyameter.profiles.match import ProfileMatch, best_fit, rank_profiles
from tuyameter.profiles.model import Profile
from tuyameter.transport.links import LinkError, open_link, parse_link_url
from tuyameter.transport.session_pump import SessionPump
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPValue
from tuyameter.tuyamcu.session import Session, SessionConfig

BAUDS = (9600, 115200)


@dataclass
class BaudAttempt:
    baud: int | None
    answered: bool
    bytes_seen: int = 0
    frames_seen: int = 0
    error: str | None = None


@dataclass
class DPSeen:
    dp: int
    type: DPType
    value: DPValue


@dataclass
class ProbeResult:
    url: str
    attempts: list[BaudAttempt] = field(default_factory=list)
    baud: int | None = None
    protocol_version: int | None = None
    product_info: str | None = None
    product_id: str | None = None
    working_mode: str | None = None
    dps: dict[int, DPSeen] = field(default_factory=dict)
    matches: list[ProfileMatch] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return any(a.answered for a in self.attempts)

    @property
    def profile(self) -> str | None:
        return best_fit(self.matches)

    def advice(self) -> list[str]:
        if self.answered:
            return []
        tips = []
        if any(a.error for a in self.attempts) and not any(a.bytes_seen for a in self.attempts):
            tips.append("the port could not be used: check the path/URL and that nothing else holds it")
        if any(a.bytes_seen for a in self.attempts):
            tips.append("bytes arrived but no valid TuyaMCU frame: wrong baud, or not a TuyaMCU device")
        tips += [
            "wiring: the adapter's TX goes to the module pad's RX and RX to TX, with a common GND",
            f"baud: tried {', '.join(str(a.baud) for a in self.attempts if a.baud)}; PJ-1103A uses 9600",
            "is it TuyaMCU at all? Boards with the HLW8112 wired to the Wi-Fi module over SPI "
            "(purple PCB, 'PJ1203 v8') have no MCU to talk to",
            "the MCU needs power: the meter must be on mains (or its 3.3 V supply) while probing",
        ]
        return tips


async def _attempt(
    url: str, baud: int, listen: float, res: ProbeResult, progress: Callable[[str], None]
) -> BaudAttempt:
    att = BaudAttempt(baud, False)
    try:
        link = await open_link(url, baud)
    except LinkError as e:
        att.error = str(e)
        return att
    loop = asyncio.get_running_loop()
    session = Session(SessionConfig(handshake_heartbeat_timeout=1.0, request_timeout=1.0))
    pump = SessionPump(link, session, on_bytes=lambda data: setattr(att, "bytes_seen", att.bytes_seen + len(data)))
    t_end = loop.time() + 3.5  # a few heartbeats

    async def handle(events: list[ev.Event], now: float) -> float:
        nonlocal t_end
        for evt in events:
            if isinstance(evt, ev.LinkUp) and not att.answered:
                att.answered = True
                t_end = now + listen
                res.protocol_version = evt.protocol_version
                res.product_info, res.product_id = evt.product_info, evt.product_id
                res.working_mode = m.working_mode_text(evt.working_mode)
                progress(f"{baud} baud: MCU answered (protocol v{evt.protocol_version}); collecting DPs…")
            elif isinstance(evt, ev.DPUpdate):
                for r in evt.records:
                    res.dps[r.dp] = DPSeen(r.dp, r.type, r.value)
        if now >= t_end:
            pump.stop()
        return t_end

    try:
        await pump.run(handle)
    except LinkError as e:
        att.error = str(e)
    finally:
        att.frames_seen = session.decoder.stats.frames
        await link.close()
    return att


async def probe(
    url: str,
    profiles: list[Profile],
    *,
    bauds: tuple[int, ...] = BAUDS,
    listen: float = 2.0,
    progress: Callable[[str], None] = lambda s: None,
) -> ProbeResult:
    res = ProbeResult(url)
    lu = parse_link_url(url)
    if lu.baud is not None:
        bauds = (lu.baud,)
    elif not lu.baud_matters:
        bauds = (bauds[0],)
    for baud in bauds:
        progress(f"trying {baud} baud…")
        att = await _attempt(url, baud, listen, res, progress)
        if not lu.baud_matters and lu.baud is None:
            att.baud = None
        res.attempts.append(att)
        if att.answered:
            res.baud = baud if lu.baud_matters else None
            break
        progress(f"{baud} baud: no answer ({att.bytes_seen} bytes, {att.frames_seen} frames)")
    if res.answered:
        seen = {d.dp: d.type for d in res.dps.values()}
        res.matches = rank_profiles(profiles, seen, res.product_id)
    return res
