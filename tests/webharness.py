"""A real gateway serving the web page, in a thread of its own, for the API and browser tests:
emulated meters (sim://), a SQLite store seeded with weeks of history, uvicorn on a free port."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from e2e import wait_until
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.profiles import find_profile
from tuyameter.store.base import Record
from tuyameter.store.sqlite import SqliteStore
from tuyameter.util.backoff import Backoff
from tuyameter.web.output import WebOutput
from tuyameter.web.settings import WebSettings

ZONE = "Europe/Berlin"
HISTORY_DAYS = 40
#: events in the seeded history: (seconds before now, kind, text)
SEEDED_EVENTS = [
    (6 * 3600, "reset", "energy_forward_a: counter reset (power cut?); seeded"),
    (3 * 86400, "glitch", "energy_reverse_b: lone low reading ignored; seeded"),
]


@dataclass
class Served:
    url: str
    gateway: Gateway
    web: WebOutput
    db: Path
    loop: asyncio.AbstractEventLoop

    def call(self, coro: object, timeout: float = 10.0) -> object:
        """Run a coroutine on the gateway's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]


def seed_history(db: Path, meter: str, days: int, now: float) -> None:
    """Readings every 20 minutes over ``days`` days up to an hour ago: counters rising, both ways."""
    store = SqliteStore(db, rollup_zone=ZONE)
    rng = random.Random(7)
    totals = {"energy_forward_a": 0.0, "energy_reverse_a": 0.0, "energy_forward_b": 0.0, "energy_reverse_b": 0.0,
              "energy_forward_total": 0.0, "energy_reverse_total": 0.0}  # fmt: skip
    t = now - days * 86400
    records = []
    while t < now - 3600:
        for k in totals:
            totals[k] += rng.uniform(0, 80) if "forward" in k else rng.choice((0.0, rng.uniform(0, 120)))
        power = {"power_a": rng.uniform(50, 900), "power_b": rng.uniform(-1500, 5), "power_total": 0.0}
        power["power_total"] = power["power_a"] + power["power_b"]
        events = tuple((t, kind, text) for (ago, kind, text) in SEEDED_EVENTS if now - ago <= t < now - ago + 1200)
        records.append(Record(meter, t, dict(power), dict(totals), {}, power, events))
        t += 1200
    store.record_many(records)
    store.close()


@contextmanager
def serve(
    tmp: Path,
    *,
    token: str | None = None,
    store: bool = True,
    meters: int = 2,
    speed: float = 30.0,
    history_days: int = HISTORY_DAYS,
    quirks: str = "",
) -> Iterator[Served]:
    """``quirks``: added to every meter's sim:// URL (``&quirk=reboot=60``)."""
    db = tmp / "web.db"
    now = dt.datetime.now(dt.UTC).timestamp()
    if store:
        seed_history(db, "m1", history_days, now)
    profile = find_profile("pj1103a")
    cfgs = [
        MeterConfig(
            f"m{i + 1}", f"sim://pj1103a?speed={speed:g}&seed={i + 1}&start=11:00{quirks}", suppress_lone_zeros=True
        )
        for i in range(meters)
    ]
    web = WebOutput(WebSettings("127.0.0.1", 0, token))
    url = web.open()
    ready: Future[Served] = Future()
    stop = threading.Event()

    async def main() -> None:
        gw = Gateway(
            cfgs,
            {c.id: profile for c in cfgs},
            store=(lambda: SqliteStore(db, rollup_zone=ZONE)) if store else None,
            outputs=[web],
            zone=ZoneInfo(ZONE),
            restart_backoff=lambda: Backoff(initial=0.05, maximum=0.3),
        )
        async with gw:
            ready.set_result(Served(url, gw, web, db, asyncio.get_running_loop()))
            while not stop.is_set():
                await asyncio.sleep(0.05)

    def thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # pragma: no cover - shown by the test that waits
            if not ready.done():
                ready.set_exception(e)
            raise

    th = threading.Thread(target=thread, name="gateway", daemon=True)
    th.start()
    served = ready.result(30)
    wait_until(web.listening.is_set, 10, "web page listening")
    wait_until(lambda: all(served.gateway.latest(c.id) is not None for c in cfgs), 30, "every meter reporting")
    try:
        yield served
    finally:
        stop.set()
        th.join(30)
        assert not th.is_alive(), "the gateway did not stop"
