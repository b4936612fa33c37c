"""The gateway's cost per received chunk, without sockets: a TuyaMCU source's link fed an emulated
meter's report bursts in 16-byte chunks (a bridge's pace at 9600 baud) through the link's own
callback, as the event loop would deliver them; the source's session, pump (fast lane) and handler
run as in the gateway; its batches are counted (the pipeline per update is ``gateway.py``'s).
Used by ``run.py``."""

from __future__ import annotations

import asyncio
import time

from gateway import cycles

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.pipeline.events import Batch
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.source import TuyaMcuSource
from tuyameter.transport import tcp

CHUNK = 16


class _Transport(asyncio.Transport):
    """Takes the source's writes for the emulator (no socket)."""

    def __init__(self, emu: Pj1103aEmulator) -> None:
        super().__init__()
        self.emu = emu

    now = 0.0  # the emulator's clock

    def write(self, data: bytes) -> None:
        self.emu.receive_data(data, self.now)

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def close(self) -> None:
        pass


async def per_chunk(cycles_n: int) -> tuple[float, int, int]:
    """CPU seconds per chunk once the link is up, chunks and batches measured."""
    loop = asyncio.get_running_loop()
    emu = Pj1103aEmulator(seed=5, report_rate=3, speed=1.0)
    links: list[tcp.TcpLink] = []
    wire = _Transport(emu)

    async def fake_open(host: str, port: int, description: str) -> tcp.TcpLink:
        link = tcp.TcpLink(description)
        link.connection_made(wire)
        links.append(link)
        return link

    real_open, tcp.open_tcp = tcp.open_tcp, fake_open  # type: ignore[assignment]
    batches = 0
    try:
        async with TuyaMcuSource("socket://127.0.0.1:9", find_profile("pj1103a")) as source:

            async def consume() -> None:
                nonlocal batches
                async for item in source.readings():
                    batches += isinstance(item, Batch)

            consumer = asyncio.ensure_future(consume())
            t = loop.time()
            while not links and not consumer.done():
                await asyncio.sleep(0)
            if consumer.done():
                consumer.result()  # the source's error
            for _ in range(20):  # the handshake, in real time (its frames are spaced), and a few reports
                await asyncio.sleep(0.05)
                t += 3.0
                wire.now = t
                emu.tick(t)
                data = emu.data_to_send()
                for i in range(0, len(data), CHUNK):
                    links[0].data_received(data[i : i + CHUNK])
            traffic = [[burst[i : i + CHUNK] for i in range(0, len(burst), CHUNK)] for burst in cycles(7, cycles_n)]
            await asyncio.sleep(0)
            chunks, b0, link = 0, batches, links[0]
            t0 = time.process_time()
            for burst in traffic:
                for chunk in burst:
                    link.data_received(chunk)
                chunks += len(burst)
                await asyncio.sleep(0)  # the batch to its consumer, as the loop runs it between bursts
            cpu = time.process_time() - t0
            consumer.cancel()
    finally:
        tcp.open_tcp = real_open  # type: ignore[assignment]
    return cpu / chunks, chunks, batches - b0


if __name__ == "__main__":
    cpu, chunks, batches = asyncio.run(per_chunk(2000))
    print(f"{cpu * 1e6:.2f} µs CPU per chunk ({chunks} chunks, {batches} batches)")
