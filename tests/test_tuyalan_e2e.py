"""A meter on stock firmware, end to end with real programs: ``sim --lan`` serving the Tuya LAN
protocol, tinytuya (an independent client) and our gateway and ``set`` against it, every version."""

from __future__ import annotations

import itertools
import json
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


def test_probe_finds_the_version_checks_the_key_and_names_the_profile() -> None:
    sim, url = start_sim("--lan", "127.0.0.1:0", "--version", "3.3", "--quiet")  # announces on 127.0.0.1:6667
    try:
        no_version = url.replace("&version=3.3", "")
        r = run_cli("probe", no_version, "--json", timeout=90)
        rep = json.loads(r.stdout)
        assert r.returncode == 0 and rep["protocol_version"] == "3.3" and rep["key_checked"], r.stderr
        assert [a["outcome"] for a in rep["attempts"]] == ["no answer", "no answer", "ready"]
        assert rep["profile"] == "pj1103a" and rep["product_key"] == "z95s7p3z54xbsjnl"
        assert {"101", "102", "112", "129", "130"} <= set(rep["dps"])
        key = parse_qs(urlsplit(url).query)["key"][0]
        bad = run_cli("probe", url.replace(key, "f" * 16), timeout=60)
        assert bad.returncode == 1 and "did not accept the local key" in bad.stdout and "f" * 16 not in bad.stdout
    finally:
        sim.stop()


def test_monitor_shows_both_directions_decoded() -> None:
    sim, url = lan_sim("3.5")
    try:
        r = run_cli("monitor", url, "--json", "--duration", "3")
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        frames = [x for x in lines if "command" in x]
        assert {("out", "SESS_KEY_NEG_START"), ("in", "SESS_KEY_NEG_RESP"), ("out", "DP_QUERY_NEW"),
                ("out", "UPDATEDPS"), ("in", "STATUS")} <= {(x["direction"], x["command"]) for x in frames}  # fmt: skip
        status = next(x for x in frames if x["command"] == "STATUS")
        assert "power_a" in status["readings"] and status["body"]["data"]["dps"]
    finally:
        sim.stop()


def test_scan_lists_an_announcing_meter_and_asks_quiet_35_devices() -> None:
    sim, url = start_sim("--lan", "127.0.0.1:0", "--version", "3.5", "--quiet",
                         "--announce", "127.0.0.1:16667", "--app-port", "17000")  # fmt: skip
    try:
        r = run_cli("scan", "--json", "--seconds", "1.5", "--port", "16667", "--ask", "127.0.0.1",
                    "--ask-port", "17000")  # fmt: skip
        rep = json.loads(r.stdout)
        dev_id = urlsplit(url).username
        (found,) = [d for d in rep["devices"] if d["device_id"] == dev_id]
        assert found["version"] == "3.5" and found["profile"] == "pj1103a" and found["ip"] == "127.0.0.1"
        passive = run_cli("scan", "--seconds", "6", "--port", "16667")
        assert dev_id in passive.stdout and "pj1103a" in passive.stdout
    finally:
        sim.stop()


def test_from_a_flash_backup_to_a_running_gateway_with_no_cloud_account(tmp_path: Path) -> None:
    """flash inspect --config-snippet writes the key file and the tuya: block; run -c follows the meter."""
    import kvencode as kve
    from test_flash_kv import build

    sim, url = lan_sim("3.4")
    u = urlsplit(url)
    key = parse_qs(u.query)["key"][0]
    values = {
        "gw_di": json.dumps({"id": u.username, "pk": "z95s7p3z54xbsjnl", "lpv": "3.4"}).encode(),
        "gw_ai": json.dumps({"key": "5ec0de5ec0de5ec0", "lckey": key}).encode(),
    }
    (tmp_path / "backup.bin").write_bytes(bytes(kve.full_dump(build(values)[1])))
    try:
        r = run_cli("flash", "inspect", str(tmp_path / "backup.bin"), "--config-snippet",
                    "--key-file", str(tmp_path / "meter.key"))  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert key not in r.stdout and (tmp_path / "meter.key").read_text().strip() == key
        assert oct((tmp_path / "meter.key").stat().st_mode & 0o777) == "0o600"
        cfg = tmp_path / "meters.yaml"
        cfg.write_text(r.stdout.replace("HOST", f"127.0.0.1, port: {u.port}"))
        gw = Proc("run", "-c", str(cfg), "--json", "--db", str(tmp_path / "g.db"))
        try:
            (first, *_) = [x for x in gw.wait_json(2, timeout=30) if "values" in x]
            assert first["meter"] == "backup" and "power_a" in first["values"]
        finally:
            gw.stop()
        assert key not in "\n".join(gw.out + gw.err)
    finally:
        sim.stop()


def test_demo_over_the_lan() -> None:
    r = run_cli("demo", "--lan", "3.5", "--duration", "6", "--json", timeout=60)
    updates = [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"meter"')]
    assert {u["meter"] for u in updates} == {"demo1", "demo2"}, r.stderr[-2000:]
    # about one a second each (a report every 30 simulated s at ×30), less the start-up
    assert min(sum(u["meter"] == m for u in updates) for m in ("demo1", "demo2")) >= 4
    diag = [json.loads(x) for x in r.stderr.splitlines() if x.startswith('{"meter"')]
    assert {d["diagnostics"]["protocol"] for d in diag} == {"tuya-lan 3.5"}
