"""The gateway: supervised meters, the store writer and the outputs, on one TaskGroup.

```python
async with Gateway(meters, profiles, store=lambda: open_store(path), outputs=[console, mqtt]) as gw:
    async for update in gw.updates():
        ...
```

Each meter runs in its own supervised task: source → :class:`MeterPipeline` →
outputs and store writer. An exception anywhere in a meter's path (its source,
model, accountant, an output's handling of its update) is logged with the meter
id, counted, and that meter alone restarts with backoff; the others go on. The
store is only ever touched by the writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

from tuyameter.energy.periods import local_zone, window_start
from tuyameter.gateway.meter_config import MeterConfig
from tuyameter.gateway.pipeline import MeterPipeline
from tuyameter.pipeline.events import (
    Batch,
    MeterStatus,
    MeterUpdate,
    Output,
    SourceState,
    SourceStatus,
    TrafficLine,
)
from tuyameter.pipeline.writes import WriteOutcome, WriteRefused, validate_write
from tuyameter.profiles.model import Profile, Value
from tuyameter.sources.base import Source, SourceFactory, source_factory
from tuyameter.store.base import NoStore, Record, Store
from tuyameter.store.writer import StoreWriter
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

SUBSCRIBER_QUEUE = 1000
#: writes one meter may have waiting; more are answered "busy" at once (a flood of commands
#: must not queue minutes of writes, each of which the caller has long given up on)
MAX_PENDING_WRITES = 8
RETENTION_EVERY = 3600.0


class GatewayConfigError(ValueError):
    """The meters as configured cannot run (unknown URL kind, channel not in the profile, …)."""


@runtime_checkable
class RunningOutput(Output, Protocol):
    """An output with a life of its own (a connection): the gateway runs and supervises it."""

    async def run(self, gateway: GatewayApi) -> None: ...


class GatewayApi(Protocol):
    """What an output may ask of the gateway."""

    zone: dt.tzinfo

    @property
    def meter_ids(self) -> list[str]: ...

    def profile(self, meter: str) -> Profile: ...

    def latest(self, meter: str) -> MeterUpdate | None: ...

    def status(self, meter: str) -> MeterStatus | None: ...

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome: ...

    def diagnostics(self, meter: str) -> dict[str, object]: ...

    def traffic(self, meter: str) -> list[TrafficLine]: ...

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T: ...


@dataclass
class _Meter:
    cfg: MeterConfig
    profile: Profile
    factory: SourceFactory
    pipeline: MeterPipeline | None = None
    source: Source | None = None
    status: MeterStatus | None = None
    latest: MeterUpdate | None = None
    restarts: int = 0
    errors: int = 0
    last_error: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    pending_writes: int = 0
    writes_busy: int = 0


class Gateway:
    def __init__(
        self,
        meters: Sequence[MeterConfig],
        profiles: Mapping[str, Profile],
        *,
        store: Callable[[], Store] | None = None,
        outputs: Sequence[Output] = (),
        keep_days: float = 90.0,
        zone: dt.tzinfo | None = None,
        restart_backoff: Callable[[], Backoff] = lambda: Backoff(initial=1.0, maximum=30.0),
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.zone = zone or local_zone()
        self.outputs = list(outputs)
        self.keep_days = keep_days
        self._open_store = store
        self._restart_backoff = restart_backoff
        self._wall = wall_clock
        self.writer: StoreWriter | None = None
        self._meters: dict[str, _Meter] = {}
        for m in meters:
            if m.id in self._meters:
                raise GatewayConfigError(f"meter id {m.id!r} is used twice")
            profile = profiles.get(m.id)
            if profile is None:
                raise GatewayConfigError(f"meter {m.id}: no profile given")
            for ch in m.late_direction:
                if ch not in profile.channels:
                    raise GatewayConfigError(
                        f"meter {m.id}: late_direction channel {ch!r} is not one of {profile.channels}"
                    )
            try:
                factory = source_factory(m.url)
                factory(m.url, profile, m.source_options())  # validates the URL; not started
            except ValueError as e:
                raise GatewayConfigError(f"meter {m.id}: {e}") from None
            self._meters[m.id] = _Meter(m, profile, factory)
        self._subscribers: list[asyncio.Queue[MeterUpdate]] = []
        self._tasks: asyncio.TaskGroup | None = None
        self._own: list[asyncio.Task[None]] = []
        self.output_errors = 0

    # -- life cycle ------------------------------------------------------------

    async def __aenter__(self) -> Gateway:
        if self._open_store is not None:
            self.writer = StoreWriter(self._open_store, claim=list(self._meters))
            await self.writer.start()  # StoreError: the caller says so and stops
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        tg = self._tasks
        self._own = [tg.create_task(self._supervise(m), name=f"meter {m.cfg.id}") for m in self._meters.values()]
        for out in self.outputs:
            if isinstance(out, RunningOutput):
                self._own.append(tg.create_task(self._run_output(out), name=f"output {type(out).__name__}"))
        if self.writer is not None:
            self._own.append(tg.create_task(self._retention(self.writer), name="retention"))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._tasks is not None
        for t in self._own:
            t.cancel()
        try:
            # The body's own exception propagates as it is, not wrapped in a group:
            # the supervised tasks never fail, they are only cancelled here.
            await self._tasks.__aexit__(None, None, None)
        finally:
            self._tasks = None
            self._own.clear()
            if self.writer is not None:
                await self.writer.close()

    async def serve(self) -> None:
        """Run until cancelled."""
        await asyncio.Event().wait()

    # -- what callers and outputs use ----------------------------------------------

    @property
    def meter_ids(self) -> list[str]:
        return list(self._meters)

    def profile(self, meter: str) -> Profile:
        return self._meters[meter].profile

    def updates(self) -> AsyncIterator[MeterUpdate]:
        """Every update from now on; a subscriber that falls behind loses its oldest ones."""
        q: asyncio.Queue[MeterUpdate] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.append(q)

        async def it() -> AsyncIterator[MeterUpdate]:
            try:
                while True:
                    yield await q.get()
            finally:
                self._subscribers.remove(q)

        return it()

    def latest(self, meter: str) -> MeterUpdate | None:
        return self._meters[meter].latest

    def status(self, meter: str) -> MeterStatus | None:
        return self._meters[meter].status

    async def wait_ready(self, meter: str, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._meters[meter].ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        """Validate against the meter's profile and write; WriteRefused says why not."""
        m = self._meters.get(meter)
        if m is None:
            raise WriteRefused(f"no meter {meter!r} (known: {', '.join(self._meters)})")
        validate_write(m.profile, name, value)
        if m.source is None:
            return WriteOutcome(name, value, False, "the meter is not ready (its source is not running)")
        if m.pending_writes >= MAX_PENDING_WRITES:
            m.writes_busy += 1
            return WriteOutcome(name, value, False, f"busy: {m.pending_writes} writes to {meter} are waiting")
        m.pending_writes += 1
        log.info("%s: writing %s = %r", meter, name, value)
        try:
            res = await m.source.write(name, value, timeout)
        finally:
            m.pending_writes -= 1
        if res.ok:
            echoed = ", ".join(f"{k} = {v!r}" for k, v in res.echoed.items()) or "no echo"
            log.info("%s: %s = %r confirmed by the meter (%s; %d attempt(s))", meter, name, value, echoed, res.attempts)
        else:
            log.warning("%s: %s = %r not applied: %s", meter, name, value, res.error)
        return res

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T:
        """Run ``fn(store)`` in the store's own thread, never on the event loop (after the writes queued
        before it); :class:`NoStore` when the gateway keeps none."""
        if self.writer is None:
            raise NoStore("this gateway keeps no store (it runs with --no-store)")
        return await self.writer.call(fn, timeout=timeout)

    def traffic(self, meter: str) -> list[TrafficLine]:
        """The meter's link: its last frames both ways, decoded (none while its source restarts)."""
        source = self._meters[meter].source
        return source.recent_traffic() if source is not None else []

    def diagnostics(self, meter: str) -> dict[str, object]:
        m = self._meters[meter]
        d: dict[str, object] = {
            "online": m.status.online if m.status else False,
            "updates": m.pipeline.updates if m.pipeline else 0,
        }
        if m.source is not None:
            d |= m.source.diagnostics()
        if m.pipeline is not None:
            ms, counts = m.pipeline.meter.stats, m.pipeline.accountant.counts
            d |= {
                "lone_zeros_suppressed": ms.lone_zeros_suppressed,
                "late_direction_missing": ms.late_direction_missing,
                "held_released": ms.held_released,
                "implausible_readings": ms.implausible,
                "counter_resets": counts.get("reset", 0),
                "counter_glitches": counts.get("lone_zero", 0),
                "implausible_jumps": counts.get("implausible_jump", 0),
                "counters_rebased": counts.get("rebased", 0),
                "clock_jumps": counts.get("clock_jump", 0),
                "events_not_kept": m.pipeline.events.dropped,
            }
        d |= {"meter_restarts": m.restarts, "meter_errors": m.errors, "last_error": m.last_error,
              "writes_pending": m.pending_writes, "writes_busy": m.writes_busy}  # fmt: skip
        if self.writer is not None:
            s = self.writer.stats
            d |= {"store_errors": s.store_errors, "store_dropped": s.store_dropped, "store_queued": self.writer.queued}
        return d

    # -- one meter, supervised -----------------------------------------------------

    async def _supervise(self, m: _Meter) -> None:
        backoff = self._restart_backoff()
        while True:
            try:
                if m.pipeline is None:
                    m.pipeline = await self._new_pipeline(m)
                else:
                    m.pipeline.restart_model()
                async with m.factory(m.cfg.url, m.profile, m.cfg.source_options()) as source:
                    m.source = source
                    async for item in source.readings():
                        if isinstance(item, Batch):
                            await self._on_batch(m, item)
                        else:
                            await self._on_status(m, item)
                            if item.state is SourceState.READY:
                                backoff.reset()
                raise RuntimeError("the source ended")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                m.errors += 1
                m.restarts += 1
                m.last_error = f"{type(e).__name__}: {e}"
                delay = backoff.next()
                log.error("meter %s failed (%s); restarting it in %.1f s", m.cfg.id, m.last_error, delay,
                          exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip
                m.source = None
                m.ready.clear()
                with contextlib.suppress(Exception):
                    await self._publish_status(m, MeterStatus(m.cfg.id, self._now(), False, f"failed: {e}"))
                await asyncio.sleep(delay)
            finally:
                m.source = None

    async def _new_pipeline(self, m: _Meter) -> MeterPipeline:
        saved = None
        history = self.writer is not None
        if self.writer is not None:
            saved = await self.writer.call(lambda s: s.load_state(m.cfg.id), timeout=30)
        p = MeterPipeline(
            m.cfg.id, m.profile, m.cfg.meter_options(), self.zone, saved_state=saved, keeps_history=history
        )
        if self.writer is not None:
            now = self._wall()
            start = window_start(dt.datetime.fromtimestamp(now, self.zone)).timestamp()
            rows = await self.writer.call(lambda s: s.energy_rows(m.cfg.id, start, now + 1), timeout=30)
            last = await self.writer.call(lambda s: s.last_record(m.cfg.id), timeout=30)
            p.resume(rows, last, now)
        return p

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._wall(), self.zone)

    async def _on_batch(self, m: _Meter, batch: Batch) -> None:
        assert m.pipeline is not None
        update, record = m.pipeline.on_batch(batch, self._wall())
        await self._publish(m, update, record)

    async def _on_status(self, m: _Meter, s: SourceStatus) -> None:
        online = s.state is SourceState.READY
        if online:
            m.ready.set()
        else:
            m.ready.clear()
            if m.pipeline is not None and m.source is not None:
                released = m.pipeline.release_held(m.source.clock(), self._wall())
                if released is not None:
                    await self._publish(m, *released)
        await self._publish_status(m, MeterStatus(m.cfg.id, self._now(), online, s.detail, s.info, s.state))

    async def _publish(self, m: _Meter, update: MeterUpdate, record: Record) -> None:
        if self.writer is not None:
            self.writer.record(record)
        m.latest = update
        for q in self._subscribers:
            if q.full():
                q.get_nowait()
            q.put_nowait(update)
        for out in self.outputs:
            await out.update(update)

    async def _publish_status(self, m: _Meter, st: MeterStatus) -> None:
        prev = m.status
        if prev is not None and prev.online == st.online and prev.detail == st.detail:
            return
        m.status = st = dataclasses.replace(st, diagnostics=self.diagnostics(m.cfg.id) | {"online": st.online})
        for out in self.outputs:
            await out.status(st)

    # -- outputs and housekeeping ---------------------------------------------------

    async def _run_output(self, out: RunningOutput) -> None:
        backoff = self._restart_backoff()
        while True:
            try:
                await out.run(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.output_errors += 1
                delay = backoff.next()
                log.error("output %s failed (%s: %s); restarting it in %.1f s", type(out).__name__,
                          type(e).__name__, e, delay)  # fmt: skip
                await asyncio.sleep(delay)

    async def _retention(self, writer: StoreWriter) -> None:
        while True:
            before = self._wall() - self.keep_days * 86400
            try:
                await writer.call(functools.partial(_purge, before=before), timeout=600)
            except Exception as e:
                log.warning("store: retention failed (%s); trying again later", e)
            await asyncio.sleep(RETENTION_EVERY)


def _purge(store: Store, before: float) -> int:
    return store.purge_readings(before)
