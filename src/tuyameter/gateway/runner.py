"""Drive one meter: open its link, run the TuyaMCU session, turn DPs into updates.

Reconnects by itself (with backoff) when the link fails or the MCU restarts;
writes are validated against the profile before they reach the device.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from tuyameter.energy.accountant import Accountant
from tuyameter.energy.periods import PERIOD_SUFFIXES, summarize, window_start
from tuyameter.gateway.types import MeterStatus, MeterUpdate, Output
from tuyameter.meter import MeterOptions, MeterState
from tuyameter.profiles.model import Profile, Value
from tuyameter.store.base import Store
from tuyameter.transport.links import Link, LinkError, open_link, parse_link_url
from tuyameter.transport.session_pump import SessionPump
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.session import Session, SessionConfig

log = logging.getLogger(__name__)

SETTLE = 0.15  # quiet time that ends a report burst
MAX_HOLD = 1.0  # longest a burst is held before an update goes out anyway


@dataclass
class MeterConfig:
    id: str
    url: str
    profile: str = "pj1103a"
    baud: int | None = None
    late_direction: list[str] = field(default_factory=list)
    suppress_lone_zeros: bool = False
    wifi_state: int | None = None
    heartbeat_interval: float = 10.0
    time_scale: float | None = None  # an emulator's --speed; default: from a sim:// URL, else 1


class WriteRefused(ValueError):
    """A write that the profile does not allow (read-only, out of range, unknown)."""


def validated_write(profile: Profile, name: str, value: Value) -> DPRecord:
    """The DP record for writing ``value`` to ``name``, or :class:`WriteRefused` saying why not."""
    spec = profile.by_name().get(name)
    if spec is None:
        writable = ", ".join(d.name for d in profile.dps if d.writable)
        raise WriteRefused(f"{profile.name} has no DP named {name!r}; writable: {writable}")
    if not spec.writable:
        raise WriteRefused(f"{name} is read-only")
    try:
        raw = spec.to_raw(value)
    except ValueError as e:
        raise WriteRefused(str(e)) from None
    return DPRecord.make(spec.dp, spec.type, bool(raw) if spec.type is DPType.BOOL else raw)


def _time_scale(url: str) -> float:
    try:
        lu = parse_link_url(url)
        return max(1.0, float(lu.params.get("speed", ["1"])[-1])) if lu.kind == "sim" else 1.0
    except (LinkError, ValueError):
        return 1.0


def now_local() -> dt.datetime:
    return dt.datetime.now().astimezone()


class MeterRunner:
    def __init__(
        self,
        cfg: MeterConfig,
        profile: Profile,
        outputs: list[Output],
        *,
        clock: Callable[[], dt.datetime] = now_local,
        reconnect_max: float = 10.0,
        store: Store | None = None,
    ) -> None:
        self.cfg, self.profile, self.outputs, self.clock = cfg, profile, outputs, clock
        self.reconnect_max = reconnect_max
        wifi = cfg.wifi_state if cfg.wifi_state is not None else profile.wifi_state
        self.session = Session(
            SessionConfig(wifi_state=wifi, heartbeat_interval=cfg.heartbeat_interval),
            local_time=dt.datetime.now,
        )
        self.meter = MeterState(profile, MeterOptions(frozenset(cfg.late_direction), cfg.suppress_lone_zeros))
        self.store = store
        saved = store.load_state(cfg.id) if store is not None else None
        self.accountant = Accountant.from_dict(profile, saved) if saved else Accountant(profile)
        # An emulator running faster than real time moves its counters faster too.
        self.accountant.time_scale = cfg.time_scale or _time_scale(cfg.url)
        self.online = False
        self.link: Link | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump: SessionPump | None = None
        self._changed: set[str] = set()
        self._burst_start: float | None = None
        self._last_dp: float = 0.0
        self._last_dp_any: float | None = None
        self._mcu_restarted = False
        self._period_names = [f"{d.name}_{p}" for d in profile.dps if d.counter for p in PERIOD_SUFFIXES]
        self._writes: dict[int, asyncio.Future[ev.WriteResult]] = {}
        self.updates = 0
        self.link_ready = asyncio.Event()

    # -- public ------------------------------------------------------------

    async def run(self) -> None:
        """Run forever (cancel to stop)."""
        self._loop = asyncio.get_running_loop()
        delay = 0.5
        last_error = ""
        while True:
            try:
                self.link = await open_link(self.cfg.url, self.cfg.baud or self.profile.baud)
            except LinkError as e:
                if str(e) != last_error:
                    await self._status(False, f"cannot open link: {e}")
                    last_error = str(e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay, last_error = 0.5, ""
            try:
                await self._drive(self.link)
            except LinkError as e:
                self.session.connection_lost(self._loop.time(), str(e))
                await self._handle_events(self.session.events())
                if self.online:
                    self.online = False
                    self.link_ready.clear()
                    await self._status(False, f"link lost: {e}")
            finally:
                await self.link.close()
                self.link = None
            await asyncio.sleep(0.2)

    async def write(self, name: str, value: Value, timeout: float = 5.0) -> ev.WriteResult:
        """Validate against the profile and write one DP; returns the MCU's verdict."""
        rec = validated_write(self.profile, name, value)
        loop = asyncio.get_running_loop()
        wid = self.session.write([rec], loop.time())
        fut: asyncio.Future[ev.WriteResult] = loop.create_future()
        self._writes[wid] = fut
        if self._pump is not None:
            self._pump.wake()
        return await asyncio.wait_for(fut, timeout)

    def diagnostics(self) -> dict[str, object]:
        """Link health and data-quality counters, for humans, MQTT diagnostics and tests."""
        s, d, m = self.session.stats, self.session.decoder.stats, self.meter.stats
        last = self.session.last_rx
        age = None
        if self._loop is not None and self._last_dp_any is not None:
            age = round(self._loop.time() - self._last_dp_any, 1)
        return {
            "online": self.online,
            "updates": self.updates,
            "frames_in": s.frames_in,
            "frames_out": s.frames_out,
            "checksum_errors": d.checksum_errors,
            "resyncs": d.resyncs,
            "garbage_bytes": d.garbage_bytes,
            "timeouts": s.timeouts,
            "mcu_restarts": s.mcu_restarts,
            "link_downs": s.link_downs,
            "writes_ok": s.writes_ok,
            "writes_failed": s.writes_failed,
            "lone_zeros_suppressed": m.lone_zeros_suppressed,
            "counter_resets": self.accountant.counts.get("reset", 0),
            "counter_glitches": self.accountant.counts.get("lone_zero", 0),
            "implausible_jumps": self.accountant.counts.get("implausible_jump", 0),
            "unknown_dps": m.unknown_dps,
            "seconds_since_report": age,
            "heard_from_mcu": last is not None,
        }

    # -- internals ---------------------------------------------------------

    async def _status(self, online: bool, detail: str, info: dict[str, object] | None = None) -> None:
        st = MeterStatus(self.cfg.id, self.clock(), online, detail, info or {})
        for out in self.outputs:
            await out.status(st)

    async def _drive(self, link: Link) -> None:
        self._pump = SessionPump(link, self.session)
        await self._pump.run(self._on_events)

    async def _on_events(self, events: list[ev.Event], now: float) -> float | None:
        await self._handle_events(events)
        if self._burst_start is None:
            return None
        due = min(self._last_dp + SETTLE, self._burst_start + MAX_HOLD)
        if now < due:
            return due
        await self._flush()
        return None

    async def _handle_events(self, events: list[ev.Event]) -> None:
        for e in events:
            if isinstance(e, ev.DPUpdate):
                self._changed |= self.meter.apply(e.records)
                self._last_dp = e.time
                self._last_dp_any = e.time
                if self._burst_start is None:
                    self._burst_start = e.time
            elif isinstance(e, ev.LinkUp):
                self.online = True
                self.link_ready.set()
                info: dict[str, object] = {
                    "product": e.product_info,
                    "product_id": e.product_id,
                    "protocol_version": e.protocol_version,
                }
                await self._status(True, f"link up (MCU protocol v{e.protocol_version}, product {e.product_id})", info)
            elif isinstance(e, ev.LinkDown):
                if self._burst_start is not None:
                    await self._flush()
                self.online = False
                self.link_ready.clear()
                await self._status(False, f"link down: {e.reason}")
            elif isinstance(e, ev.McuRestarted):
                log.warning("%s: MCU restarted", self.cfg.id)
                self._mcu_restarted = True
            elif isinstance(e, ev.WriteResult):
                fut = self._writes.pop(e.write_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(e)

    async def _flush(self) -> None:
        self._burst_start = None
        changed, self._changed = self._changed, set()
        now = self.clock()
        values = self.meter.snapshot()
        private = {k: v for k, v in self.meter.values.items() if k not in values}
        # The energy names carry the accountant's monotonic totals; the meter's own
        # counters stay available as <name>_meter.
        ts = now.timestamp()
        restarted, self._mcu_restarted = self._mcu_restarted, False
        for e in self.accountant.update(ts, self.meter.values, restarted):
            log.warning("%s: %s %s (meter counter %.2f kWh, total kept at %.3f kWh)",
                        self.cfg.id, e.name, e.event.value, e.counter_kwh, e.total_kwh)  # fmt: skip
        for name, total in self.accountant.totals_kwh().items():
            if name in values:
                values[f"{name}_meter"] = values[name]
                values[name] = round(total, 3)
                changed.add(name)
        if self.store is not None:
            totals_wh = {n: s.total_wh for n, s in self.accountant.streams.items() if s.last_counter is not None}
            self.store.record(self.cfg.id, ts, values | private, totals_wh, self.accountant.to_dict())
            rows = self.store.energy_rows(self.cfg.id, window_start(now).timestamp(), ts + 1)
            values |= dict.fromkeys(self._period_names, 0.0) | summarize(rows, now)
        u = MeterUpdate(self.cfg.id, now, values, frozenset(changed), private)
        self.updates += 1
        for out in self.outputs:
            await out.update(u)
