"""The supervisor's side of ``--workers`` with a web page: every meter of the fleet in one backend.

The web page asks one backend for meters, values, writes and history (``web/backend.py``). With
the meters shared out between worker processes, :class:`FleetBackend` is that backend in the
supervising process: it listens on a Unix socket for its workers' :class:`FleetLink` lines, keeps
each meter's latest update and status from them (and hands both on to its outputs: the page's
live streams), sends a write, a diagnostics or a traffic call to the worker that follows the
meter, and reads history from the shared store in a thread of its own. A worker that is away
(dead, restarting) has its meters offline and its calls answered at once with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from tuyameter.gateway.fleet_link import FleetLinkError, receive, send
from tuyameter.gateway.workers import worker_of
from tuyameter.pipeline.events import MeterStatus, MeterUpdate, Output, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome, WriteRefused, validate_write
from tuyameter.profiles.model import Profile, Value
from tuyameter.store.base import NoStore, Store
from tuyameter.store.writer import StoreWriter

log = logging.getLogger(__name__)
T = TypeVar("T")

CALL_TIMEOUT = 5.0  # diagnostics and traffic; a write waits for its own timeout and this


class _Worker:
    """One connected worker: its stream and the calls waiting for its answer."""

    def __init__(self, index: int, pid: int, writer: asyncio.StreamWriter) -> None:
        self.index, self.pid, self.writer = index, pid, writer
        self.lock = asyncio.Lock()
        self.waiting: dict[int, asyncio.Future[tuple[bool, Any]]] = {}


class FleetBackend:
    def __init__(
        self,
        profiles: Mapping[str, Profile],
        workers: int,
        zone: dt.tzinfo,
        *,
        store: Callable[[], Store] | None = None,
        outputs: Sequence[Output] = (),
    ) -> None:
        """``profiles``: every meter of the fleet (in the configuration's order) and its profile."""
        self.zone = zone
        self.workers = workers
        self.outputs = list(outputs)
        self._profiles = dict(profiles)
        self._latest: dict[str, MeterUpdate] = {}
        self._status: dict[str, MeterStatus] = {}
        self._connected: dict[int, _Worker] = {}
        self._ids = itertools.count(1)
        self._store = StoreWriter(store) if store is not None else None
        self._server: asyncio.Server | None = None
        self.calls_failed = 0

    # -- what the web page asks ------------------------------------------------------

    @property
    def meter_ids(self) -> list[str]:
        return list(self._profiles)

    def profile(self, meter: str) -> Profile:
        return self._profiles[meter]

    def latest(self, meter: str) -> MeterUpdate | None:
        return self._latest.get(meter)

    def status(self, meter: str) -> MeterStatus | None:
        return self._status.get(meter)

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        if meter not in self._profiles:
            raise WriteRefused(f"no meter {meter!r} (known: {', '.join(self._profiles)})")
        validate_write(self._profiles[meter], name, value)  # refused here without a worker's round trip
        ok, res = await self._call(meter, "write", (meter, name, value, timeout), timeout + CALL_TIMEOUT)
        if ok:
            assert isinstance(res, WriteOutcome)
            return res
        kind, text = res
        if kind == "refused":
            raise WriteRefused(text)
        return WriteOutcome(name, value, False, text)

    async def diagnostics(self, meter: str) -> dict[str, object]:
        ok, res = await self._call(meter, "diagnostics", (meter,), CALL_TIMEOUT)
        k = worker_of(meter, self.workers)
        if ok:
            return {**res, "worker": k}
        st = self._status.get(meter)
        return {"online": bool(st and st.online), "worker": k, "error": res[1]}

    async def traffic(self, meter: str) -> list[TrafficLine]:
        ok, res = await self._call(meter, "traffic", (meter,), CALL_TIMEOUT)
        return list(res) if ok else []

    async def read_store(self, fn: Callable[[Store], T], timeout: float = 30.0) -> T:
        if self._store is None:
            raise NoStore("this fleet keeps no store (it runs with --no-store)")
        return await self._store.call(fn, timeout=timeout)

    # -- the workers' lines ----------------------------------------------------------

    async def start(self, path: str) -> None:
        """Open the store (StoreError if it cannot be) and listen for the workers on the Unix
        socket ``path`` (in a directory of this user's only)."""
        if self._store is not None:
            await self._store.start()
        self._server = await asyncio.start_unix_server(self._on_worker, path)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._connected.values()):
                w.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        if self._store is not None:
            await self._store.close()

    async def _on_worker(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        worker: _Worker | None = None
        try:
            hello = await receive(reader)
            if not (isinstance(hello, tuple) and len(hello) == 4 and hello[0] == "hello"):
                raise FleetLinkError(f"expected a worker's hello, got {str(hello)[:80]!r}")
            _, index, pid, snapshot = hello
            if not (isinstance(index, int) and 0 <= index < self.workers):
                raise FleetLinkError(f"no worker {index!r} in a fleet of {self.workers}")
            worker = _Worker(index, pid, writer)
            old = self._connected.get(index)
            if old is not None:
                old.writer.close()
            self._connected[index] = worker
            log.info("worker %d (pid %d) joined the web page with %d meters", index, pid, len(snapshot))
            await self._on_message(worker, ("batch", snapshot))  # what it knows of its meters now
            while True:
                await self._on_message(worker, await receive(reader))
        except (OSError, asyncio.IncompleteReadError, FleetLinkError) as e:
            if worker is not None and not isinstance(e, asyncio.IncompleteReadError):
                log.warning("worker %d's line broke: %s", worker.index, e)
        finally:
            writer.close()
            if worker is not None and self._connected.get(worker.index) is worker:
                del self._connected[worker.index]
                await self._gone(worker)

    async def _on_message(self, worker: _Worker, msg: object) -> None:
        """A batch of updates and statuses, or the answer to a call; anything else breaks the line."""
        match msg:
            case ("batch", list(items)):
                for item in items:
                    match item:
                        case ("update", MeterUpdate() as u) if u.meter in self._profiles:
                            await self._update(u)
                        case ("status", MeterStatus() as st) if st.meter in self._profiles:
                            await self._set_status(st)
                        case _:
                            raise FleetLinkError(f"unexpected item {str(item)[:80]!r}")
            case ("reply", int(call_id), bool(ok), answer):
                fut = worker.waiting.pop(call_id, None)
                if fut is not None and not fut.done():
                    fut.set_result((ok, answer))
            case _:
                raise FleetLinkError(f"unexpected message {str(msg)[:80]!r}")

    async def _gone(self, worker: _Worker) -> None:
        """The worker's meters are offline until it is back; its calls end now."""
        for fut in worker.waiting.values():
            if not fut.done():
                fut.set_result((False, ("failed", f"worker {worker.index} went away")))
        now = dt.datetime.now(dt.UTC)
        for meter in self._profiles:
            if worker_of(meter, self.workers) == worker.index:
                await self._set_status(MeterStatus(meter, now, False, f"worker {worker.index} is not running"))

    async def _update(self, u: MeterUpdate) -> None:
        self._latest[u.meter] = u
        for out in self.outputs:
            await out.update(u)

    async def _set_status(self, s: MeterStatus) -> None:
        self._status[s.meter] = s
        for out in self.outputs:
            await out.status(s)

    async def _call(self, meter: str, op: str, args: tuple[Any, ...], timeout: float) -> tuple[bool, Any]:
        """(True, the answer) or (False, (kind, why))."""
        k = worker_of(meter, self.workers)
        worker = self._connected.get(k)
        if worker is None:
            return False, ("failed", f"worker {k} of the fleet is not running")
        call_id = next(self._ids)
        fut: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        worker.waiting[call_id] = fut
        try:
            async with worker.lock:
                await send(worker.writer, ("call", call_id, op, args))
            return await asyncio.wait_for(fut, timeout)
        except (OSError, FleetLinkError) as e:
            self.calls_failed += 1
            return False, ("failed", f"worker {k}: {e}")
        except TimeoutError:
            self.calls_failed += 1
            return False, ("failed", f"worker {k} did not answer within {timeout:.0f} s")
        finally:
            worker.waiting.pop(call_id, None)
