"""The gateway against a real mosquitto: discovery, states, commands, outages, availability."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broker import Broker, Sub
from e2e import TUYAMETER, Proc, start_sim, wait_until
from tlsutil import make_certs

pytestmark = pytest.mark.slow

EXPECTED = {
    "power_a", "power_b", "power_total", "current_a", "current_b", "power_factor_a", "power_factor_b",
    "direction_a", "direction_b", "voltage", "frequency", "energy_forward_a", "energy_reverse_a",
    "energy_forward_b", "energy_reverse_b", "energy_forward_total", "energy_reverse_total", "report_rate",
    "calibration_voltage", "calibration_current_a", "calibration_power_a", "calibration_energy_forward_a",
    "calibration_energy_reverse_a", "calibration_frequency", "calibration_current_b", "calibration_power_b",
    "calibration_energy_forward_b", "calibration_energy_reverse_b", "reset_coefficients_a", "reset_coefficients_b",
    "link", "frames_per_second", "checksum_errors", "mcu_restarts", "seconds_since_report",
}  # fmt: skip
CFG = "homeassistant/device/tuyameter_{}/config"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    yield b
    b.stop()


@pytest.fixture
def sub(broker: Broker) -> Iterator[Sub]:
    s = Sub(broker.port)
    yield s
    s.close()


def state(sub: Sub, meter: str) -> dict[str, object]:
    return sub.last_json(f"tuyameter/{meter}/state")


def test_discovery_states_commands_and_last_will(broker: Broker, sub: Sub) -> None:
    gw = Proc("demo", "--meters", "2", "--speed", "1", "--mqtt", broker.url)
    try:
        for m in ("demo1", "demo2"):
            sub.wait(lambda m=m: sub.on(CFG.format(m)), what=f"discovery of {m}")
            cfg = json.loads(sub.on(CFG.format(m))[-1])
            assert set(cfg["cmps"]) >= EXPECTED, EXPECTED - set(cfg["cmps"])
        sub.wait(lambda: sub.on("tuyameter/bridge/availability")[-1:] == [b"online"], what="bridge online")
        sub.wait(lambda: sub.on("tuyameter/demo1/availability")[-1:] == [b"online"], what="meter online")
        sub.wait(lambda: sub.on("tuyameter/demo1/state") and state(sub, "demo1")["power_a"], what="a state")
        assert state(sub, "demo1")["report_rate"] == 10

        # report rate 5: echoed by the emulator, then reports every 5 s
        sub.publish("tuyameter/demo1/set/report_rate", "5")
        sub.wait(lambda: state(sub, "demo1")["report_rate"] == 5, what="report_rate 5")
        t0 = time.monotonic()

        def times() -> list[str]:
            return sorted({json.loads(p)["time"] for p in sub.on("tuyameter/demo1/state", t0)})

        # three reports after the change (states are also re-published in between, with the same time)
        sub.wait(lambda: len(times()) >= 3, timeout=30, what="three reports at the new rate")
        times_ = times()
        stamps = [dt.datetime.fromisoformat(t).timestamp() for t in times_]
        gaps = [b - a for a, b in itertools.pairwise(stamps) if b - a > 1]
        assert gaps and all(4.0 <= g <= 6.0 for g in gaps), gaps

        # out of range: refused before it reaches the meter, and the true state is shown again
        t1 = time.monotonic()
        sub.publish("tuyameter/demo1/set/report_rate", "99")
        sub.wait(lambda: sub.on("tuyameter/demo1/state", t1), what="state re-published after refusal")
        assert state(sub, "demo1")["report_rate"] == 5
        # the log line may reach us after the state does (another pipe): waited for, not assumed
        wait_until(lambda: any("refused" in line and "99" in line for line in gw.err), 10, "the refusal logged")

        # malformed commands never crash anything
        for topic, payload in (("report_rate", b"abc"), ("report_rate", b"\xff\xfe"), ("power_a", b"1"),
                               ("nonsense", b"1"), ("reset_coefficients_a", b"{}"), ("report_rate", b"")):  # fmt: skip
            sub.publish(f"tuyameter/demo1/set/{topic}", payload)
        sub.publish("tuyameter/nosuchmeter/set/report_rate", "5")

        # calibration number round trip, then the reset button
        v0 = state(sub, "demo1")["voltage"]
        sub.publish("tuyameter/demo1/set/calibration_voltage", "1.1")
        sub.wait(lambda: state(sub, "demo1")["calibration_voltage"] == 1.1, what="calibration 1.1")
        sub.wait(lambda: float(state(sub, "demo1")["voltage"]) > 1.05 * float(v0), timeout=15, what="scaled voltage")  # type: ignore[arg-type]
        sub.publish("tuyameter/demo1/set/reset_coefficients_a", "PRESS")
        sub.wait(lambda: state(sub, "demo1")["calibration_voltage"] == 1.0, what="reset")
        assert sum("command ignored" in line for line in gw.err) >= 6
        assert gw.p.poll() is None

        # Home Assistant restarts: discovery and states come again
        n = len(sub.on(CFG.format("demo2")))
        sub.publish("homeassistant/status", "online")
        sub.wait(lambda: len(sub.on(CFG.format("demo2"))) > n, what="discovery re-published")

        diag = sub.last_json("tuyameter/demo1/diagnostics")
        assert diag["online"] is True and "frames_per_second" in diag
    finally:
        gw.stop(signal.SIGKILL)  # no goodbye: the broker publishes the last will
    sub.wait(lambda: sub.on("tuyameter/bridge/availability")[-1:] == [b"offline"], what="last will")


def test_broker_outage_loses_nothing_that_should_be_republished(broker: Broker, tmp_path: Path) -> None:
    gw = Proc("demo", "--meters", "1", "--speed", "5", "--mqtt", broker.url)
    try:
        s1 = Sub(broker.port)
        s1.wait(lambda: s1.on("tuyameter/demo1/state"), what="first state")
        s1.close()
        broker.stop()  # the broker dies, retained messages and all (no persistence)
        n = len(gw.out)
        wait_until(lambda: len(gw.out) - n >= 2, 15, "readings keep flowing to the console")
        broker.start()
        s2 = Sub(broker.port)
        try:
            s2.wait(lambda: s2.on(CFG.format("demo1")), timeout=90, what="discovery after broker restart")
            s2.wait(lambda: s2.on("tuyameter/demo1/state"), what="state after broker restart")
            s2.wait(lambda: s2.on("tuyameter/bridge/availability")[-1:] == [b"online"], what="bridge online again")
            s2.wait(lambda: s2.on("tuyameter/demo1/availability")[-1:] == [b"online"], what="meter online again")
        finally:
            s2.close()
    finally:
        gw.stop()


def test_gateways_sharing_a_broker_each_have_their_own_availability(broker: Broker, sub: Sub) -> None:
    """Meters split between two gateway processes (one fleet, two cores): each has its own client id
    and last will, so killing one marks only its meters unavailable."""
    gws = {
        w: Proc("run", "sim://pj1103a?speed=5", "--id", m, "--no-store", "--mqtt", broker.url, "--mqtt-bridge", w)
        for w, m in (("w1", "east"), ("w2", "west"))
    }
    try:
        for w, m in (("w1", "east"), ("w2", "west")):
            sub.wait(lambda w=w: sub.on(f"tuyameter/bridge/{w}/availability")[-1:] == [b"online"], what=f"{w} online")
            sub.wait(lambda m=m: sub.on(CFG.format(m)), what=f"discovery of {m}")
            topics = {a["topic"] for a in json.loads(sub.on(CFG.format(m))[-1])["availability"]}
            assert topics == {f"tuyameter/bridge/{w}/availability", f"tuyameter/{m}/availability"}
        gws["w1"].stop(signal.SIGKILL)
        sub.wait(lambda: sub.on("tuyameter/bridge/w1/availability")[-1:] == [b"offline"], what="w1's last will")
        n = len(sub.on("tuyameter/west/state"))
        sub.wait(lambda: len(sub.on("tuyameter/west/state")) > n + 1, what="west's states go on")
        assert sub.on("tuyameter/bridge/w2/availability") == [b"online"]  # w1's death did not touch it
        assert not sub.on("tuyameter/bridge/availability")
    finally:
        for gw in gws.values():
            gw.stop()


def test_meter_link_lost_goes_offline(broker: Broker, sub: Sub, tmp_path: Path) -> None:
    link = tmp_path / "m"
    sim, path = start_sim("--pty", "--quiet", "--link", str(link), "--speed", "5")
    gw = Proc("run", path, "--id", "kitchen", "--mqtt", broker.url)
    try:
        sub.wait(lambda: sub.on("tuyameter/kitchen/availability")[-1:] == [b"online"], what="online")
        sim.stop()
        sub.wait(lambda: sub.on("tuyameter/kitchen/availability")[-1:] == [b"offline"], what="meter offline")
        assert sub.on("tuyameter/bridge/availability")[-1:] == [b"online"]
        sub.wait(lambda: sub.last_json("tuyameter/kitchen/diagnostics")["online"] is False, what="link diagnostic")
        sim, _ = start_sim("--pty", "--quiet", "--link", str(link), "--speed", "5")
        sub.wait(lambda: sub.on("tuyameter/kitchen/availability")[-1:] == [b"online"], what="online again")
    finally:
        gw.stop()
        sim.stop()
    sub.wait(lambda: sub.on("tuyameter/bridge/availability")[-1:] == [b"offline"], what="clean shutdown says offline")
    assert sub.on("tuyameter/kitchen/availability")[-1:] == [b"offline"]


def test_mqtts_with_ca_and_password(tmp_path: Path) -> None:
    ca, cert, key = make_certs(tmp_path)
    pwfile = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "meter", "s3cret"], check=True, capture_output=True)
    tls = Broker(tmp_path, extra=f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\npassword_file {pwfile}\n")
    url = f"mqtts://meter:s3cret@127.0.0.1:{tls.port}"
    good = Proc("demo", "--meters", "1", "--speed", "5", "--mqtt", url, "--mqtt-ca", str(ca), "--mqtt-prefix", "good")
    unverified = Proc("demo", "--meters", "1", "--speed", "5", "--mqtt", url, "--mqtt-prefix", "bad")
    insecure = Proc("demo", "--meters", "1", "--speed", "5", "--mqtt", url, "--mqtt-insecure", "--mqtt-prefix", "ins")
    wrong_pw = Proc("demo", "--meters", "1", "--mqtt", url.replace("s3cret", "nope"), "--mqtt-ca", str(ca),
                    "--mqtt-prefix", "pw")  # fmt: skip
    seen: list[str] = []

    def watch() -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tls-watch")
        c.username_pw_set("meter", "s3cret")
        c.tls_set(ca_certs=str(ca))
        c.on_connect = lambda c, u, f, rc, p: c.subscribe("#")
        c.on_message = lambda c, u, m: seen.append(m.topic)
        c.connect("127.0.0.1", tls.port)
        c.loop_start()
        try:
            wait_until(
                lambda: (
                    {"good/demo1/state", "ins/demo1/state"} <= set(seen)
                    and all(any("unreachable" in line for line in p.err) for p in (unverified, wrong_pw))
                ),
                40,
                "the good clients publish, the bad ones are refused",
            )
        finally:
            c.loop_stop()
            c.disconnect()

    try:
        watch()
        assert "good/demo1/state" in seen and "ins/demo1/state" in seen
        assert not any(t.startswith(("bad/", "pw/")) for t in seen)
        assert any("unreachable" in line for line in unverified.err)
        assert any("unreachable" in line for line in wrong_pw.err)
        assert all(p.p.poll() is None for p in (good, unverified, insecure, wrong_pw))  # still retrying, not dead
        assert not any("s3cret" in line for p in (good, unverified) for line in p.err)  # passwords never logged
    finally:
        for p in (good, unverified, insecure, wrong_pw):
            p.stop()
        tls.stop()


def test_a_flood_of_2000_commands_leaves_the_meter_consistent(broker: Broker, sub: Sub) -> None:
    """2,000 report-rate and absurd-number commands as fast as the broker takes them: the gateway
    stays up, refuses the absurd ones, drops what it cannot carry out in time, and the meter's
    report rate ends as the state the gateway publishes."""
    gw = Proc("demo", "--meters", "1", "--speed", "1", "--mqtt", broker.url)
    try:
        sub.wait(lambda: sub.on("tuyameter/demo1/state") and state(sub, "demo1").get("power_a"), what="a state")
        for i in range(2000):
            payload = ("1e308", "inf", "nan", "-1e308")[i % 4] if i % 5 == 0 else str(3 + i % 58)
            sub.publish("tuyameter/demo1/set/report_rate", payload)
        sub.publish("tuyameter/demo1/set/report_rate", "7")  # the last word
        sub.wait(lambda: state(sub, "demo1")["report_rate"] == 7, timeout=60, what="report_rate 7 at last")
        assert gw.p.poll() is None
        t0 = time.monotonic()
        sub.publish("tuyameter/demo1/set/report_rate", "9")  # and it still takes commands
        sub.wait(lambda: state(sub, "demo1")["report_rate"] == 9, timeout=20, what="report_rate 9")
        assert time.monotonic() - t0 < 20
    finally:
        gw.stop()
    assert not any("Traceback" in line or "Task exception" in line for line in gw.err), gw.err[-5:]
    assert any("refused" in line and ("inf" in line or "1e+308" in line or "outside" in line) for line in gw.err)


def test_retained_diagnostics_say_offline_after_a_clean_stop(broker: Broker, sub: Sub) -> None:
    gw = Proc("demo", "--meters", "1", "--speed", "1", "--mqtt", broker.url)
    try:
        topic = "tuyameter/demo1/diagnostics"
        sub.wait(lambda: sub.on(topic) and sub.last_json(topic)["online"], timeout=30, what="diagnostics online")
    finally:
        assert gw.stop() == 0
    sub.wait(lambda: sub.last_json("tuyameter/demo1/diagnostics")["online"] is False, what="diagnostics offline")
    late = Sub(broker.port)  # what a client that connects now is handed (retained)
    try:
        late.wait(lambda: late.on("tuyameter/demo1/diagnostics"), what="retained diagnostics")
        assert late.last_json("tuyameter/demo1/diagnostics")["online"] is False
    finally:
        late.close()


def test_workers_share_a_fleet_and_a_dead_worker_comes_back(broker: Broker, sub: Sub, tmp_path: Path) -> None:
    """`run -c FLEET --workers 2`: two gateway processes, each its meters (a stable hash of the id),
    its bridge and last will, one SQLite store; a worker killed with SIGKILL is restarted and its
    meters come back, the other worker's go on untouched; a stop stops both cleanly (each worker
    gets SIGTERM twice then, the group's and the supervisor's: the second must not cut its clean
    stop short)."""
    from tuyameter.gateway.workers import worker_of

    meters = [f"m{i}" for i in range(6)]
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("meters:\n" + "".join(f"  - id: {m}\n    url: sim://pj1103a?speed=5&seed={i}\n"
                                            for i, m in enumerate(meters)))  # fmt: skip
    db = tmp_path / "fleet.db"
    owner = {m: worker_of(m, 2) for m in meters}
    assert set(owner.values()) == {0, 1}  # the test needs both workers busy
    gw = Proc("run", "-c", str(fleet), "--workers", "2", "--db", str(db), "--mqtt", broker.url, "--json")
    try:
        for w in (0, 1):
            sub.wait(lambda w=w: sub.on(f"tuyameter/bridge/w{w}/availability")[-1:] == [b"online"], what=f"w{w}")
        for m in meters:
            sub.wait(lambda m=m: sub.on(f"tuyameter/{m}/state"), what=f"{m}'s state")
            topics = {a["topic"] for a in json.loads(sub.on(CFG.format(m))[-1])["availability"]}
            assert f"tuyameter/bridge/w{owner[m]}/availability" in topics
        assert not sub.on("tuyameter/bridge/availability")  # no worker speaks for the whole fleet
        wait_until(lambda: len([ln for ln in gw.err if "worker " in ln and ": pid " in ln]) == 2, 10, "pids")
        pids = {
            int(ln.split("worker ")[1][0]): int(ln.split(": pid ")[1].split(",")[0]) for ln in gw.err if ": pid " in ln
        }
        os.kill(pids[0], signal.SIGKILL)
        sub.wait(lambda: sub.on("tuyameter/bridge/w0/availability")[-1:] == [b"offline"], what="w0's last will")
        wait_until(lambda: any("restarting in" in ln for ln in gw.err), 10, "the supervisor's restart")
        since = time.monotonic()  # the subscriber's clock
        sub.wait(lambda: sub.on("tuyameter/bridge/w0/availability")[-1:] == [b"online"], 30, what="w0 again")
        for m in meters:
            sub.wait(lambda m=m: sub.on(f"tuyameter/{m}/state", since), 30, what=f"{m} after the restart")
        assert sub.on("tuyameter/bridge/w1/availability") == [b"online"]  # never touched
    finally:
        rc = gw.stop()
    assert rc == 0, gw.err[-10:]
    for w in (0, 1):  # each said so as it stopped (the subscriber may get it a moment later)
        sub.wait(lambda w=w: sub.on(f"tuyameter/bridge/w{w}/availability")[-1:] == [b"offline"], what=f"w{w} off")
    with sqlite3.connect(db) as con:
        stored = {r[0] for r in con.execute("SELECT DISTINCT meter FROM reading")}
    assert stored == set(meters)


def test_workers_need_a_fleet_that_keeps_them_busy(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("meters:\n  - id: only\n    url: sim://pj1103a\n")
    for args, says in (
        (["-c", str(fleet), "--workers", "2"], "cannot keep 2 workers busy"),
        (["sim://pj1103a", "--workers", "2"], "configuration file"),
        (["-c", str(fleet), "--workers", "0"], "number of worker processes"),
    ):
        p = subprocess.run(
            [*TUYAMETER, "run", *args, "--no-store"], capture_output=True, text=True, check=False, timeout=60
        )
        assert p.returncode == 2 and says in p.stderr, (args, p.stderr)
