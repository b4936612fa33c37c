"""N emulated PJ-1103A meters on stock firmware, each on its own loopback TCP port, in one process.

Prints one tuya:// URL per line, then 'ready'. Every STATUS it pushes carries DP 200 = the
wall time in ms when it was sent (bench only), so the follower can measure latency.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

from tuyameter.emulator.lan_serve import LanServer
from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.stock_module import StockModule
from tuyameter.profiles import find_profile
from tuyameter.tuyalan.device import DeviceSession

_push = DeviceSession.push


def _stamped(self: DeviceSession, dps: dict[str, Any]) -> None:
    _push(self, dps | {"200": int(time.time() * 1000)} if dps else dps)


DeviceSession.push = _stamped  # type: ignore[method-assign]


async def main(n: int, version: str) -> None:
    profile = find_profile("pj1103a")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    servers = []
    for i in range(n):
        emu = Pj1103aEmulator(seed=i + 1, report_rate=3)
        key = f"{i:016x}".encode()
        server = LanServer(StockModule(emu, profile, f"bf{i:020d}", key, version), "127.0.0.1", 0)
        await server.start()
        servers.append(server)
        print(server.url(), flush=True)
    print("ready", flush=True)
    await asyncio.gather(*(s.serve(stop) for s in servers))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
