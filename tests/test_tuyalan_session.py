"""The sans-IO Tuya LAN client against the sans-IO device (what the emulator serves), every version."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyameter.tuyalan import events as ev
from tuyameter.tuyalan.client import ClientConfig, ClientSession, Phase
from tuyameter.tuyalan.device import DeviceSession

KEY = b"0123456789abcdef"
VERSIONS = ("3.1", "3.3", "3.4", "3.5")


class Meter:
    """A device model: settings are echoed; DP 129 accepts only 3..60 (as the meter)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {"101": 5234, "102": "forward", "112": 2319, "129": 10}
        self.session: DeviceSession | None = None

    def dps(self) -> dict[str, Any]:
        return dict(self.values)

    def control(self, dps: dict[str, Any]) -> None:
        for k, v in dps.items():
            if k != "129" or 3 <= v <= 60:
                self.values[k] = v
        assert self.session is not None
        self.session.push({k: self.values[k] for k in dps})


class Pair:
    def __init__(self, version: str, client_key: bytes = KEY, device22: bool = False, **cfg: Any) -> None:
        self.meter = Meter()
        self.device = DeviceSession("bf01", KEY, version, self.meter, device22=device22)
        self.meter.session = self.device
        self.client = ClientSession(ClientConfig("bf01", client_key, version, **cfg))
        self.events: list[ev.Event] = []
        self.now = 0.0
        self.client.start(self.now)
        self.pump()

    def pump(self) -> None:
        for _ in range(6):
            self.device.receive_data(self.client.data_to_send())
            self.client.receive_data(self.device.data_to_send(), self.now)
        self.events += self.client.events()

    def advance(self, t: float) -> None:
        self.now = t
        self.client.tick(t)
        self.pump()

    def of(self, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.mark.parametrize("version", VERSIONS)
def test_ready_status_and_a_confirmed_write(version: str) -> None:
    p = Pair(version)
    assert p.client.phase is Phase.READY and p.of(ev.Ready)[0].version == version
    assert p.of(ev.Dps)[0].dps == p.meter.values
    wid = p.client.write({"129": 5}, p.now)
    p.pump()
    (res,) = p.of(ev.WriteResult)
    assert (res.write_id, res.ok, res.echoed) == (wid, True, {"129": 5})


@pytest.mark.parametrize("version", VERSIONS)
def test_a_write_the_device_does_not_take_is_reported_not_applied(version: str) -> None:
    p = Pair(version)
    p.client.write({"129": 99}, p.now)
    p.pump()
    (res,) = p.of(ev.WriteResult)
    assert not res.ok and res.echoed == {"129": 10} and "kept" in (res.error or "")


@pytest.mark.parametrize("version", ("3.3", "3.4", "3.5"))
def test_updatedps_at_the_refresh_interval_brings_the_measured_values(version: str) -> None:
    p = Pair(version, refresh_dps=(101, 112), refresh_interval=3.0)
    assert p.client.next_deadline(p.now) == pytest.approx(1.0)  # the first refresh soon after ready
    p.advance(1.0)
    p.meter.values["101"] = 999
    p.advance(4.0)
    assert p.of(ev.Dps)[-1].dps == {"101": 999, "112": 2319}
    assert p.device.stats.refreshes == 2


def test_31_has_no_updatedps_and_polls_the_status_instead() -> None:
    p = Pair("3.1", refresh_dps=(101,), refresh_interval=3.0)
    p.advance(1.0)
    assert p.device.stats.refreshes == 0 and p.device.stats.queries == 2 and len(p.of(ev.Dps)) == 2


@pytest.mark.parametrize("version", ("3.3", "3.4"))
def test_device22_is_asked_again_with_the_dps_named(version: str) -> None:
    p = Pair(version, device22=True, refresh_dps=(101, 112))
    assert p.client.device22 and p.client.ready
    assert p.of(ev.Dps)[0].dps == {"101": 5234, "112": 2319}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_key_fails_with_a_reason_and_never_becomes_ready(version: str) -> None:
    p = Pair(version, client_key=b"k" * 16)
    if version == "3.1":  # 3.1 answers queries in clear: the key shows only in sealed messages
        assert p.client.ready
        p.meter.session = p.device
        p.device.push({"101": 1})
        p.pump()
        assert p.client.stats.undecodable == 1 and p.of(ev.Dps)[-1].dps != {"101": 1}
        return
    p.advance(3.0)
    (fail,) = p.of(ev.Failed)
    assert not p.of(ev.Ready) and "wrong local key" in fail.reason
    assert p.client.next_deadline(p.now) is None


@pytest.mark.parametrize("version", ("3.4", "3.5"))
def test_a_device_that_cannot_prove_the_key_is_refused(version: str) -> None:
    """A device answering the negotiation with a bad HMAC (not the owner of the key) is not trusted."""
    p = Pair(version)
    c = ClientSession(ClientConfig("bf01", KEY, version))
    c.start(0.0)
    fake = DeviceSession("bf01", b"z" * 16, version, Meter())
    fake.codec.local_key = KEY  # frames open, but the proof is made with another key
    fake.local_key = b"z" * 16
    fake.receive_data(c.data_to_send())
    c.receive_data(fake.data_to_send(), 0.0)
    (fail,) = [e for e in c.events() if isinstance(e, ev.Failed)]
    assert fail.kind == "key" and "does not prove the local key" in fail.reason
    assert p.client.ready  # the honest pair next to it is fine


@pytest.mark.parametrize("version", VERSIONS)
def test_a_silent_healthy_connection_wakes_only_for_heartbeats(version: str) -> None:
    p = Pair(version, heartbeat_interval=10.0)
    wakes, t = 0, p.now
    while t < 120.0:
        d = p.client.next_deadline(t)
        assert d is not None and d > t
        t = d
        wakes += 1
        p.advance(t)
    assert wakes <= 13 and p.device.stats.heartbeats >= 11 and p.client.ready


@pytest.mark.parametrize("version", VERSIONS)
def test_a_device_that_goes_silent_is_given_up(version: str) -> None:
    p = Pair(version, silence_limit=25.0)
    t = p.now
    while not p.of(ev.Failed):
        t = p.client.next_deadline(t) or t + 1
        p.now = t
        p.client.tick(t)
        p.events += p.client.events()  # the device hears nothing and answers nothing
        assert t < 60
    assert p.of(ev.Failed)[0].kind == "timeout" and 25.0 <= t < 26.0
    assert p.client.stats.frames_out >= 3  # heartbeats went out meanwhile; nothing came back


@given(
    junk=st.lists(st.binary(min_size=0, max_size=60), min_size=4, max_size=4),
    fake_len=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=300)
def test_garbage_and_lying_headers_between_frames_lose_nothing(junk: list[bytes], fake_len: int) -> None:
    """Junk, and a header in it claiming any length, cost at most a STALL second; no frame is lost."""
    p = Pair("3.4")
    lying = b"\x00\x00\x55\xaa" + bytes(8) + fake_len.to_bytes(4, "big")
    pushes = [{"101": i} for i in range(4)]
    for i, dps in enumerate(pushes):
        p.device.push(dps)
        frame = p.device.data_to_send()
        p.now += 0.5
        p.client.receive_data(junk[i] + (lying if i == 1 else b"") + frame, p.now)
        p.client.tick(p.now)
        if i == 1:  # the lying header holds the real frame back until it is given up
            p.now += 1.0
            p.client.tick(p.now)
        p.events += p.client.events()
    got = [e.dps for e in p.of(ev.Dps)][1:]
    assert got == pushes and p.client.ready


def test_the_lan_binding_reads_json_dps_through_the_profile() -> None:
    from tuyameter.profiles.loader import find_profile
    from tuyameter.sources.tuyalan.binding import LanBinding

    b = LanBinding(find_profile("pj1103a"))
    got = dict(b.readings({"101": 5234, "102": "REVERSE", "103": False, "112": True, "113": "x", "250": 7}))
    assert got == {"power_a": 523.4, "direction_a": "reverse", "unknown_103": False, "dp250": 7}
    assert (b.stats.type_mismatches, b.stats.unknown_dps) == (2, 1)
    assert b.lan_value("report_rate", 5) == ("129", 5)
    assert b.lan_value("calibration_voltage", 1.004) == ("116", 1004)
    assert b.lan_value("reset_coefficients_a", True) == ("120", True)
    assert 101 in b.measured_dps() and 129 not in b.measured_dps()


def test_the_lan_source_gives_every_link_health_figure_home_assistant_reads() -> None:
    from tuyameter.mqtt.discovery import DIAGNOSTICS
    from tuyameter.profiles.loader import find_profile
    from tuyameter.sources.tuyalan import TuyaLanSource

    src = TuyaLanSource("tuya://bf01@127.0.0.1?key=0123456789abcdef&version=3.4", find_profile("pj1103a"))
    diag = src.diagnostics()
    assert {k for k, *_ in DIAGNOSTICS} - {"frames_per_second"} <= set(diag)  # added by the MQTT output
    assert "0123456789abcdef" not in str(diag) and "key=" not in src.description
