"""The TuyaMCU source: a byte link + the sans-IO session, with explicit connection states.

connecting (opening the link) → handshaking (heartbeat, product, mode, Wi-Fi state,
query) → ready (reports flow, writes accepted) → down (link lost; reopened with
backoff) → connecting … An MCU restart goes back to handshaking on the same link.
Report bursts (one DP per frame) are settled into one :class:`Batch`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable

from tuyameter.pipeline.events import Batch, SourceState, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome
from tuyameter.profiles.model import Profile, Value
from tuyameter.sources.base import SourceOptions
from tuyameter.sources.running import RunningSource
from tuyameter.sources.traffic import Tap, to_wall
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.sources.tuyamcu.bursts import MAX_HOLD, SETTLE, Reading, ReportBursts
from tuyameter.sources.tuyamcu.traffic import mcu_lines
from tuyameter.transport.links import LinkError, check_link_url, open_link, parse_link_url
from tuyameter.transport.session_pump import SessionPump
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import working_mode_text
from tuyameter.tuyamcu.session import Session, SessionConfig
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)

__all__ = ["MAX_HOLD", "SETTLE", "TuyaMcuSource", "scaled_clock"]


def scaled_clock(rate: float) -> Callable[[], float]:
    """A clock that starts at the wall time and runs ``rate`` times faster."""
    t0, m0 = time.time(), time.monotonic()
    return lambda: t0 + (time.monotonic() - m0) * rate


class TuyaMcuSource(RunningSource):
    def __init__(self, url: str, profile: Profile, options: SourceOptions | None = None) -> None:
        self.url, self.profile = url, profile
        self.options = opts = options or SourceOptions()
        try:
            self.link_url = parse_link_url(url)
            check_link_url(self.link_url)
        except LinkError as e:
            raise ValueError(str(e)) from None
        self.description = url
        self.binding = DPBinding(profile)
        wifi = opts.wifi_state if opts.wifi_state is not None else profile.wifi_state
        self.session = Session(
            SessionConfig(wifi_state=wifi, heartbeat_interval=opts.heartbeat_interval), local_time=dt.datetime.now
        )
        self._pump: SessionPump | None = None
        self._writes: dict[int, asyncio.Future[ev.WriteResult]] = {}
        end = profile.report_ends_with
        self._bursts = ReportBursts(self.binding, profile.spec(end).dp if end is not None else None, self._batch)
        self._restarted = False
        super().__init__(scaled_clock(opts.clock_rate) if opts.clock_rate else time.time)
        self.batches = 0
        self.link_opens = 0
        self._tap = Tap(self._tap_into)

    async def write(self, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        """Validate, write, and wait for the MCU's echo; never applied after ``timeout``."""
        rec = self.binding.record(name, value)  # WriteRefused before anything is queued
        if self._state is not SourceState.READY:
            return WriteOutcome(name, value, False, f"the meter is not ready ({self._state.value})")
        loop = asyncio.get_running_loop()
        now = loop.time()
        wid = self.session.write([rec], now, expires=now + timeout)
        fut: asyncio.Future[ev.WriteResult] = loop.create_future()
        self._writes[wid] = fut
        self._wake()
        try:
            res = await asyncio.wait_for(asyncio.shield(fut), timeout + 1.0)
        except TimeoutError:
            self._abandon(wid)
            return WriteOutcome(name, value, False, "no answer in time (the write was cancelled)")
        except asyncio.CancelledError:
            self._abandon(wid)  # the caller stopped waiting: the write must not happen later
            raise
        return WriteOutcome(name, value, res.ok, res.error, res.attempts, self.binding.echoed(res.echoed))

    def diagnostics(self) -> dict[str, object]:
        s, d, b = self.session.stats, self.session.decoder.stats, self.binding.stats
        age = None
        if self._bursts.last_update is not None:
            age = round(asyncio.get_running_loop().time() - self._bursts.last_update, 1)
        return {
            "state": self._state.value,
            "state_detail": self.detail,
            "frames_in": s.frames_in,
            "frames_out": s.frames_out,
            "checksum_errors": d.checksum_errors,
            "resyncs": d.resyncs,
            "garbage_bytes": d.garbage_bytes,
            "malformed": s.malformed,
            "unknown_commands": s.unknown_commands,
            "timeouts": s.timeouts,
            "mcu_restarts": s.mcu_restarts,
            "link_downs": s.link_downs,
            "link_opens": self.link_opens,
            "writes_ok": s.writes_ok,
            "writes_failed": s.writes_failed,
            "unknown_dps": b.unknown_dps,
            "type_mismatches": b.type_mismatches,
            "batches_dropped": self.batches_dropped,
            "seconds_since_report": age,
            "heard_from_mcu": self.session.last_rx is not None,
        }

    def recent_traffic(self) -> list[TrafficLine]:
        return mcu_lines(self._look(), self.binding, to_wall(asyncio.get_running_loop().time))

    def _tap_into(self, ring: deque[tuple[float, bool, Frame]] | None) -> None:
        self.session.recent = ring

    # -- the connection loop ---------------------------------------------------

    def _abandon(self, write_id: int) -> None:
        self.session.cancel_write(write_id, asyncio.get_running_loop().time())
        self._writes.pop(write_id, None)
        self._wake()

    def _wake(self) -> None:
        if self._pump is not None:
            self._pump.wake()

    async def _run(self) -> None:
        backoff = Backoff(initial=0.5, maximum=self.options.reconnect_max)
        last_error = ""
        loop = asyncio.get_running_loop()
        while True:
            if last_error:
                self._state = SourceState.CONNECTING  # retrying: said once already
            elif self._state is not SourceState.CONNECTING:
                self._set_state(SourceState.CONNECTING, f"opening {self.url}")
            try:
                link = await open_link(self.link_url, self.options.baud or self.profile.baud)
            except LinkError as e:
                if str(e) != last_error:
                    self._set_state(SourceState.DOWN, f"cannot open link: {e}")
                    last_error = str(e)
                await asyncio.sleep(backoff.next())
                continue
            last_error = ""
            self.link_opens += 1
            self._clock = getattr(link, "clock", None) or self._clock
            self._set_state(SourceState.HANDSHAKING, f"link open ({link.description}); handshaking")
            try:
                self._pump = SessionPump(link, self.session)
                await self._pump.run(self._on_events, self._on_events_now)
            except LinkError as e:
                self.session.connection_lost(loop.time(), str(e))
                await self._on_events(self.session.events(), loop.time())
                self._bursts.flush()
                self._set_state(SourceState.DOWN, f"link lost: {e}")
            finally:
                self._pump = None
                await link.close()
            await asyncio.sleep(backoff.next())
            if self.session.link_up:
                backoff.reset()

    async def _on_events(self, events: list[ev.Event], now: float) -> float | None:
        return self._on_events_now(events, now)

    def _on_events_now(self, events: list[ev.Event], now: float) -> float | None:
        bursts = self._bursts
        i = bursts.take(events, 0)  # nearly every event: the reports of one chunk
        while i < len(events):
            self._on_event(events[i])
            i = bursts.take(events, i + 1)
        return bursts.due(now)

    def _on_event(self, e: ev.Event) -> None:
        if isinstance(e, ev.LinkUp):
            info: dict[str, object] = {
                "product": e.product_info,
                "product_id": e.product_id,
                "protocol_version": e.protocol_version,
                "working_mode": working_mode_text(e.working_mode),
            }
            detail = f"link up (MCU protocol v{e.protocol_version}, product {e.product_id})"
            self._set_state(SourceState.READY, detail, info)
        elif isinstance(e, ev.LinkDown):
            self._bursts.flush()
            self._set_state(SourceState.HANDSHAKING, f"link down: {e.reason}")
        elif isinstance(e, ev.McuRestarted):
            log.warning("%s: MCU restarted", self.url)
            self._restarted = True
        elif isinstance(e, ev.WriteResult):
            fut = self._writes.pop(e.write_id, None)
            if fut is not None and not fut.done():
                fut.set_result(e)

    def _batch(self, readings: tuple[Reading, ...]) -> None:
        restarted, self._restarted = self._restarted, False
        self.batches += 1
        self._emit(Batch(self.clock(), readings, restarted))
