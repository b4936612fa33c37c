"""A meter on stock firmware, end to end with real programs: ``sim --lan`` serving the Tuya LAN
protocol, tinytuya (an independent client) and our gateway and ``set`` against it, every version."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import tinytuya

from e2e import Proc, run_cli, start_sim, wait_until

VERSIONS = ("3.1", "3.3", "3.4", "3.5")


def lan_sim(version: str, *extra: str) -> tuple[Proc, str]:
    proc, url = start_sim("--lan", "127.0.0.1:0", "--version", version, "--report-rate", "3",
                          "--announce", "none", "--quiet", *extra)  # fmt: skip
    assert url.startswith("tuya://"), url
    return proc, url


def tiny(url: str, version: str) -> tinytuya.OutletDevice:
    u = urlsplit(url)
    key = parse_qs(u.query)["key"][0]
    d = tinytuya.OutletDevice(u.username, u.hostname, key, version=float(version), port=u.port, persist=True)
    d.set_socketTimeout(3)
    return d


@pytest.mark.parametrize("version", VERSIONS)
def test_tinytuya_reads_writes_and_heartbeats_our_emulated_meter(version: str) -> None:
    sim, url = lan_sim(version)
    try:
        d = tiny(url, version)
        wait_until(lambda: "101" in d.status().get("dps", {}), 15, "tinytuya status with DP 101")
        st = d.status()["dps"]
        assert st["102"] in ("forward", "reverse") and 1800 <= st["112"] <= 2800 and st["129"] == 3
        echo = d.set_value(129, 5)
        assert echo is not None and echo["dps"] == {"129": 5}
        assert d.heartbeat(nowait=False) is None  # an empty answer: alive
        fresh = d.updatedps([101, 112])
        assert set(fresh["dps"]) == {"101", "112"}
        d.close()
    finally:
        sim.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_gateway_follows_a_stock_meter_and_set_round_trips(version: str, tmp_path: Path) -> None:
    sim, url = lan_sim(version)
    key = parse_qs(urlsplit(url).query)["key"][0]
    key_file = tmp_path / "local.key"
    key_file.write_text(key + "\n")
    by_file = url.replace(f"key={key}", f"key_file={key_file}")
    try:
        r = run_cli("set", by_file, "report_rate", "4")
        assert r.returncode == 0 and "report_rate = 4 (confirmed by the meter)" in r.stdout, r.stderr
        r = run_cli("set", by_file, "report_rate", "61")
        assert r.returncode == 2 and "outside 3..60" in r.stderr
        gw = Proc("run", by_file, "--id", "lan", "--json", "--db", str(tmp_path / "lan.db"))
        try:
            wait_until(lambda: sum("values" in x for x in gw.json_lines()) >= 4, 40, "4 updates")
            lines = [x for x in gw.json_lines() if "values" in x]
            v = lines[-1]["values"]
            assert v["power_b"] <= 0 <= v["power_a"] and 180 <= v["voltage"] <= 280  # signed per clamp
            assert v["power_total"] == pytest.approx(v["power_a"] + v["power_b"], abs=0.11)
            assert "energy_forward_total" in v
            # measured values are asked for (UPDATEDPS, or a status query on 3.1) at the report rate, 4 s
            t = [datetime.fromisoformat(x["time"]).timestamp() for x in lines[-3:]]
            assert [round(b - a) for a, b in itertools.pairwise(t)] == [4, 4], t
        finally:
            gw.stop()
        assert key not in "\n".join(gw.out + gw.err)  # the key is never printed or logged
    finally:
        sim.stop()


def test_a_wrong_key_is_named_and_a_second_client_is_refused(tmp_path: Path) -> None:
    sim, url = lan_sim("3.4")
    key = parse_qs(urlsplit(url).query)["key"][0]
    try:
        r = run_cli("set", url.replace(key, "0" * 16), "report_rate", "5", "--timeout", "4")
        assert r.returncode == 1 and "wrong local key or protocol version" in r.stderr, r.stderr
        assert "0" * 16 not in r.stderr
        gw = Proc("run", url, "--id", "lan", "--json", "--db", str(tmp_path / "lan.db"))
        try:
            gw.wait_json(1, timeout=20)
            r = run_cli("set", url, "report_rate", "5", "--timeout", "4")  # the one slot is the gateway's
            assert r.returncode == 1 and "local connection may be taken" in r.stderr, r.stderr
            n = len(gw.json_lines())
            wait_until(lambda: len(gw.json_lines()) > n, 15, "the gateway goes on updating")
        finally:
            gw.stop()
    finally:
        sim.stop()
