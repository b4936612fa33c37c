"""The web page in a real browser (Debian's chromium, driven by Playwright) against a real gateway:
it loads without console errors, live values change, the day bars are what `tuyameter energy`
prints, a setting round-trips and an out-of-range one is refused, and it fits a phone."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from e2e import run_cli
from webharness import ZONE, Served, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("browser")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium missing: .ci/run must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """A browser tab that collects console errors and failed requests."""

    def __init__(self, browser: object, **context: object) -> None:
        self.ctx = browser.new_context(**context)  # type: ignore[attr-defined]
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"{r.url}: {r.failure}"))
        self.page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else
                     self.errors.append(f"request elsewhere: {r.url}"))  # fmt: skip

    def close(self) -> None:
        self.ctx.close()


def shot(page: object, name: str) -> None:
    """Screenshots for the docs, when TUYAMETER_SCREENSHOTS names a directory."""
    where = os.environ.get("TUYAMETER_SCREENSHOTS")
    if where:
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def text_changes(page: object, selector: str, timeout_ms: int = 20000) -> None:
    first = page.text_content(selector)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, was]) => { const e = document.querySelector(sel); return e && e.textContent !== was; }",
        arg=[selector, first],
        timeout=timeout_ms,
    )


def test_the_overview_loads_cleanly_and_lives(served: Served, browser: object) -> None:
    t = Page(browser)
    t.page.goto(served.url)
    t.page.wait_for_selector("#overview-power-m1")
    assert t.page.locator("#overview .tile").count() == 2
    text_changes(t.page, "#overview-power-m1")
    t.page.wait_for_selector("#conn.on")  # the live stream is open
    shot(t.page, "overview")
    assert t.errors == []
    t.close()


def shows_three_decimals(shown: str | None, value: float) -> bool:
    """The page prints kWh with three decimals. JavaScript rounds an exact tie
    (2.3125) up and Python to even, so the text must be within half a unit of
    the value rather than equal to Python's own rounding."""
    return shown is not None and len(shown.partition(".")[2]) == 3 and abs(float(shown) - value) <= 0.0005 + 1e-9


def test_a_meters_page_its_live_values_and_day_bars(served: Served, browser: object) -> None:
    t = Page(browser, viewport={"width": 1200, "height": 1000})
    t.page.goto(served.url + "#/meter/m1")
    t.page.wait_for_selector("#live-power_total")
    text_changes(t.page, "#live-power_total")
    t.page.wait_for_selector("#power-chart canvas")
    last = dt.datetime.now(ZoneInfo(ZONE)).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=20)
    t.page.fill("#energy-start", str(first))
    t.page.dispatch_event("#energy-start", "change")
    t.page.fill("#energy-end", str(last))
    t.page.dispatch_event("#energy-end", "change")
    t.page.wait_for_selector(f'#energy-table tr[data-period="{first}"]')
    t.page.wait_for_selector("#energy-chart canvas")
    cli = run_cli("energy", "--db", str(served.db), "--by", "day", "--json", "--tz", ZONE, "--meter", "m1",
                  "--from", str(first), "--to", str(last))  # fmt: skip
    days = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(days) == 21
    for d in days:
        row = t.page.locator(f'#energy-table tr[data-period="{d["period"]}"]')
        cells = (("import", "energy_forward_total"), ("export", "energy_reverse_total"), ("net", "net_total"))
        for cell, name in cells:
            shown = row.locator(f"td.{cell}").text_content()
            assert shows_three_decimals(shown, d["kwh"][name]), (d["period"], cell, shown, d["kwh"][name])
    shot(t.page, "meter")
    assert t.errors == []
    t.close()


def test_data_events_mark_the_power_graph_and_the_links_last_frames_show(served: Served, browser: object) -> None:
    t = Page(browser, viewport={"width": 1200, "height": 1000})
    t.page.goto(served.url + "#/meter/m1")
    t.page.wait_for_selector("#power-chart canvas")
    t.page.select_option("#power-range", "86400")
    t.page.wait_for_selector('#power-events li[data-kind="reset"]')
    assert t.page.locator("#power-events li").count() == 1  # the glitch three days ago is outside 24 hours
    assert "seeded" in t.page.text_content("#power-events li")
    marked = t.page.evaluate(
        """() => { const u = state.charts.power; const e = state.events[0];
                   return e.time >= u.scales.x.min && e.time <= u.scales.x.max; }"""
    )
    assert marked  # the event lies within the drawn range, where the plugin draws its line
    t.page.select_option("#power-range", "604800")
    t.page.wait_for_selector('#power-events li[data-kind="glitch"]')
    t.page.click("#frames-box summary")
    t.page.wait_for_selector("#frames tr.in")
    assert "DP_REPORT" in t.page.text_content("#frames")
    assert "power_a=" in t.page.text_content("#frames")
    shot(t.page, "link")
    assert t.errors == []
    t.close()


def test_settings_round_trip_and_refusals_show_in_the_page(served: Served, browser: object) -> None:
    t = Page(browser)
    t.page.goto(served.url + "#/meter/m2")
    t.page.wait_for_selector("#setting-report_rate")
    t.page.fill("#setting-report_rate", "5")
    t.page.click("#set-report_rate")
    t.page.wait_for_selector("#write-result.ok")
    assert "report_rate = 5: confirmed by the meter" in t.page.text_content("#write-result")
    assert served.gateway.latest("m2").private.get("report_rate") == 5 or _echoed(served)
    t.page.fill("#setting-report_rate", "99")
    t.page.click("#set-report_rate")
    t.page.wait_for_selector("#write-result.error")
    assert "refused" in t.page.text_content("#write-result") and "outside 3..60" in t.page.text_content("#write-result")
    t.page.fill("#setting-report_rate", "10")
    t.page.click("#set-report_rate")
    t.page.wait_for_selector("#write-result.ok")
    # the browser logs the refusal's 422 response itself; nothing else may appear
    assert [e for e in t.errors if "status of 422" not in e] == [] and len(t.errors) == 1
    t.close()


def _echoed(served: Served) -> bool:
    from e2e import wait_until

    wait_until(lambda: served.gateway.latest("m2").private.get("report_rate") == 5, 20, "report rate 5 reported")
    return True


def test_it_fits_a_phone(served: Served, browser: object) -> None:
    t = Page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    t.page.goto(served.url + "#/meter/m1")
    t.page.wait_for_selector("#energy-chart canvas")
    t.page.wait_for_selector("#power-chart canvas")
    overflow = t.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px wider than the phone"
    shot(t.page, "phone")
    assert t.errors == []
    t.close()
