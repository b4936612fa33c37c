"""The Tuya LAN source: one persistent TCP connection to a meter on stock firmware.

connecting (TCP) → handshaking (3.4/3.5 session key, status query) → ready (STATUS
pushes; UPDATEDPS at the meter's report rate so that measured values come; heartbeats;
writes confirmed by the device's echo) → down (closed, reset, wrong key: retried with
backoff, never a reconnect storm). Each STATUS is one :class:`Batch`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from tuyameter.pipeline.events import Batch, SourceState, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome
from tuyameter.profiles.model import Profile, Value
from tuyameter.sources.base import SourceOptions
from tuyameter.sources.running import RunningSource
from tuyameter.sources.traffic import Tap, to_wall
from tuyameter.sources.tuyalan.binding import LanBinding
from tuyameter.sources.tuyalan.connection import LanConnection
from tuyameter.sources.tuyalan.target import LanTarget, parse_lan_url
from tuyameter.sources.tuyalan.traffic import lan_lines
from tuyameter.sources.tuyamcu.source import scaled_clock
from tuyameter.tuyalan import events as ev
from tuyameter.tuyalan.client import ClientConfig, ClientSession
from tuyameter.tuyalan.codec import Message
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)

DEFAULT_REFRESH = 10.0
#: a device that refused us (slot taken, wrong key) is tried again no sooner than this
REFUSED_BACKOFF = 30.0


class TuyaLanSource(RunningSource):
    def __init__(self, url: str, profile: Profile, options: SourceOptions | None = None) -> None:
        self.url, self.profile = url, profile
        self.options = options or SourceOptions()
        self.target: LanTarget = parse_lan_url(url)  # ValueError for a bad URL or key
        self.description = self.target.description
        self.binding = LanBinding(profile)
        self._session: ClientSession | None = None
        self._conn: LanConnection | None = None
        self._writes: dict[int, asyncio.Future[ev.WriteResult]] = {}
        #: while someone looks at the link, its last messages both ways, across connections
        self._recent: deque[tuple[float, bool, Message]] | None = None
        self._tap = Tap(self._tap_into)
        self.connects = 0
        self.refusals = 0
        self.key_failures = 0
        #: counts of connections that ended (the current one's are in its session)
        self.frames_in = self.frames_out = self.undecodable = self.writes_ok = self.writes_failed = 0
        self.last_failure: str | None = None
        self._last_dps: float | None = None
        #: an emulator's accelerated clock (its --speed), else the wall clock
        super().__init__(scaled_clock(self.options.clock_rate) if self.options.clock_rate else time.time)

    async def write(self, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        key, lan_value = self.binding.lan_value(name, value)  # WriteRefused before anything is sent
        session = self._session
        if self._state is not SourceState.READY or session is None or not session.ready:
            return WriteOutcome(name, value, False, f"the meter is not ready ({self._state.value})")
        loop = asyncio.get_running_loop()
        wid = session.write({key: lan_value}, loop.time(), timeout)
        fut: asyncio.Future[ev.WriteResult] = loop.create_future()
        self._writes[wid] = fut
        if self._conn is not None:
            self._conn.flush()
        try:
            res = await asyncio.wait_for(asyncio.shield(fut), timeout + 1.0)
        except TimeoutError:
            session.cancel_write(wid)
            return WriteOutcome(name, value, False, "no answer in time")
        finally:
            self._writes.pop(wid, None)
        return WriteOutcome(name, value, res.ok, res.error, 1, self.binding.echoed(res.echoed))

    def diagnostics(self) -> dict[str, object]:
        s = self._session
        age = None
        if self._last_dps is not None:
            age = round(asyncio.get_running_loop().time() - self._last_dps, 1)
        b = self.binding.stats
        undecodable = self.undecodable + (s.stats.undecodable if s else 0)
        return {
            "state": self._state.value,
            "state_detail": self.detail,
            "protocol": f"tuya-lan {self.target.version}",
            "frames_in": self.frames_in + (s.stats.frames_in if s else 0),
            "frames_out": self.frames_out + (s.stats.frames_out if s else 0),
            "undecodable_frames": undecodable,
            # the names Home Assistant's link-health entities read (docs/mqtt.md), for every source:
            "checksum_errors": undecodable,
            "mcu_restarts": 0,  # the stock module does not tell
            "garbage_bytes": s.decoder.stats.garbage_bytes if s else 0,
            "connects": self.connects,
            "refusals": self.refusals,
            "key_failures": self.key_failures,
            "last_failure": self.last_failure,
            "device22": bool(s and s.device22),
            "writes_ok": self.writes_ok + (s.stats.writes_ok if s else 0),
            "writes_failed": self.writes_failed + (s.stats.writes_failed if s else 0),
            "unknown_dps": b.unknown_dps,
            "type_mismatches": b.type_mismatches,
            "batches_dropped": self.batches_dropped,
            "seconds_since_report": age,
        }

    def recent_traffic(self) -> list[TrafficLine]:
        return lan_lines(self._look(), self.binding, to_wall(asyncio.get_running_loop().time))

    def _tap_into(self, ring: deque[tuple[float, bool, Message]] | None) -> None:
        self._recent = ring
        if self._session is not None:
            self._session.recent = ring

    # -- the connection loop -----------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(initial=1.0, maximum=max(self.options.reconnect_max, 1.0))
        t = self.target
        while True:
            self._set_state(SourceState.CONNECTING, f"connecting to {t.host}:{t.port}")
            failure, ready, said_no = await self._connect_once()
            self.last_failure = failure
            self._set_state(SourceState.DOWN, failure)
            if ready:
                backoff.reset()
            delay = backoff.next()
            if said_no:  # refused or a wrong key: asking again soon changes nothing
                delay = max(delay, min(REFUSED_BACKOFF, self.options.reconnect_max * 3))
            await asyncio.sleep(delay)

    async def _connect_once(self) -> tuple[str, bool, bool]:
        """One connection, until it fails: (why it ended, whether it was ever ready, whether the device
        said no: it hung up before the handshake, or the key was wrong)."""
        t, loop = self.target, asyncio.get_running_loop()
        cfg = ClientConfig(
            t.device_id, t.key, t.version, heartbeat_interval=self.options.heartbeat_interval,
            refresh_dps=self.binding.measured_dps(), refresh_interval=DEFAULT_REFRESH,
        )  # fmt: skip
        session = self._session = ClientSession(cfg, recent=self._recent)
        conn = self._conn = LanConnection(t, session)
        ever_ready = False

        def connected() -> None:
            self.connects += 1
            self._set_state(SourceState.HANDSHAKING, f"connected to {t.host}:{t.port}; handshaking ({t.version})")

        def handle(events: list[ev.Event], now: float) -> None:
            nonlocal ever_ready
            for event in events:
                ever_ready = self._on_event(event) or ever_ready

        try:
            reason = await conn.run(handle, connected)
        finally:
            self._fold_stats(session)
            self._session = self._conn = None
            for fut in self._writes.values():
                if not fut.done():
                    fut.set_result(ev.WriteResult(loop.time(), 0, False, {}, "the connection was lost"))
        self.refusals += conn.refused
        self.key_failures += conn.key_failure
        return reason, ever_ready, conn.refused or conn.key_failure

    def _on_event(self, e: ev.Event) -> bool:
        """Handle one session event; True once the connection is ready."""
        if isinstance(e, ev.Ready):
            quirk = " (device22)" if e.device22 else ""
            info: dict[str, object] = {
                "protocol": "tuya-lan",
                "protocol_version": e.version,
                "device_id": self.target.device_id,
            }
            self._set_state(SourceState.READY, f"ready ({self.target.description}){quirk}", info)
            return True
        if isinstance(e, ev.Dps):
            readings = self.binding.readings(e.dps)
            self._adopt_report_rate(readings)
            self._last_dps = e.time
            if readings:
                self._emit(Batch(self.clock(), tuple(readings)))
        elif isinstance(e, ev.WriteResult):
            fut = self._writes.get(e.write_id)
            if fut is not None and not fut.done():
                fut.set_result(e)
        elif isinstance(e, ev.Undecodable):
            log.debug("%s: %s", self.description, e.reason)
        return False

    def _adopt_report_rate(self, readings: list[tuple[str, Value]]) -> None:
        """Ask for measured values as often as the meter measures them (its report rate)."""
        name = self.profile.report_rate
        s = self._session
        for n, v in readings:
            if n == name and s is not None and isinstance(v, int | float) and v > 0:
                # in the meter's seconds: an emulator running faster reports faster
                s.config.refresh_interval = max(0.2, float(v) / (self.options.clock_rate or 1.0))

    def _fold_stats(self, s: ClientSession) -> None:
        self.frames_in += s.stats.frames_in
        self.frames_out += s.stats.frames_out
        self.undecodable += s.stats.undecodable
        self.writes_ok += s.stats.writes_ok
        self.writes_failed += s.stats.writes_failed
