"""A hostile TCP "MCU" (absurd values, counter spikes, wrong DP types, nested JSON, frames cut
mid-way, garbage, unknown DPs) beside a healthy meter, through the real programs: the healthy meter's
updates keep flowing, and nothing implausible from the hostile one is ever published."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from e2e import Proc, start_sim, wait_until
from tuyameter.profiles import find_profile

pytestmark = pytest.mark.slow
P = find_profile("pj1103a")


def test_hostile_meter_beside_a_healthy_one(tmp_path: Path) -> None:
    good, good_url = start_sim("--tcp", "127.0.0.1:0", "--json", "--speed", "20", "--seed", "1")
    bad, bad_url = start_sim("--tcp", "127.0.0.1:0", "--quiet", "--speed", "20", "--seed", "2",
                             "--quirk", "hostile=1", "--quirk", "noise=0.2")  # fmt: skip
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(f"meters:\n  - id: good\n    url: {good_url}\n    time_scale: 20\n"
                   f"  - id: bad\n    url: {bad_url}\n    time_scale: 20\n"
                   f"store: {{db: {tmp_path / 'h.db'}}}\n")  # fmt: skip
    gw = Proc("run", "-c", str(cfg), "--json")
    try:
        wait_until(lambda: sum(u.get("meter") == "bad" for u in gw.json_lines() if "values" in u) >= 20, 60,
                   "20 updates of the hostile meter")  # fmt: skip
        cycles_before = len([c for c in good.json_lines() if "cycle" in c])
        wait_until(lambda: len([c for c in good.json_lines() if "cycle" in c]) >= cycles_before + 10, 30, "cycles")
        assert gw.p.poll() is None, gw.err[-20:]
    finally:
        # only cycles sent while the gateway ran count (the emulators may take a while to stop after it)
        sent_while_running = len([c for c in good.json_lines() if "cycle" in c])
        gw.stop()
        bad.stop()
        good.stop()
    ups = [u for u in gw.json_lines() if "values" in u]
    good_ups = [u["values"] for u in ups if u["meter"] == "good"]
    bad_ups = [u["values"] for u in ups if u["meter"] == "bad"]
    # the healthy meter: an update for every report cycle of its emulator while the hostile one raged
    cycles = [c["values"] for c in good.json_lines() if "cycle" in c][:sent_while_running]
    seen = {(round(v["power_a"], 1), round(v["voltage"], 1)) for v in good_ups if "power_a" in v and "voltage" in v}
    matched = sum((round(c["power_a"], 1), round(c["voltage"], 1)) in seen for c in cycles[2:-2])
    assert matched >= len(cycles[2:-2]) - 1, (matched, len(cycles))
    # the hostile meter: nothing implausible published, energy never backwards
    by = P.by_name()
    for v in bad_ups:
        for name, x in v.items():
            q = by.get(name)
            if q is not None and q.counter is None and not q.signed_by:
                assert q.plausible(x), (name, x)
        for name in ("power_a", "power_b"):
            if name in v:
                assert abs(v[name]) <= 30000, v[name]
    for name in ("energy_forward_total", "energy_forward_a", "energy_reverse_b"):
        series = [v[name] for v in bad_ups if name in v]
        assert all(a <= b for a, b in itertools.pairwise(series)), name
        assert series[-1] - series[0] < 5.0, name  # no spike became kWh
    diags = [json.loads(line) for line in gw.err if line.startswith('{"meter": "bad", "diagnostics"')]
    diag = diags[-1]["diagnostics"]  # printed on stderr when the gateway stops
    assert diag["implausible_readings"] > 0 and diag["malformed"] > 0 and diag["meter_restarts"] == 0, diag
    assert diag["type_mismatches"] > 0 and diag["implausible_jumps"] > 0
