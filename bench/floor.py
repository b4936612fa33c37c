"""The floor under any asyncio client of N devices: bare loopback connections, one request and one
answer per device every 3 s (the sizes of an UPDATEDPS and its ack + STATUS), no protocol at all.

``floor.py server N`` listens on N ports (prints them, then 'ready'); ``lan_follow.py floor URLS_FILE
SECONDS`` connects to them with :func:`client`: what the event loop alone costs.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

from lan_follow import WARMUP, _stats

REQUEST, ANSWER = b"q" * 124, b"a" * 368
PERIOD = 3.0


class _Device(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.t.write(ANSWER)


class _Client(asyncio.Protocol):
    answers = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: asyncio.Transport = transport  # type: ignore[assignment]
        self.loop = asyncio.get_running_loop()
        self.loop.call_later(random.uniform(0, PERIOD), self.ask)

    def ask(self) -> None:
        self.t.write(REQUEST)
        self.loop.call_later(PERIOD, self.ask)

    def data_received(self, data: bytes) -> None:
        _Client.answers += 1


async def server(n: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(n):
        s = await loop.create_server(_Device, "127.0.0.1", 0)
        print(f"socket://127.0.0.1:{s.sockets[0].getsockname()[1]}", flush=True)
    print("ready", flush=True)
    await asyncio.Event().wait()


async def client(ports: list[int], seconds: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    for p in ports:
        await loop.create_connection(_Client, "127.0.0.1", p)
    await asyncio.sleep(WARMUP)
    t0, w0, n0 = (time.process_time(), 0.0), time.perf_counter(), _Client.answers
    await asyncio.sleep(seconds)
    return _stats(t0, w0, _Client.answers - n0, [])


if __name__ == "__main__":
    asyncio.run(server(int(sys.argv[2])))
