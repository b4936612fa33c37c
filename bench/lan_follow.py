"""Follow meters on stock firmware for a while and report CPU, RSS, updates and latency.

``lan_follow.py gateway URLS_FILE SECONDS``: one tuyameter Gateway (no store) over tuya:// sources
(or socket:// TuyaMCU links, from ``mcu_farm.py``).
``lan_follow.py sources URLS_FILE SECONDS``: the tuya:// sources alone, without the meter pipeline.
``lan_follow.py gateway-mqtt URLS_FILE SECONDS``: the gateway publishing to a mosquitto it starts; the
latency is then from each update to the receipt of its state document by a subscriber in another
process (``mqtt_sub.py``).
``lan_follow.py gateway-pyserial URLS_FILE SECONDS``: the same over socket:// links, read by pyserial's
reader thread per link as before issue 13 (for the before/after rows).
``lan_follow.py tinytuya URLS_FILE SECONDS``: tuya-local's way: a thread and a persistent tinytuya
connection per device, status() every 3 s.
``lan_follow.py floor URLS_FILE SECONDS``: bare asyncio connections to ``floor.py server`` (no protocol):
what the event loop alone costs for the same traffic.
Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

WARMUP = 8.0


def _peak_rss_mb() -> float:
    """This process's own peak (VmHWM; ru_maxrss would carry the parent's across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _stats(t0: tuple[float, float], wall0: float, updates: int, lat: list[float]) -> dict[str, object]:
    cpu = (time.process_time() - t0[0]) / (time.perf_counter() - wall0)
    lat.sort()

    def q(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None

    return {"cpu": round(cpu, 4), "updates_per_s": round(updates / (time.perf_counter() - wall0), 1),
            "rss_mb": _peak_rss_mb(),
            "threads": threading.active_count(), "p50_ms": q(0.5), "p99_ms": q(0.99)}  # fmt: skip


class _Subscriber:
    """``mqtt_sub.py`` in its own process: update time in each state document → its arrival, in ms."""

    def __init__(self, port: int) -> None:
        import subprocess

        here = Path(__file__).parent
        self.p = subprocess.Popen([sys.executable, str(here / "mqtt_sub.py"), str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.p.stdout is not None and self.p.stdin is not None
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("the subscriber did not start")
        self.lat: list[float] = []

    def count(self) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write("count\n")
        self.p.stdin.flush()

    def stop(self) -> list[float]:
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write("stop\n")
        self.p.stdin.flush()
        self.lat = json.loads(self.p.stdout.readline())
        self.p.wait(10)
        return self.lat


async def gateway(urls: list[str], seconds: float, mqtt_port: int | None = None) -> dict[str, object]:
    from tuyameter.gateway import Gateway, MeterConfig
    from tuyameter.mqtt.output import MqttOutput
    from tuyameter.mqtt.settings import MqttSettings
    from tuyameter.pipeline import MeterStatus, MeterUpdate
    from tuyameter.profiles import find_profile
    from tuyameter.util.heap import settle_heap

    profile = find_profile("pj1103a")
    online: set[str] = set()
    lat: list[float] = []
    counting = False
    n = 0

    class Out:
        async def update(self, u: MeterUpdate) -> None:
            nonlocal n
            if counting:
                n += 1
                sent = u.values.get("dp200")
                if isinstance(sent, int):
                    lat.append(time.time() * 1000 - sent)

        async def status(self, s: MeterStatus) -> None:
            (online.add if s.online else online.discard)(s.meter)

    cfgs = [MeterConfig(f"m{i:04d}", u) for i, u in enumerate(urls)]
    outputs: list[object] = [Out()]
    sub = None
    if mqtt_port is not None:
        outputs.append(MqttOutput(MqttSettings("127.0.0.1", mqtt_port), {c.id: profile for c in cfgs}))
        sub = _Subscriber(mqtt_port)
    async with Gateway(cfgs, {c.id: profile for c in cfgs}, store=None, outputs=outputs):  # type: ignore[arg-type]
        end = time.monotonic() + 120
        while len(online) < len(urls) and time.monotonic() < end:
            await asyncio.sleep(0.2)
        settle_heap()  # as `tuyameter run` does once its gateway has started
        await asyncio.sleep(WARMUP)
        counting, t0, w0 = True, (time.process_time(), 0.0), time.perf_counter()
        if sub is not None:
            sub.count()
        await asyncio.sleep(seconds)
        out = _stats(t0, w0, n, sub.stop() if sub is not None else lat)
    return out | {"online": len(online)}


async def sources(urls: list[str], seconds: float) -> dict[str, object]:
    """The tuya:// sources alone (connection, crypto, binding), without the meter pipeline."""
    from tuyameter.pipeline.events import Batch, SourceState, SourceStatus
    from tuyameter.profiles import find_profile
    from tuyameter.sources.tuyalan import TuyaLanSource

    profile = find_profile("pj1103a")
    lat: list[float] = []
    ready: set[int] = set()
    counting = False
    n = 0

    async def follow(i: int, src: TuyaLanSource) -> None:
        nonlocal n
        async for item in src.readings():
            if isinstance(item, SourceStatus) and item.state is SourceState.READY:
                ready.add(i)
            elif isinstance(item, Batch) and counting:
                n += 1
                sent = dict(item.readings).get("dp200")
                if isinstance(sent, int):
                    lat.append(time.time() * 1000 - sent)

    srcs = [TuyaLanSource(u, profile) for u in urls]
    for s in srcs:
        await s.__aenter__()
    tasks = [asyncio.ensure_future(follow(i, s)) for i, s in enumerate(srcs)]
    end = time.monotonic() + 120
    while len(ready) < len(urls) and time.monotonic() < end:
        await asyncio.sleep(0.2)
    await asyncio.sleep(WARMUP)
    counting, t0, w0 = True, (time.process_time(), 0.0), time.perf_counter()
    await asyncio.sleep(seconds)
    out = _stats(t0, w0, n, lat)
    for t in tasks:
        t.cancel()
    for s in srcs:
        await s.__aexit__(None, None, None)
    return out | {"online": len(ready)}


def tinytuya_poll(urls: list[str], seconds: float) -> dict[str, object]:
    import tinytuya

    lat: list[float] = []
    n = 0
    counting = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()

    def poll(url: str) -> None:
        nonlocal n
        u = urlsplit(url)
        q = parse_qs(u.query)
        d = tinytuya.Device(u.username, u.hostname, q["key"][0], version=float(q["version"][0]), port=u.port,
                            persist=True)  # fmt: skip
        while not stop.is_set():
            t = time.time()
            st = d.status()
            if counting.is_set() and isinstance(st, dict) and "dps" in st:
                with lock:
                    n += 1
                    lat.append((time.time() - t) * 1000)
            stop.wait(3.0)
        d.close()

    threads = [threading.Thread(target=poll, args=(u,), daemon=True) for u in urls]
    for t in threads:
        t.start()
    time.sleep(WARMUP)
    counting.set()
    t0, w0 = (time.process_time(), 0.0), time.perf_counter()
    time.sleep(seconds)
    out = _stats(t0, w0, n, lat)
    stop.set()
    return out


if __name__ == "__main__":
    kind, path, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    urls = [x for x in Path(path).read_text().split() if x.startswith(("tuya://", "socket://"))]
    if kind == "gateway-pyserial":
        from tuyameter.transport import links

        links._plain_tcp = lambda target: None  # the old path, for comparison
        kind = "gateway"
    if kind == "tinytuya":
        res = tinytuya_poll(urls, secs)
    elif kind == "floor":
        from floor import client

        res = asyncio.run(client([int(u.rsplit(":", 1)[1]) for u in urls], secs))
    elif kind == "gateway-mqtt":  # publishing to a mosquitto of its own; latency = update → subscriber
        sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
        import tempfile

        from broker import Broker

        with tempfile.TemporaryDirectory() as d:
            # mosquitto holds small messages to subscribers for up to ~40 ms unless told (Nagle):
            # the latency measured is then mostly the broker's, so it is told, as docs/mqtt.md advises.
            broker = Broker(Path(d), extra="set_tcp_nodelay true\n")
            try:
                res = asyncio.run(gateway(urls, secs, broker.port))
            finally:
                broker.stop()
    else:
        res = asyncio.run(gateway(urls, secs) if kind == "gateway" else sources(urls, secs))
    print(json.dumps(res))
