"""A worker's line to the process that supervises it, for the fleet's one web page (``--workers``).

The supervisor listens on a Unix socket in a directory only its user can enter and names it in
``TUYAMETER_FLEET_SOCKET``; each worker's :class:`FleetLink` (one more output of its gateway)
connects, says which worker it is, hands over what it knows of its meters (latest update and
status), then streams every update and status change, and answers the supervisor's calls for
its meters: a setting's write, the diagnostics, the link's last frames.

Messages are pickled Python objects behind a 4-byte length, both ways between two processes of
one user that started each other; a message longer than :data:`MAX_MESSAGE` ends the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
from typing import Any

from tuyameter.pipeline.events import MeterStatus, MeterUpdate
from tuyameter.pipeline.writes import WriteRefused
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)

FLEET_SOCKET_ENV = "TUYAMETER_FLEET_SOCKET"
MAX_MESSAGE = 16 * 2**20
#: updates and statuses held while the supervisor is away or slow; beyond it the oldest go (a
#: reconnect sends every meter's latest anyway)
MAX_PENDING = 10_000


class FleetLinkError(RuntimeError):
    """The other side sent what this protocol does not allow."""


async def send(writer: asyncio.StreamWriter, message: object) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    if len(data) > MAX_MESSAGE:
        raise FleetLinkError(f"a message of {len(data)} bytes is longer than {MAX_MESSAGE}")
    writer.write(len(data).to_bytes(4, "big") + data)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> Any:
    """The next message; IncompleteReadError when the other side has gone."""
    n = int.from_bytes(await reader.readexactly(4), "big")
    if n > MAX_MESSAGE:
        raise FleetLinkError(f"a message of {n} bytes announced, more than {MAX_MESSAGE}")
    data = await reader.readexactly(n)
    try:
        return pickle.loads(data)
    except Exception as e:  # whatever the bytes were, the line is broken, not the process
        raise FleetLinkError(f"not a message ({type(e).__name__}: {e})") from None


class FleetLink:
    """A worker's output to its supervisor (a running output: the gateway supervises it)."""

    def __init__(self, path: str, worker: int) -> None:
        self.path, self.worker = path, worker
        self.dropped = 0
        self._pending: list[tuple[str, MeterUpdate | MeterStatus]] = []
        self._wake = asyncio.Event()

    async def update(self, u: MeterUpdate) -> None:
        self._put(("update", u))

    async def status(self, s: MeterStatus) -> None:
        self._put(("status", s))

    def _put(self, item: tuple[str, MeterUpdate | MeterStatus]) -> None:
        if len(self._pending) >= MAX_PENDING:
            del self._pending[: MAX_PENDING // 10]
            self.dropped += MAX_PENDING // 10
        self._pending.append(item)
        self._wake.set()

    async def run(self, gateway: Any) -> None:
        """Connect (again, with backoff, while the supervisor's socket is away) and serve."""
        backoff = Backoff(initial=0.2, maximum=5.0)
        said = False
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
            except OSError as e:
                if not said:
                    log.warning("worker %d: cannot reach the supervisor at %s: %s", self.worker, self.path, e)
                    said = True
                await asyncio.sleep(backoff.next())
                continue
            said = False
            backoff.reset()
            try:
                await self._serve(gateway, reader, writer)
            except (OSError, asyncio.IncompleteReadError, FleetLinkError) as e:
                log.warning("worker %d: the line to the supervisor's web page broke: %s", self.worker, e)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            await asyncio.sleep(backoff.next())

    async def _serve(self, gateway: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lock = asyncio.Lock()
        ids = list(gateway.meter_ids)
        self._pending.clear()  # what the snapshot holds
        snapshot: list[tuple[str, MeterUpdate | MeterStatus]] = []
        for m in ids:
            u, st = gateway.latest(m), gateway.status(m)
            snapshot += [("update", u)] if u is not None else []
            snapshot += [("status", st)] if st is not None else []
        async with lock:
            await send(writer, ("hello", self.worker, os.getpid(), snapshot))
        calls: set[asyncio.Task[None]] = set()

        async def answer(call_id: int, op: str, args: tuple[Any, ...]) -> None:
            try:
                reply: tuple[Any, ...] = ("reply", call_id, True, await _call(gateway, op, args))
            except WriteRefused as e:
                reply = ("reply", call_id, False, ("refused", str(e)))
            except Exception as e:  # the supervisor's page shows it; this worker goes on
                reply = ("reply", call_id, False, ("failed", f"{type(e).__name__}: {e}"))
            async with lock:
                await send(writer, reply)

        async def pump() -> None:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch:
                    async with lock:
                        await send(writer, ("batch", batch))

        pumping = asyncio.ensure_future(pump())
        try:
            while True:
                msg = await receive(reader)
                if not (isinstance(msg, tuple) and len(msg) == 4 and msg[0] == "call"):
                    raise FleetLinkError(f"unexpected message {str(msg)[:80]!r}")
                task = asyncio.ensure_future(answer(msg[1], msg[2], msg[3]))
                calls.add(task)
                task.add_done_callback(calls.discard)
        finally:
            pumping.cancel()
            for t in calls:
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, FleetLinkError):
                await pumping


async def _call(gateway: Any, op: str, args: tuple[Any, ...]) -> object:
    meter = args[0]
    if meter not in gateway.meter_ids:
        raise KeyError(f"worker has no meter {meter!r}")
    if op == "write":
        return await gateway.write(*args)
    if op == "diagnostics":
        return gateway.diagnostics(meter)
    if op == "traffic":
        return gateway.traffic(meter)
    raise FleetLinkError(f"unknown call {op!r}")
