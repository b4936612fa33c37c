"""``rfc2217://`` links (a ser2net or ESP-link bridge in telnet mode) end to end: pyserial's own RFC
2217 server in front of an emulator's pty. Unlike a pty, RFC 2217 carries the line settings, so the
bridge shows what our side asked for: 8N1 for a TuyaMCU, 8E1 for an HLW8112, and each baud a probe
tries."""

from __future__ import annotations

import json

import pytest

from e2e import Proc, run_cli, start_sim, wait_until
from rfc2217_bridge import Rfc2217Bridge

pytestmark = pytest.mark.slow


def _device(sim_line: str) -> str:
    return sim_line.split("?", 1)[0]


def test_a_tuyamcu_probe_over_rfc2217_finds_the_baud() -> None:
    sim, path = start_sim("--pty", "--quiet", "--baud", "115200")
    bridge = Rfc2217Bridge(_device(path))
    try:
        r = run_cli("probe", bridge.url, "--json")
        data = json.loads(r.stdout)
        assert r.returncode == 0, r.stdout + r.stderr
        assert data["profile"] == "pj1103a" and data["baud"] == 115200
        wait_until(lambda: len(bridge.settings) >= 2, 10, "the probe's connections to end")
        assert (9600, "N", 8, 1) in bridge.settings and (115200, "N", 8, 1) in bridge.settings
    finally:
        bridge.close()
        sim.stop()


def test_the_gateway_follows_a_tuyamcu_meter_over_rfc2217() -> None:
    sim, path = start_sim("--pty", "--quiet", "--speed", "5")
    bridge = Rfc2217Bridge(_device(path))
    gw = Proc("run", bridge.url, "--profile", "pj1103a", "--id", "bridged", "--no-store", "--json")
    try:
        ups = gw.wait_json(3, timeout=40)
        values = ups[-1]["values"]
        assert values["voltage"] > 200 and "power_a" in values and "energy_forward_a" in values
    finally:
        gw.stop()
        wait_until(lambda: bool(bridge.settings), 10, "the gateway's connection to end")
        bridge.close()
        sim.stop()
    assert bridge.settings == [(9600, "N", 8, 1)]


def test_an_hlw8112_over_rfc2217_is_probed_and_followed_at_8e1() -> None:
    sim = Proc("sim", "hlw8112", "--pty", "--quiet", "--start", "12:00", "--speed", "20")
    bridge = Rfc2217Bridge(_device(sim.wait_line(timeout=15)))
    url = f"{bridge.url}?proto=hlw8112"
    try:
        r = run_cli("probe", url, "--json")
        got = json.loads(r.stdout)
        assert r.returncode == 0 and got["ok"] is True and got["wire"] == "uart", r.stdout + r.stderr
        gw = Proc("run", url, "--profile", "hlw8112_clamps", "--id", "chip", "--no-store", "--json")
        try:
            v = gw.wait_json(3, timeout=40)[-1]["values"]
            assert 200 < v["voltage"] < 260 and v["power_a"] > 0 and 49.5 < v["frequency"] < 50.5
        finally:
            gw.stop()
        wait_until(lambda: len(bridge.settings) >= 2, 10, "both connections to end")
        assert set(bridge.settings) == {(9600, "E", 8, 1)}
    finally:
        bridge.close()
        sim.stop()
