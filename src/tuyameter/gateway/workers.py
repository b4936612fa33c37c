"""Several gateway processes for one fleet (``tuyameter run -c FLEET --workers N``).

One Python process follows a few thousand meters on one core; beyond that the meters are
shared out between worker processes, each a whole gateway (its own event loop, sources,
store writer and MQTT client) on its own core:

- a meter's worker is a stable hash of its id (CRC-32 modulo N), so adding or removing one
  meter leaves every other where it was (its store lease, its broker session);
- each worker has its own bridge name (``w0`` …, or ``<bridge>-w0`` …), hence its own MQTT
  client id, availability topic and last will: a dead worker marks only its meters
  unavailable in Home Assistant;
- they share the store (per-meter leases keep two processes from writing one meter) and the
  broker;
- the supervisor restarts a worker that dies (backoff 1 s doubling to 60 s) and stops them
  all (SIGTERM, then SIGKILL after a grace time) when it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tuyameter.util.backoff import Backoff

GRACE = 15.0  # seconds a worker has to stop cleanly before it is killed
#: exit codes after which a worker is not started again: done (a --duration, a SIGTERM of its own), Ctrl-C
FINAL_CODES = (0, 130)

_M = TypeVar("_M")


def worker_of(meter_id: str, workers: int) -> int:
    """The worker (0 … workers-1) that follows this meter: the same in every process and run."""
    return zlib.crc32(meter_id.encode("utf-8")) % workers


def share(meters: Sequence[_M], worker: int, workers: int, key: Callable[[_M], str]) -> list[_M]:
    """The meters one worker follows, in their configured order."""
    return [m for m in meters if worker_of(key(m), workers) == worker]


def worker_bridge(bridge: str | None, worker: int) -> str:
    """A worker's bridge name: its own MQTT client id, availability topic and last will."""
    return f"{bridge}-w{worker}" if bridge else f"w{worker}"


def parse_worker(text: str) -> tuple[int, int]:
    """``K/N`` → (K, N), for the hidden ``--worker`` option the supervisor gives each worker."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit()) or not 0 <= int(k) < int(n):
        raise ValueError(f"--worker wants K/N with 0 <= K < N, not {text!r}")
    return int(k), int(n)


@dataclass
class WorkerState:
    index: int
    pid: int | None = None
    starts: int = 0
    exit_code: int | None = None


class WorkerSupervisor:
    """Runs ``command + ['--worker', 'K/N']`` for each K, restarts the ones that die, stops them all."""

    def __init__(
        self,
        command: Sequence[str],
        workers: int,
        *,
        describe: Callable[[int], str] = lambda k: "",
        backoff_max: float = 60.0,
        grace: float = GRACE,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``env``: the workers' environment (default: this process's)."""
        self.command = list(command)
        self.env = dict(env) if env is not None else None
        self.workers = [WorkerState(k) for k in range(workers)]
        self._describe = describe
        self._backoff_max = backoff_max
        self._grace = grace
        self._procs: dict[int, asyncio.subprocess.Process] = {}

    async def run(self) -> int:
        """Until every worker has finished (or this task is cancelled: then all are stopped).
        Returns the highest exit code of the workers' last runs."""
        try:
            await asyncio.gather(*(self._keep(w) for w in self.workers))
        finally:
            await asyncio.shield(self._stop_all())
        return max((w.exit_code or 0) for w in self.workers)

    async def _keep(self, w: WorkerState) -> None:
        backoff = Backoff(initial=1.0, maximum=self._backoff_max)
        n = len(self.workers)
        while True:
            proc = await asyncio.create_subprocess_exec(*self.command, "--worker", f"{w.index}/{n}", env=self.env)
            self._procs[w.index] = proc
            w.pid, w.starts = proc.pid, w.starts + 1
            what = self._describe(w.index)
            _say(f"worker {w.index}/{n}: pid {proc.pid}" + (f", {what}" if what else ""))
            started = asyncio.get_running_loop().time()
            w.exit_code = code = await proc.wait()
            del self._procs[w.index]
            if code in FINAL_CODES:
                return
            if asyncio.get_running_loop().time() - started > self._backoff_max:
                backoff.reset()  # it ran a good while: this is a new failure, not the same one again
            delay = backoff.next()
            _say(f"worker {w.index}/{n} (pid {proc.pid}) exited with {_exit_text(code)}; restarting in {delay:.0f} s")
            await asyncio.sleep(delay)

    async def _stop_all(self) -> None:
        procs = list(self._procs.values())
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), self._grace)
        except TimeoutError:
            for p in procs:
                if p.returncode is None:
                    _say(f"worker pid {p.pid} did not stop within {self._grace:.0f} s: killed")
                    with contextlib.suppress(ProcessLookupError):
                        p.kill()
            await asyncio.gather(*(p.wait() for p in procs))


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"code {code}"


def _say(text: str) -> None:
    print(f"tuyameter run: {text}", file=sys.stderr, flush=True)
