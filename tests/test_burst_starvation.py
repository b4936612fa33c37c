"""A process starved for a moment mid-burst must not split the report burst in two.

The loop is blocked (as by a slow disk or a busy core) for 0.45 s every 0.9 s while a real
emulator behind a pty sends its 9600-baud report bursts: every burst still comes out as one
batch, because bytes are taken with their time of arrival and everything already received is
taken before the burst's settle deadline is looked at.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from e2e import start_sim
from tuyameter.pipeline.events import Batch
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu import TuyaMcuSource

pytestmark = pytest.mark.slow


def test_a_starved_loop_does_not_split_report_bursts() -> None:
    sim, path = start_sim("--pty", "--quiet", "--report-rate", "3")

    async def main() -> list[set[str]]:
        loop = asyncio.get_running_loop()

        def starve() -> None:
            time.sleep(0.45)  # the whole event loop stands still
            loop.call_later(0.45, starve)

        batches: list[set[str]] = []
        async with TuyaMcuSource(path, find_profile("pj1103a")) as src:
            async for item in src.readings():
                if isinstance(item, Batch):
                    batches.append({name for name, _ in item.readings})
                    if len(batches) == 1:
                        loop.call_later(0.1, starve)
                    if len(batches) >= 7:
                        return batches
        return batches

    try:
        batches = asyncio.run(asyncio.wait_for(main(), 40))
    finally:
        sim.stop()
    cycles = batches[1:]  # the first is the answer to the query of the handshake
    for names in cycles:
        assert {"voltage", "power_a", "power_b", "energy_forward_a", "energy_reverse_total"} <= names, sorted(names)
