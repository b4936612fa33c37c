"""The web page's benchmark: first paint of a meter's page and of a year of daily bars in Debian's
chromium, and the API's latency for history beside the CLI's time for the same query."""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from webharness import ZONE, serve


def run(quick: bool) -> list[tuple[str, str, str]]:
    chromium = shutil.which("chromium")
    days = 60 if quick else 365
    runs = 3 if quick else 7
    out: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), history_days=days) as s:
        last = dt.datetime.now(ZoneInfo(ZONE)).date()
        first = last - dt.timedelta(days=days - 1)
        q = {"group": "day", "start": str(first), "end": str(last)}
        with httpx.Client(base_url=s.url, timeout=60) as c:
            times = []
            for _ in range(runs * 3):
                t0 = time.perf_counter()
                r = c.get("/api/meters/m1/energy", params=q)
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200 and len(r.json()["start"]) >= days - 1
            median = f"median {statistics.median(times) * 1000:.1f} ms"
            out.append((f"web API: {days} daily totals of one meter", median,
                        f"GET /api/meters/m1/energy?group=day, {len(times)} requests, HTTP on loopback, the gateway "
                        "running two emulated meters beside it"))  # fmt: skip
            now = time.time()
            times = []
            for _ in range(runs * 3):
                t0 = time.perf_counter()
                r = c.get("/api/meters/m1/power", params={"start": now - days * 86400, "end": now, "points": 1200})
                times.append(time.perf_counter() - t0)
            out.append((f"web API: power over {days} days", f"median {statistics.median(times) * 1000:.1f} ms",
                        f"min/mean/max in {len(r.json()['t'])} steps of {r.json()['step']} s from the per-minute "
                        f"statistics ({days * 72:,} minutes with a reading: one every 20 min); {len(times)} "
                        "requests"))  # fmt: skip
        cli = [sys.executable, "-m", "tuyameter", "energy", "--db", str(s.db), "--by", "day", "--json", "--tz", ZONE,
               "--meter", "m1", "--from", str(first), "--to", str(last)]  # fmt: skip
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cli, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        out.append((f"CLI: the same {days} daily totals", f"median {statistics.median(times) * 1000:.0f} ms",
                    f"`tuyameter energy --by day --json`, whole process (Python start-up included), "
                    f"{runs} runs"))  # fmt: skip
        if chromium is None:
            out.append(("web page first paint", "not measured", "Debian's chromium is not installed"))
            return out
        out.extend(_browser(s.url, chromium, first, last, runs))
    return out


def _browser(url: str, chromium: str, first: dt.date, last: dt.date, runs: int) -> list[tuple[str, str, str]]:
    from playwright.sync_api import sync_playwright

    paint, live, bars = [], [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(runs):
            ctx = b.new_context(viewport={"width": 1200, "height": 900})
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto(url + "#/meter/m1")
            page.wait_for_function("document.querySelector('#live-power_total')?.textContent.includes('W')")
            live.append(time.perf_counter() - t0)
            fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
            if fcp is not None:
                paint.append(fcp / 1000)
            page.wait_for_selector("#energy-chart canvas")
            t1 = time.perf_counter()
            page.fill("#energy-start", str(first))
            page.dispatch_event("#energy-start", "change")
            page.wait_for_selector(f'#energy-table tr[data-period="{first}"]')
            page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            bars.append(time.perf_counter() - t1)
            ctx.close()
        b.close()
    days = (last - first).days + 1
    return [
        ("web page: first contentful paint", f"median {statistics.median(paint) * 1000:.0f} ms",
         f"Debian chromium {runs} fresh loads of a meter's page (the browser's own measure)"),
        ("web page: meter page with live values", f"median {statistics.median(live) * 1000:.0f} ms",
         "from navigation to the live tiles filled (page, script, uPlot, profile, latest values)"),
        (f"web page: {days} daily bars drawn", f"median {statistics.median(bars) * 1000:.0f} ms",
         "from choosing the range to the chart and table drawn (API query included)"),
    ]  # fmt: skip
