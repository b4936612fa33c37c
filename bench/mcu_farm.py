"""N emulated PJ-1103A meters behind TCP ports (as behind ser2net bridges), in one process.

``mcu_farm.py N REPORT_S [--aligned]``: prints one socket:// URL per line, then 'ready'. Each meter
sends its report bursts paced at 9600 baud, on its own timer: the meters' report phases are
spread over the period as meters powered on at different times are (``--aligned``: all at once,
the worst case). Unlike ``sim --tcp`` (which ticks every 20 ms
so one meter answers at once), each meter here sleeps until its next report or until
bytes come in, so one process can play thousands of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys

from tuyameter.emulator.pj1103a import Pj1103aEmulator

BYTE_TIME = 10.0 / 9600
CHUNK = 16


class Meter(asyncio.Protocol):
    def __init__(self, emu: Pj1103aEmulator) -> None:
        self.emu = emu
        self.transport: asyncio.Transport | None = None
        self.wake = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.emu.receive_data(data, asyncio.get_running_loop().time())
        self.wake.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def play(m: Meter, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        now = loop.time()
        m.emu.tick(now)
        data = m.emu.data_to_send()
        for i in range(0, len(data), CHUNK):
            if m.transport is not None:
                m.transport.write(data[i : i + CHUNK])
            await asyncio.sleep(min(len(data) - i, CHUNK) * BYTE_TIME)
        m.wake.clear()
        wait = max(0.001, m.emu.next_deadline(loop.time()) - loop.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(m.wake.wait(), wait)


async def main(n: int, report_s: int, aligned: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    meters = []
    phases = random.Random(n)
    for i in range(n):
        phase = None if aligned else phases.uniform(0, report_s)
        m = Meter(Pj1103aEmulator(seed=i + 1, report_rate=report_s, report_phase=phase))
        server = await loop.create_server(lambda m=m: m, "127.0.0.1", 0)
        meters.append(m)
        print(f"socket://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    print("ready", flush=True)
    await asyncio.gather(*(play(m, stop) for m in meters))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), "--aligned" in sys.argv[3:]))
