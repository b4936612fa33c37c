"""End to end through real ptys and TCP: sim, probe, run, decode, demo as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from broker import free_port
from e2e import Proc, run_cli, start_sim, wait_until

pytestmark = pytest.mark.slow

MEASURED = ("power_a", "power_b", "voltage", "current_a", "current_b", "frequency", "energy_forward_a")


def test_probe_finds_pj1103a_at_9600() -> None:
    sim, path = start_sim("--pty", "--quiet")
    try:
        assert path.startswith("/dev/pts/")
        r = run_cli("probe", path, "--json")
        data = json.loads(r.stdout)
        assert r.returncode == 0, r.stderr
        assert data["profile"] == "pj1103a" and data["baud"] == 9600 and data["protocol_version"] == 3
        assert data["product_id"] == "z95s7p3z54xbsjnl"
        assert {d["dp"] for d in data["dps"]} >= set(range(101, 120)) - {120}
    finally:
        sim.stop()


def test_probe_finds_the_baud_when_it_is_115200() -> None:
    sim, path = start_sim("--pty", "--quiet", "--baud", "115200")
    try:
        r = run_cli("probe", path, "--json")
        data = json.loads(r.stdout)
        assert data["profile"] == "pj1103a" and data["baud"] == 115200
        assert [a["baud"] for a in data["attempts"]] == [9600, 115200]
        assert not data["attempts"][0]["answered"]
        human = run_cli("probe", path)
        assert "at 115200 baud" in human.stdout and "pj1103a fits" in human.stdout
    finally:
        sim.stop()


def test_probe_says_plainly_when_nothing_answers(tmp_path: Path) -> None:
    r = run_cli("probe", str(tmp_path / "no-such-port"), "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 1 and not data["answered"] and data["profile"] is None
    assert any("wiring" in t for t in data["advice"]) and any("HLW8112" in t for t in data["advice"])
    human = run_cli("probe", str(tmp_path / "no-such-port"))
    assert "No TuyaMCU answered" in human.stdout and "TX" in human.stdout


def matches_a_cycle(values: dict[str, object], cycles: list[dict[str, object]]) -> bool:
    # Energy names carry the gateway's own totals; the meter's counter is <name>_meter.
    def gw(k: str) -> object:
        return values.get(f"{k}_meter", values.get(k)) if k.startswith("energy_") else values.get(k)

    return any(all(gw(k) == c.get(k) for k in MEASURED) for c in cycles)


def test_run_values_match_the_emulator_and_survive_a_restart_on_the_same_path(tmp_path: Path) -> None:
    link = tmp_path / "meter0"
    sim, path = start_sim("--pty", "--link", str(link), "--json", "--speed", "5", "--seed", "1")
    assert path == str(link)
    gw = Proc("run", str(link), "--profile", "pj1103a", "--json")
    try:
        before = gw.wait_json(5, timeout=20)
        truth1 = [c["values"] for c in sim.json_lines() if "cycle" in c]
        sim.stop()
        assert len(before) >= 3
        # The first two updates are the cycle the MCU sends on Wi-Fi state 4 and the query
        # answer right after it; every periodic update then equals an emulator cycle exactly.
        for u in before[2:]:
            assert u["meter"] == "meter" and "T" in u["time"]
            assert matches_a_cycle(u["values"], truth1), (u, truth1)
        assert before[-1]["values"]["power_total"] == round(
            before[-1]["values"]["power_a"] + before[-1]["values"]["power_b"], 1
        )
        wait_until(lambda: any("offline" in e for e in gw.err), 15, "the gateway sees the link go")
        sim2, _ = start_sim("--pty", "--link", str(link), "--json", "--speed", "5", "--seed", "7")
        try:
            n = len(gw.out)
            after = gw.wait_json(5, timeout=25, start=n)
            truth2 = [c["values"] for c in sim2.json_lines() if "cycle" in c]
            assert len(after) >= 3
            assert all(matches_a_cycle(u["values"], truth2) for u in after[2:])
            assert any("offline" in e for e in gw.err) and sum("online" in e for e in gw.err) >= 2
        finally:
            sim2.stop()
    finally:
        gw.stop()


def test_run_over_tcp_survives_an_emulator_restart_on_the_same_port() -> None:
    port = free_port()
    sim, url = start_sim("--tcp", f"127.0.0.1:{port}", "--quiet", "--speed", "5")
    assert url == f"socket://127.0.0.1:{port}"
    gw = Proc("run", url, "--json", "--id", "tcpmeter")
    try:
        gw.wait_line(lambda s: s.startswith("{"), timeout=15)
        sim.stop()
        wait_until(lambda: any("offline" in e for e in gw.err), 15, "the gateway sees the emulator go")
        sim, _ = start_sim("--tcp", f"127.0.0.1:{port}", "--quiet", "--speed", "5")
        n = len(gw.out)
        line = gw.wait_line(lambda s: s.startswith("{"), timeout=20, start=n)
        assert json.loads(line)["meter"] == "tcpmeter"
    finally:
        gw.stop()
        sim.stop()


def test_demo_shows_both_channels_sign_change_and_growing_energy() -> None:
    demo = Proc("demo", "--meters", "2", "--json")

    def of(meter: str) -> list[dict[str, Any]]:
        return [u["values"] for u in demo.json_lines() if u["meter"] == meter]

    def signs(meter: str) -> set[bool]:
        return {v["power_b"] > 0 for v in of(meter) if v["power_b"] != 0}

    try:
        # B imports (stand-by) and exports (sun) on both: sunrise on demo1, sunset on demo2
        wait_until(lambda: signs("demo1") == signs("demo2") == {True, False}, 60, "B changes sign on both meters")
        wait_until(lambda: of("demo1")[-1]["energy_forward_a"] > of("demo1")[0]["energy_forward_a"], 30, "energy")
        # beside them an HLW8112 chip read over SPI (in-process), its energy growing too
        wait_until(lambda: len(of("chip1")) >= 2 and of("chip1")[-1]["energy_forward_a"] > 0, 30, "the chip")
    finally:
        demo.stop()
    for meter in ("demo1", "demo2"):
        assert all(v["power_a"] > 0 for v in of(meter))
    human = run_cli("demo", "--meters", "1", "--duration", "4")
    assert "demo1" in human.stdout and " V " in human.stdout and "online" in human.stderr


def test_decode_cli_from_args_and_stdin() -> None:
    r = run_cli("decode", "55AA03070008680200040000000180", "--profile", "pj1103a")
    assert r.returncode == 0 and "dp104 value=1" in r.stdout
    log = 'TYA: RX Packet: "55aa03070008020200040000000720"\nrubbish\n[I] 55 AA 00 06 00 05 02 01 00 01 01 0F\n'
    r = run_cli("decode", "--json", input_=log.replace('"', " "))
    objs = [json.loads(s) for s in r.stdout.splitlines()]
    assert [o["command"] for o in objs] == ["DP_REPORT", "SET_DP"]
    assert objs[0]["dps"] == [{"dp": 2, "type": "value", "value": 7}] and objs[1]["direction"] == "module→mcu"
    # dp112 = 2319, the seed device's voltage reading
    named = run_cli("decode", "--json", "--profile", "pj1103a", "55AA03070008700200040000090F9F")
    assert json.loads(named.stdout)["dps"] == [
        {"dp": 112, "type": "value", "value": 2319, "name": "voltage", "scaled": 231.9, "plausible": True}
    ]
    assert run_cli("decode", "nothing here").returncode == 1


def test_monitor_shows_both_directions() -> None:
    sim, path = start_sim("--pty", "--quiet")
    try:
        r = run_cli("monitor", path, "--duration", "2.5", "--json")
        objs = [json.loads(s) for s in r.stdout.splitlines() if s.startswith("{")]
        dirs = {o.get("direction") for o in objs}
        assert {"module→mcu", "mcu→module"} <= dirs
        assert any(o.get("command") == "PRODUCT_INFO" for o in objs)
        assert any(o.get("event") == "LinkUp" for o in objs)
    finally:
        sim.stop()


def test_run_with_bad_config_says_where(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("meters:\n  - id: a\n    url: sim://pj1103a\n    baud: x\n")
    r = run_cli("run", "-c", str(f))
    assert r.returncode == 2 and f"{f}:4:" in r.stderr


def test_set_writes_and_refuses_out_of_range() -> None:
    sim, path = start_sim("--pty", "--quiet")
    try:
        r = run_cli("set", path, "report_rate", "5", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {
            "name": "report_rate",
            "value": 5,
            "ok": True,
            "echoed": {"report_rate": 5},
            "error": None,
        }
        r = run_cli("set", path, "report_rate", "99")
        assert r.returncode == 2 and "outside 3..60" in r.stderr
        r = run_cli("set", path, "voltage", "230")
        assert r.returncode == 2 and "read-only" in r.stderr
    finally:
        sim.stop()
