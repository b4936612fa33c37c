"""``sim://`` links: an emulator in the same process, driven by the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time

from tuyameter.emulator.factory import build_emulator, spec_from_params
from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.transport.links import LinkError, LinkUrl, register_link_kind

#: Longest sleep between emulator ticks (its physics step); it wakes earlier for a report.
TICK = 0.25


class SimLink:
    def __init__(self, emulator: Pj1103aEmulator, description: str) -> None:
        self.description = description
        self.emulator = emulator
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._pump())
        # The emulator's clock (accelerated by its speed), for energy integration.
        self._t0, self._m0 = time.time(), self._loop.time()

    def clock(self) -> float:
        return self._t0 + (self._loop.time() - self._m0) * self.emulator.speed

    async def _pump(self) -> None:
        while True:
            now = self._loop.time()
            self.emulator.tick(now)
            self._drain()
            wait = self.emulator.next_deadline(now) - now
            await asyncio.sleep(min(TICK, max(wait, 0.001)))

    def _drain(self) -> None:
        out = self.emulator.data_to_send()
        if out:
            self._queue.put_nowait(out)

    async def read(self) -> bytes:
        return await self._queue.get()

    async def write(self, data: bytes) -> None:
        self.emulator.receive_data(data, self._loop.time())
        self._drain()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def open_sim_link(lu: LinkUrl) -> SimLink:
    try:
        spec = spec_from_params(lu.target, lu.params)
        emulator = build_emulator(spec)
    except ValueError as e:
        raise LinkError(f"sim://{lu.target}: {e}") from e
    return SimLink(emulator, f"sim://{lu.target}")


def check_sim_url(lu: LinkUrl) -> None:
    try:
        build_emulator(spec_from_params(lu.target, lu.params))
    except ValueError as e:
        raise LinkError(f"sim://{lu.target}: {e}") from e


register_link_kind("sim", open_sim_link, check_sim_url)
