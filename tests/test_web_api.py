"""The web API against a real gateway (emulated meters, a SQLite store with weeks of history,
uvicorn on a free loopback port), through a real HTTP client: every endpoint, its refusals,
the live stream, and the day totals compared with what `tuyameter energy` prints."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e import run_cli, wait_until
from webharness import HISTORY_DAYS, ZONE, Served, serve

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("web")) as s:
        yield s


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        yield c


def _yesterday() -> dt.date:
    return dt.datetime.now(ZoneInfo(ZONE)).date() - dt.timedelta(days=1)


def test_meters_and_one_meter_with_its_profile(client: httpx.Client) -> None:
    r = client.get("/api/meters")
    assert r.status_code == 200
    meters = {m["id"]: m for m in r.json()}
    assert set(meters) == {"m1", "m2"}
    assert meters["m1"]["status"]["online"] is True and "power_total" in meters["m1"]["latest"]["values"]
    one = client.get("/api/meters/m2").json()
    rate = next(q for q in one["profile"]["quantities"] if q["name"] == "report_rate")
    assert rate["range"] == [3, 60] and rate["kind"] == "number" and rate["access"] == "rw"
    reset = next(q for q in one["profile"]["quantities"] if q["name"] == "reset_coefficients_a")
    assert reset["kind"] == "button" and "calibration_voltage" in reset["resets"]
    assert one["profile"]["power_names"] == ["power_a", "power_b", "power_total"]
    diag = client.get("/api/meters/m1/diagnostics").json()
    assert diag["online"] is True and diag["frames_in"] > 0 and diag["checksum_errors"] == 0


@pytest.mark.parametrize("path", ["/api/meters/nope", "/api/meters/nope/diagnostics", "/api/meters/nope/energy",
                                  "/api/meters/nope/power", "/api/events?meter=nope"])  # fmt: skip
def test_an_unknown_meter_is_404_naming_the_known_ones(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and "m1, m2" in r.json()["detail"]


def test_day_totals_are_what_the_energy_command_prints(served: Served, client: httpx.Client) -> None:
    last = _yesterday()  # whole days the gateway no longer writes into
    first = last - dt.timedelta(days=HISTORY_DAYS - 5)
    r = client.get("/api/meters/m1/energy", params={"group": "day", "start": str(first), "end": str(last)})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["zone"] == ZONE and len(got["start"]) == HISTORY_DAYS - 4
    cli = run_cli("energy", "--db", str(served.db), "--by", "day", "--json", "--tz", ZONE, "--meter", "m1",
                  "--from", str(first), "--to", str(last))  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    days = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [d["period"] for d in days] == got["label"]
    for i, d in enumerate(days):
        for name, kwh in d["kwh"].items():
            assert got["kwh"][name][i] == kwh, (d["period"], name)
        assert got["hours"][i] == d["hours"]
    assert any(h in {23, 25} for h in got["hours"]) or not _dst_between(first, last)
    assert any(v for v in got["kwh"]["energy_reverse_b"]) and any(v for v in got["kwh"]["energy_forward_a"])
    # the same numbers as CSV, import and export as their own columns
    r = client.get("/api/meters/m1/energy", params={"group": "day", "start": str(first), "end": str(last),
                                                    "format": "csv"})  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(days)
    for row, d in zip(rows, days, strict=True):
        assert float(row["energy_forward_total_kwh"]) == d["kwh"]["energy_forward_total"]
        assert float(row["energy_reverse_total_kwh"]) == d["kwh"]["energy_reverse_total"]


def _dst_between(a: dt.date, b: dt.date) -> bool:
    z = ZoneInfo(ZONE)
    return (
        dt.datetime(a.year, a.month, a.day, 12, tzinfo=z).utcoffset()
        != dt.datetime(b.year, b.month, b.day, 12, tzinfo=z).utcoffset()
    )


def test_months_and_years_sum_the_days(client: httpx.Client) -> None:
    def get(group: str, first: dt.date, last: dt.date) -> dict[str, Any]:
        r = client.get("/api/meters/m1/energy", params={"group": group, "start": str(first), "end": str(last)})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    today = dt.datetime.now(ZoneInfo(ZONE)).date()
    last = today.replace(day=1) - dt.timedelta(days=1)  # the last whole month, all of it in the history
    first = last.replace(day=1)
    days, months = get("day", first, last), get("month", first + dt.timedelta(days=3), last - dt.timedelta(days=3))
    assert months["first"] == str(first) and months["last"] == str(last) and len(months["start"]) == 1
    for name in ("energy_forward_total", "energy_reverse_b", "net_total"):
        assert months["kwh"][name][0] == pytest.approx(sum(v or 0 for v in days["kwh"][name]), abs=1e-5)
    # a year holds today, which the live meter is adding to: the days' sum falls between two reads of it
    y0, y1 = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    before, all_days, after = get("year", today, today), get("day", y0, y1), get("year", today, today)
    assert before["first"] == str(y0) and len(before["start"]) == 1
    for name in ("energy_forward_total", "energy_reverse_b"):
        total = sum(v or 0 for v in all_days["kwh"][name])
        assert before["kwh"][name][0] - 1e-5 <= total <= after["kwh"][name][0] + 1e-5
    # hours of a whole day sum to the day (23, 24 or 25 of them)
    day = today - dt.timedelta(days=2)
    hours, one = get("hour", day, day), get("day", day, day)
    assert len(hours["start"]) in (23, 24, 25)
    assert sum(v or 0 for v in hours["kwh"]["energy_forward_a"]) == pytest.approx(
        one["kwh"]["energy_forward_a"][0], abs=1e-5
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"group": "week"}, "group"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-02-10", "end": "2026-02-01"}, "end is before start"),
        ({"group": "hour", "start": "2026-01-01", "end": "2026-06-01"}, "ask for days"),
        ({"start": "1990-01-01", "end": "2026-01-01"}, "at most"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_energy_queries_are_422_saying_why(client: httpx.Client, params: dict[str, str], says: str) -> None:
    r = client.get("/api/meters/m1/energy", params=params)
    assert r.status_code == 422, r.text
    assert says in r.text


def test_power_is_decimated_and_refuses_bad_ranges(client: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    r = client.get("/api/meters/m1/power", params={"start": now - 30 * 86400, "end": now, "points": 200})
    assert r.status_code == 200
    got = r.json()
    assert 0 < len(got["t"]) <= 200 and got["step"] >= 30 * 86400 / 200
    a = got["series"]["power_a"]
    assert all(lo <= avg <= hi for lo, avg, hi in zip(a["min"], a["avg"], a["max"], strict=True) if lo is not None)
    assert min(v for v in got["series"]["power_b"]["min"] if v is not None) < 0  # export stays negative
    for bad in ({"start": now, "end": now - 10}, {"points": 3}, {"points": 10**6}, {"start": "soon"}):
        r = client.get("/api/meters/m1/power", params=bad)
        assert r.status_code == 422, (bad, r.text)


def test_a_setting_round_trips_and_an_out_of_range_one_is_refused(served: Served, client: httpx.Client) -> None:
    r = client.post("/api/meters/m2/settings/report_rate", json={"value": 5})
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["echoed"]["report_rate"] == 5
    r = client.post("/api/meters/m2/settings/report_rate", json={"value": 99})
    assert r.status_code == 422 and "outside 3..60" in r.json()["detail"]
    r = client.post("/api/meters/m2/settings/power_a", json={"value": 1})
    assert r.status_code == 422 and "read-only" in r.json()["detail"]
    r = client.post("/api/meters/m2/settings/calibration_voltage", json={"value": [1]})
    assert r.status_code == 422
    r = client.post("/api/meters/m2/settings/report_rate", json={"value": 5, "extra": 1})
    assert r.status_code == 422
    r = client.post("/api/meters/m2/settings/report_rate", json={"value": 10})
    assert r.status_code == 200 and r.json()["ok"] is True


def test_the_live_stream_carries_updates_and_ends_cleanly(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as c, c.stream("GET", "/api/events?meter=m1") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        kind, seen = None, 0
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "update":
                data = json.loads(line[6:])
                assert data["meter"] == "m1" and "power_total" in data["values"]
                seen += 1
                if seen == 3:
                    break
    assert served.web.hub.clients == 0 or _eventually_zero(served)


def _eventually_zero(served: Served) -> bool:
    from e2e import wait_until

    wait_until(lambda: served.web.hub.clients == 0, 10, "the closed stream's queue gone")
    return True


def test_the_openapi_description_lists_every_endpoint(client: httpx.Client) -> None:
    spec = client.get("/api/openapi.json").json()
    assert set(spec["paths"]) >= {"/api/meters", "/api/meters/{meter}", "/api/meters/{meter}/diagnostics",
                                  "/api/meters/{meter}/energy", "/api/meters/{meter}/power",
                                  "/api/meters/{meter}/settings/{name}", "/api/events", "/api/login",
                                  "/api/session"}  # fmt: skip
    assert client.get("/docs").status_code == 404  # the interactive docs would load a CDN's scripts


def test_the_page_and_its_assets_come_from_the_package(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/app.css", "/static/vendor/uPlot.iife.min.js",
                  "/static/vendor/uPlot.min.css", "/static/vendor/uPlot.LICENSE"):  # fmt: skip
        assert client.get(asset).status_code == 200, asset
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/app.css").text):
        assert "http://" not in text and "https://" not in text  # nothing from elsewhere


def test_writes_need_json_and_the_pages_own_origin(client: httpx.Client) -> None:
    r = client.post("/api/meters/m2/settings/report_rate", content=b'{"value": 5}',
                    headers={"content-type": "text/plain"})  # fmt: skip
    assert r.status_code == 415
    r = client.post("/api/meters/m2/settings/report_rate", json={"value": 5},
                    headers={"origin": "http://evil.example"})  # fmt: skip
    assert r.status_code == 403 and "another site" in r.json()["detail"]
    r = client.get("/api/meters", headers={"host": "evil.example:8080"})  # DNS rebinding
    assert r.status_code == 403


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/api/meters/m1/energy", "/api/meters/m1/power", "/api/events", "/api/meters/m1"]),
    params=st.dictionaries(
        st.sampled_from(["group", "start", "end", "format", "points", "meter", "x"]),
        st.one_of(st.text(max_size=30), st.integers(-(10**20), 10**20).map(str), st.floats().map(str)),
        max_size=4,
    ),
)
def test_no_query_string_makes_a_500(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    if path == "/api/events":
        params.pop("meter", None) if params.get("meter") in ("m1", "m2") else None
        with client.stream("GET", path, params=params) as r:
            assert r.status_code < 500 or r.status_code == 503, r.status_code
        return
    r = client.get(path, params=params)
    assert r.status_code < 500, (path, params, r.text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["calibration_voltage", "power_a", "nope", "reset_coefficients_b", "x" * 80, "report_rate"]),
    body=st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=2),
                   st.dictionaries(st.text(max_size=6), st.one_of(st.floats(), st.text(max_size=5)), max_size=3)),
)  # fmt: skip
def test_no_settings_body_makes_a_500(client: httpx.Client, name: str, body: object) -> None:
    if isinstance(body, dict) and "value" in body and name in ("calibration_voltage", "report_rate"):
        body = {"value": 1e9}  # keep the emulated meter's settings in range while fuzzing
    if name == "reset_coefficients_b":
        body = {"value": "yes"}
    r = client.post(f"/api/meters/m2/settings/{name}", content=json.dumps(body),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code in (404, 422), (name, body, r.text)


def test_a_body_that_is_not_quite_json_is_a_422(client: httpx.Client) -> None:
    for text in ('{"": Infinity}', '{"value": NaN}', '{"value": -Infinity, "x": 1}', "{", "[1, 2"):
        r = client.post("/api/meters/m2/settings/calibration_voltage", content=text,
                        headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code == 422, (text, r.text)
        detail = r.json()["detail"]
        assert "not a number" in detail if isinstance(detail, str) else all("loc" in e and "msg" in e for e in detail)


def test_no_store_means_no_history_but_the_rest_works(tmp_path: Path) -> None:
    with serve(tmp_path, store=False, meters=1) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.get("/api/meters/m1").status_code == 200
        r = c.get("/api/meters/m1/energy")
        assert r.status_code == 409 and "no store" in r.json()["detail"]
        assert c.get("/api/meters/m1/power").status_code == 409


def test_with_a_token_the_api_wants_it_and_the_sign_in_gives_a_cookie(tmp_path: Path) -> None:
    token = "a-web-token-of-some-length"
    with serve(tmp_path, token=token, store=False, meters=1) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.get("/").status_code == 200  # the page itself carries no data
        r = c.get("/api/meters")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/api/meters", headers={"authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert c.get("/api/meters", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert c.post("/api/meters/m1/settings/report_rate", json={"value": 5}).status_code == 401
        assert c.post("/api/login", json={"token": "nope"}).status_code == 401
        r = c.post("/api/login", json={"token": token})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/meters").status_code == 200  # the cookie now
        assert c.get("/api/session").json()["token_required"] is True


def test_the_links_last_frames_both_ways_decoded(client: httpx.Client) -> None:
    client.get("/api/meters/m1/traffic")  # the first look starts keeping them
    got: list[list[dict[str, Any]]] = []

    def both_ways() -> bool:  # heartbeats out (every 10 s), reports in
        got.append(client.get("/api/meters/m1/traffic").json())
        return {line["outgoing"] for line in got[-1]} == {True, False}

    wait_until(both_ways, 40, "a heartbeat among the last frames")
    lines = got[-1]
    assert 0 < len(lines) <= 200
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)
    now = dt.datetime.now(dt.UTC).timestamp()
    assert now - 120 < lines[-1]["time"] <= now + 1
    reports = [line for line in lines if line["command"] == "DP_REPORT"]
    assert reports and any("power_a" in line["readings"] for line in reports)
    assert all(line["raw"].startswith("55 aa") for line in lines)


def test_seeded_events_come_back_in_their_range(client: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    got = client.get("/api/meters/m1/events", params={"start": now - 86400, "end": now}).json()
    assert [e["kind"] for e in got] == ["reset"] and got[0]["text"].endswith("seeded")
    wider = client.get("/api/meters/m1/events", params={"start": now - 7 * 86400, "end": now}).json()
    assert [e["kind"] for e in wider] == ["glitch", "reset"]
    assert client.get("/api/meters/m1/events", params={"start": now - 7 * 86400, "limit": 1}).json() == got
    assert client.get("/api/meters/m1/events", params={"start": now, "end": now - 1}).status_code == 422
    assert client.get("/api/meters/m1/events", params={"limit": 0}).status_code == 422


def test_a_meter_that_restarts_shows_restarts_and_counter_resets(tmp_path: Path) -> None:
    # power cycles every ~20 simulated seconds, the counters restarting from zero with each
    with serve(tmp_path, meters=1, speed=20, quirks="&quirk=reboot=20&quirk=counter-reset", history_days=0) as s:
        with httpx.Client(base_url=s.url, timeout=30) as c, c.stream("GET", "/api/events?meter=m1") as r:
            live: list[dict[str, object]] = []
            kind = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "update":
                    live += json.loads(line[6:]).get("events", [])
                    if {"restart", "reset"} <= {e["kind"] for e in live}:
                        break
        with httpx.Client(base_url=s.url, timeout=30) as c:
            wait_until(lambda: {"restart", "reset"} <= {e["kind"] for e in c.get("/api/meters/m1/events").json()},
                       20, "the events in the store")  # fmt: skip
            stored = c.get("/api/meters/m1/events").json()
            diag = c.get("/api/meters/m1/diagnostics").json()
    assert diag["mcu_restarts"] >= 1 and diag["counter_resets"] >= 1
    texts = [e["text"] for e in stored if e["kind"] == "reset"]
    assert all("counter reset" in t and "total kept at" in t for t in texts), texts
    assert any(e["time"] in {x["time"] for x in stored} for e in live)
