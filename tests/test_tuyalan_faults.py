"""A stock meter that misbehaves on the LAN: resets, hangs up, comes back, answers with noise.
The source says why in words, backs off instead of storming, and energy never goes backwards."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time
from pathlib import Path

from broker import free_port
from e2e import Proc, start_sim, wait_until
from tuyameter.pipeline.events import SourceState, SourceStatus
from tuyameter.profiles.loader import find_profile
from tuyameter.sources.base import SourceOptions
from tuyameter.sources.tuyalan import TuyaLanSource


def test_a_device_that_resets_every_connection_is_not_stormed() -> None:
    async def main() -> tuple[list[float], list[str]]:
        accepted: list[float] = []

        async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(time.monotonic())
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()

        server = await asyncio.start_server(reset, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        url = f"tuya://bf01@127.0.0.1:{port}?version=3.4&key=0123456789abcdef"
        details: list[str] = []
        src = TuyaLanSource(url, find_profile("pj1103a"), SourceOptions(reconnect_max=1.0))
        async with src:

            async def watch() -> None:
                async for item in src.readings():
                    if isinstance(item, SourceStatus) and item.state is SourceState.DOWN:
                        details.append(item.detail)

            task = asyncio.ensure_future(watch())
            end = time.monotonic() + 20
            while len(accepted) < 3 and time.monotonic() < end:  # wait for the condition: three attempts
                await asyncio.sleep(0.05)
            task.cancel()
        server.close()
        return accepted, details

    accepted, details = asyncio.run(main())
    assert len(accepted) == 3
    # after a refusal the next attempt waits ≥ 3 × reconnect_max (here 3 s), not the usual 1 s backoff
    assert all(b - a >= 2.9 for a, b in itertools.pairwise(accepted)), accepted
    assert details and "local connection may be taken" in details[0]


def test_gateway_survives_the_meter_going_away_and_coming_back(tmp_path: Path) -> None:
    port = free_port()
    args = ("--lan", f"127.0.0.1:{port}", "--version", "3.5", "--key", "0123456789abcdef", "--device-id",
            "bf0123456789abcdefghij", "--report-rate", "3", "--announce", "none", "--quiet")  # fmt: skip
    sim, url = start_sim(*args)
    gw = Proc("run", url, "--id", "lan", "--json", "--db", str(tmp_path / "lan.db"))
    try:
        gw.wait_json(2, timeout=30)
        sim.stop(9)  # kill -9: the connection just dies
        wait_until(lambda: any("offline" in x for x in gw.err), 40, "the gateway notices")
        n = len(gw.json_lines())
        sim, _ = start_sim(*args)
        wait_until(lambda: len([x for x in gw.json_lines()[n:] if "values" in x]) >= 2, 40, "updates again")
    finally:
        gw.stop()
        sim.stop()
    totals = [x["values"]["energy_forward_total"] for x in gw.json_lines() if "values" in x]
    assert totals == sorted(totals)  # never backwards across the outage
