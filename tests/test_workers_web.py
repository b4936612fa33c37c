"""One web page for a fleet shared out between worker processes (`run -c FLEET --workers N --web`).

The supervisor serves the page; each worker streams its meters' updates and statuses to it over a
Unix socket and answers its calls (writes, diagnostics, last frames); history comes from the shared
store. Run for real: the command, its two worker processes, emulated meters, a SQLite file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import pickle
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker import free_port
from e2e import Proc, wait_until
from tuyameter.gateway.fleet_backend import FleetBackend
from tuyameter.gateway.workers import worker_of
from tuyameter.profiles import find_profile

METERS = [f"m{i}" for i in range(6)]
OWNER = {m: worker_of(m, 2) for m in METERS}


def _fleet(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("meters:\n" + "".join(f"  - id: {m}\n    url: sim://pj1103a?speed=5&seed={i}\n"
                                            for i, m in enumerate(METERS)))  # fmt: skip
    return fleet


def _meters(c: httpx.Client) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in c.get("/api/meters").json()}


def _all_online(c: httpx.Client) -> bool:
    got = _meters(c)
    return list(got) == METERS and all(m["status"] and m["status"]["online"] and m["latest"] for m in got.values())


@pytest.mark.slow
def test_one_page_for_the_meters_of_every_worker(tmp_path: Path) -> None:
    assert set(OWNER.values()) == {0, 1}  # the test needs both workers busy
    one = next(m for m in METERS if OWNER[m] == 0)
    other = next(m for m in METERS if OWNER[m] == 1)
    port = free_port()
    db = tmp_path / "fleet.db"
    gw = Proc("run", "-c", str(_fleet(tmp_path)), "--workers", "2", "--db", str(db), "--web", f"127.0.0.1:{port}")
    try:
        gw.wait_line(lambda s: s.startswith("web page: "), timeout=20)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            wait_until(lambda: _all_online(c), 40, "every meter of both workers online with values")
            for m in (one, other):
                d = c.get(f"/api/meters/{m}/diagnostics").json()
                assert d["worker"] == OWNER[m] and d["online"] is True and d["frames_in"] > 0, d
            assert c.get("/api/meters/nope/diagnostics").status_code == 404

            # a write goes to the worker that follows the meter, and the meter's echo comes back
            r = c.post(f"/api/meters/{one}/settings/report_rate", json={"value": 7})
            assert r.status_code == 200 and r.json()["ok"] is True and r.json()["echoed"] == {"report_rate": 7}
            r = c.post(f"/api/meters/{other}/settings/report_rate", json={"value": 5000})
            assert r.status_code == 422 and "outside" in r.json()["detail"]

            # the link's last frames, from the worker's process
            c.get(f"/api/meters/{other}/traffic")  # the first look starts keeping them
            wait_until(lambda: any(line["command"] == "DP_REPORT" and line["readings"]
                                   for line in c.get(f"/api/meters/{other}/traffic").json()),
                       20, "reports among the last frames")  # fmt: skip

            # the live stream carries the updates of both workers' meters
            seen: set[str] = set()
            with c.stream("GET", "/api/events") as stream:
                kind = None
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "update":
                        seen.add(json.loads(line[6:])["meter"])
                        if {OWNER[m] for m in seen} == {0, 1}:
                            break

            # history from the store the workers write
            wait_until(lambda: c.get(f"/api/meters/{one}/energy").json().get("label"), 30, "a day in the store")

            # a worker killed: its meters offline, its calls answered at once; back when it is restarted
            pids = {int(ln.split("worker ")[1][0]): int(ln.split(": pid ")[1].split(",")[0])
                    for ln in gw.err if ": pid " in ln}  # fmt: skip
            os.kill(pids[0], signal.SIGKILL)
            wait_until(lambda: _meters(c)[one]["status"]["online"] is False, 20, f"{one} offline")
            assert "worker 0 is not running" in _meters(c)[one]["status"]["detail"]
            assert _meters(c)[other]["status"]["online"] is True
            r = c.post(f"/api/meters/{one}/settings/report_rate", json={"value": 8})
            assert r.status_code == 504 and "worker 0" in r.json()["error"]
            wait_until(lambda: _all_online(c), 40, "the restarted worker's meters online again")
            r = c.post(f"/api/meters/{one}/settings/report_rate", json={"value": 8})
            assert r.status_code == 200 and r.json()["ok"] is True
    finally:
        rc = gw.stop()
    assert rc == 0, gw.err[-10:]


def test_garbage_on_the_workers_socket_breaks_only_that_line(tmp_path: Path) -> None:
    """Whatever comes on the socket (not a hello, bytes that are no message, a length beyond the
    limit, a hello of a worker the fleet does not have), the backend drops that connection and goes on."""

    async def main() -> None:
        path = str(tmp_path / "w.sock")
        backend = FleetBackend({m: find_profile("pj1103a") for m in METERS}, 2, dt.UTC)
        await backend.start(path)
        try:
            for junk in (
                b"\x00\x00\x00\x05hello",
                b"\xff\xff\xff\xff",
                b"\x00\x00\x00\x03abc",
                _framed(pickle.dumps(("hello", 7, 1, []))),
                _framed(pickle.dumps(("hello", 0, 1, []))) + _framed(pickle.dumps(("batch", [("update", 3)]))),
            ):
                reader, writer = await asyncio.open_unix_connection(path)
                writer.write(junk)
                await writer.drain()
                assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the backend
                writer.close()
            assert backend.latest(METERS[0]) is None and not backend._connected
            # and it still takes a real worker's hello
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(_framed(pickle.dumps(("hello", 1, os.getpid(), []))))
            await writer.drain()
            await asyncio.wait_for(_until(lambda: 1 in backend._connected), 5)
            writer.close()
        finally:
            await backend.close()

    asyncio.run(main())


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


async def _until(pred: Callable[[], bool]) -> None:
    while not pred():
        await asyncio.sleep(0.01)
