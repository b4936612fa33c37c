"""The IoTaWatt-shaped history query (/api/query) against a real gateway: its numbers are the energy
and power endpoints' numbers (themselves checked against the CLI), grouped from minutes to years."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webharness import ZONE, serve

pytestmark = pytest.mark.timeout(300)
Z = ZoneInfo(ZONE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    where = tmp_path_factory.mktemp("query")
    with serve(where, meters=1) as served, httpx.Client(base_url=served.url, timeout=30) as c:
        yield c


def q(client: httpx.Client, **params: object) -> dict[str, Any]:
    r = client.get("/api/query", params={"meter": "m1", **params})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def energy(client: httpx.Client, group: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    r = client.get("/api/meters/m1/energy", params={"group": group, "start": str(first), "end": str(last)})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


NAMES = ("energy_forward_total", "energy_reverse_b", "net_total")
SELECT = "[time.unix," + ",".join(NAMES) + "]"


def test_local_days_months_and_hours_are_the_energy_endpoints(client: httpx.Client) -> None:
    last = dt.datetime.now(Z).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=20)
    for group, by, a, b in (("d", "day", first, last), ("M", "month", first, last), ("1h", "hour", last, last)):
        end = dt.datetime.combine(b + dt.timedelta(days=1), dt.time(), Z)
        got = q(client, select=SELECT, begin=str(a), end=end.isoformat(), group=group)
        want = energy(client, by, a, b)
        assert got["columns"] == ["time.unix", *(f"{n}.kwh" for n in NAMES)]
        # the query has a row for every period, the endpoint only periods with energy: the seeded history
        # ends an hour before the gateway starts, so in the first hour after local midnight the last
        # hours of yesterday are empty
        rows = [row for row in got["rows"] if any(v is not None for v in row[1:])]
        assert all(row[0] >= want["start"][-1] for row in got["rows"] if row not in rows), group  # only at the end
        assert [row[0] for row in rows] == want["start"], group
        for j, name in enumerate(NAMES, start=1):
            assert [row[j] for row in rows] == pytest.approx(want["kwh"][name], abs=1e-9), (group, name)
    # Wh are the kWh times a thousand
    wh = q(client, select="[energy_forward_total.wh]", begin=str(first), end=str(last), group="d")["rows"]
    kwh = q(client, select="[energy_forward_total]", begin=str(first), end=str(last), group="d")["rows"]
    assert [r[0] for r in wh] == pytest.approx([r[0] * 1000 for r in kwh], abs=1e-3)


def test_power_in_fixed_steps_is_the_power_endpoints(client: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    t1 = now - 2 * 3600 - now % 900
    t0 = t1 - 6 * 3600
    got = q(client, select="[time.unix,power_a.min,power_a,power_a.max,power_b.min]", begin=t0, end=t1, group="15m")
    want = client.get("/api/meters/m1/power", params={"start": t0, "end": t1, "points": 24}).json()
    assert want["step"] == 900 and len(got["rows"]) == 24
    rows = {r[0]: r[1:] for r in got["rows"]}
    a, b = want["series"]["power_a"], want["series"]["power_b"]
    for i, t in enumerate(want["t"]):
        assert rows[t] == [a["min"][i], a["avg"][i], a["max"][i], b["min"][i]]
    assert sum(1 for r in got["rows"] if r[1] is not None) == len(want["t"])  # the other periods are null


def test_power_per_local_day_combines_its_hours(client: httpx.Client) -> None:
    day = dt.datetime.now(Z).date() - dt.timedelta(days=3)
    one = q(client, select="[time.iso,power_b.min,power_b.mean,power_b.max]", begin=str(day), end=str(day), group="d")
    assert len(one["rows"]) == 1
    start, lo, mean, hi = one["rows"][0]
    assert dt.datetime.fromisoformat(start) == dt.datetime.combine(day, dt.time(), Z)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), Z).timestamp()
    hours = q(client, select="[power_b.min,power_b.mean,power_b.max]", begin=str(day), end=end, group="1h")["rows"]
    assert len(hours) in (23, 24, 25)
    assert lo == min(h[0] for h in hours if h[0] is not None)
    assert hi == max(h[2] for h in hours if h[2] is not None)
    means = [h[1] for h in hours if h[1] is not None]
    assert min(means) <= mean <= max(means) and lo <= mean <= hi


def test_time_formats_and_csv(client: httpx.Client) -> None:
    day = dt.datetime.now(Z).date() - dt.timedelta(days=2)
    got = q(client, select="time.iso, time.utc, time.unix, power_total", begin=str(day), end=str(day), group="d")
    iso, utc, unix, _ = got["rows"][0]
    assert dt.datetime.fromisoformat(iso).timestamp() == unix == dt.datetime.fromisoformat(utc).timestamp()
    assert utc.endswith("Z") and not iso.endswith("Z")
    r = client.get("/api/query", params={"meter": "m1", "select": SELECT, "begin": str(day - dt.timedelta(days=5)),
                                         "end": str(day), "group": "d", "format": "csv"})  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    js = q(client, select=SELECT, begin=str(day - dt.timedelta(days=5)), end=str(day), group="d")
    assert rows[0] == js["columns"] and len(rows) - 1 == len(js["rows"])
    assert [float(x) for x in rows[1]] == pytest.approx(js["rows"][0])


def test_auto_picks_a_group_that_fits(client: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    assert q(client, select="power_a", begin=now - 3600, end=now)["group"] == "1m"
    assert q(client, select="energy_forward_a", begin=now - 3600, end=now)["group"] == "15m"
    assert q(client, select="power_a", begin=now - 30 * 86400, end=now)["group"] == "3h"
    year = q(client, select="energy_forward_a", begin=now - 365 * 86400, end=now)
    assert year["group"] == "d" and len(year["rows"]) in (365, 366)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"select": "[nope]"}, "no series 'nope'; known: time, power_a"),
        ({"select": "power_a.median"}, "power series are mean, min, max"),
        ({"select": "energy_forward_a", "group": "5m"}, "energy is kept per 15 minutes"),
        ({"select": "power_a", "group": "2d"}, "one at a time"),
        ({"select": "power_a", "group": "5x"}, "Nm or Nh"),
        ({"select": "power_a", "group": "1m", "begin": "2020-01-01"}, "more than 10000 rows"),
        ({"select": "power_a", "begin": "2026-02-10", "end": "2026-02-01"}, "begin must be before end"),
        ({"select": "power_a", "begin": "yesterday"}, "neither epoch seconds nor an ISO date"),
        ({"select": "time.local"}, "time.iso, time.utc, time.unix"),
        ({"select": ""}, "select names no series"),
    ],
)
def test_bad_queries_are_422_saying_why(client: httpx.Client, params: dict[str, str], says: str) -> None:
    r = client.get("/api/query", params={"meter": "m1", **params})
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"], r.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["select", "begin", "end", "group", "format", "meter"]),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["power_a", "[time,energy_forward_a.wh]", "auto", "15m", "d", "M", "y", "1h", "0m"]),
            st.integers(-(10**12), 10**12).map(str),
            st.floats().map(str),
        ),
        max_size=5,
    ),
)
def test_no_query_makes_a_500(client: httpx.Client, params: dict[str, str]) -> None:
    r = client.get("/api/query", params=params)
    assert r.status_code < 500, (params, r.text)
