"""The store writer: the database lives in its own thread, behind a bounded queue.

The event loop only enqueues (never waits for a commit). The thread takes what
has queued up — one reading when it keeps up, many when it is behind — and writes
it in one transaction. When the database fails (disk full, server gone) it logs
the real error once, counts it, reopens the store with backoff and writes the same
batch again; readings keep flowing to the outputs meanwhile. The queue is bounded:
when it is full the oldest reading goes (counted as ``store_dropped``); the energy
it carried is not lost, because each reading holds the accountant's totals and the
next one written spreads what flowed since the last one kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from tuyameter.store.base import Record, Store, StoreError
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUEUE = 20_000
MAX_BATCH = 500


@dataclass
class WriterStats:
    written: int = 0
    transactions: int = 0
    store_errors: int = 0
    store_dropped: int = 0
    queued: int = 0
    last_error: str | None = None


@dataclass
class _Call:
    fn: Callable[[Store], Any]
    future: Future[Any]


_STOP = object()


class StoreWriter:
    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        max_queue: int = MAX_QUEUE,
        max_batch: int = MAX_BATCH,
        backoff: Backoff | None = None,
        claim: Sequence[str] = (),
    ) -> None:
        self._open = open_store
        self._claim = tuple(claim)
        self._max_batch = max_batch
        self._jobs: queue.Queue[object] = queue.Queue()
        self._records: queue.Queue[Record] = queue.Queue(max_queue)
        self._backoff = backoff or Backoff(initial=0.2, maximum=10.0)
        self._store: Store | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._wake = threading.Event()
        self.stats = WriterStats()

    # -- the event loop's side: never blocks ---------------------------------

    async def start(self) -> None:
        """Open the store in the writer thread; a store that cannot be opened raises StoreError."""
        self._store = await asyncio.to_thread(self._open_checked)
        self._thread = threading.Thread(target=self._run, name="store writer", daemon=True)
        self._thread.start()

    def record(self, r: Record) -> None:
        while True:
            try:
                self._records.put_nowait(r)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._records.get_nowait()
                    self.stats.store_dropped += 1
        self._wake.set()

    async def call(self, fn: Callable[[Store], T], timeout: float | None = None) -> T:
        """Run ``fn(store)`` in the writer thread (reads, retention) after what is queued."""
        fut: Future[T] = Future()
        self._jobs.put(_Call(fn, fut))
        self._wake.set()
        return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)

    async def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for up to ``timeout`` s), then close the store."""
        self._closing.set()
        self._jobs.put(_STOP)
        self._wake.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, timeout)
        if self._thread is None or not self._thread.is_alive():
            self._close_store()

    @property
    def queued(self) -> int:
        return self._records.qsize()

    # -- the writer thread ----------------------------------------------------

    def _open_checked(self) -> Store:
        """Open the store and take the leases of the meters written (again after every reopen)."""
        try:
            store = self._open()
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(str(e).strip() or type(e).__name__) from e
        try:
            store.claim(self._claim)
        except BaseException as e:
            with contextlib.suppress(Exception):
                store.close()
            if isinstance(e, StoreError) or not isinstance(e, Exception):
                raise
            raise StoreError(str(e).strip() or type(e).__name__) from e
        return store

    def _close_store(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.close()
            self._store = None

    def _run(self) -> None:
        stop = False
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop = True
                elif isinstance(job, _Call):
                    self._write_pending(stop)
                    self._call(job)
            self._write_pending(stop)
            if stop and self._records.empty():
                return

    def _call(self, job: _Call) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            job.future.set_result(job.fn(self._ensure_store()))
        except BaseException as e:
            job.future.set_exception(e)

    def _ensure_store(self) -> Store:
        if self._store is None:
            self._store = self._open_checked()
        return self._store

    def _write_pending(self, stopping: bool) -> None:
        while True:
            batch: list[Record] = []
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._records.get_nowait())
                except queue.Empty:
                    break
            self.stats.queued = self._records.qsize()
            if not batch:
                return
            self._write(batch, stopping)

    def _write(self, batch: list[Record], stopping: bool) -> None:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self._ensure_store().record_many(batch)
            except Exception as e:
                self.stats.store_errors += 1
                msg = f"{type(e).__name__}: {str(e).strip()}"
                if msg != self.stats.last_error:
                    log.error("store: %s; readings are kept in memory and written when it works again", msg)
                    self.stats.last_error = msg
                self._close_store()  # reopen next time: the connection may be broken
                if stopping and time.monotonic() > deadline:
                    log.error("store: gave up on %d reading(s) at shutdown", len(batch))
                    return
                time.sleep(self._backoff.next())
                continue
            if self.stats.last_error is not None:
                log.warning("store: writing again (%d readings)", len(batch))
                self.stats.last_error = None
            self._backoff.reset()
            self.stats.written += len(batch)
            self.stats.transactions += 1
            return
