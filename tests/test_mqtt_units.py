"""Discovery payloads, command parsing and broker URLs (pure parts of the MQTT output)."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyameter.mqtt.commands import Command, CommandError, parse_command
from tuyameter.mqtt.discovery import device_config, discovery_topic, state_document
from tuyameter.mqtt.settings import MqttSettingsError, parse_mqtt_url
from tuyameter.profiles import find_profile

S = parse_mqtt_url("mqtt://127.0.0.1:1883")
P = find_profile("pj1103a")
PROFILES = {"house": P}


def cmps() -> dict[str, dict[str, object]]:
    return device_config(S, "house", P)["cmps"]  # type: ignore[no-any-return]


def test_device_config_covers_every_entity() -> None:
    cfg = device_config(S, "house", P)
    assert discovery_topic(S, "house") == "homeassistant/device/tuyameter_house/config"
    assert cfg["dev"]["identifiers"] == ["tuyameter_house"] and cfg["o"]["name"] == "tuyameter"
    assert cfg["state_topic"] == "tuyameter/house/state"
    assert {"topic": "tuyameter/bridge/availability"} in cfg["availability"]
    c = cmps()
    for name in ("power_a", "power_b", "power_total"):
        assert c[name]["p"] == "sensor" and c[name]["device_class"] == "power" and c[name]["unit_of_measurement"] == "W"
    for name, dclass, unit in (
        ("current_a", "current", "A"),
        ("voltage", "voltage", "V"),
        ("frequency", "frequency", "Hz"),
    ):
        assert (c[name]["device_class"], c[name]["unit_of_measurement"], c[name]["state_class"]) == (
            dclass,
            unit,
            "measurement",
        )
    assert c["power_factor_b"]["device_class"] == "power_factor"
    assert c["direction_b"]["device_class"] == "enum" and c["direction_b"]["options"] == ["forward", "reverse"]
    assert "state_class" not in c["direction_b"] and "unit_of_measurement" not in c["direction_b"]
    for name in ("energy_forward_a", "energy_reverse_a", "energy_forward_b", "energy_reverse_b",
                 "energy_forward_total", "energy_reverse_total"):  # fmt: skip
        assert (c[name]["device_class"], c[name]["state_class"], c[name]["unit_of_measurement"]) == (
            "energy", "total_increasing", "kWh")  # fmt: skip
    cal = c["calibration_voltage"]
    assert (cal["p"], cal["min"], cal["max"], cal["step"], cal["mode"], cal["entity_category"]) == (
        "number", 0.8, 1.2, 0.001, "box", "config")  # fmt: skip
    assert cal["command_topic"] == "tuyameter/house/set/calibration_voltage"
    assert sum(1 for k in c if k.startswith("calibration_")) == 10
    rr = c["report_rate"]
    assert (rr["p"], rr["min"], rr["max"], rr["step"], rr["unit_of_measurement"]) == ("number", 3, 60, 1, "s")
    for b in ("reset_coefficients_a", "reset_coefficients_b"):
        assert c[b]["p"] == "button" and c[b]["payload_press"] == "PRESS" and c[b]["entity_category"] == "config"
    for d in ("link", "frames_per_second", "checksum_errors", "mcu_restarts", "seconds_since_report"):
        assert c[d]["entity_category"] == "diagnostic" and c[d]["state_topic"] == "tuyameter/house/diagnostics"
    assert c["power_total_mcu"]["entity_category"] == "diagnostic"
    assert "unknown_103" not in c


def test_unique_ids_are_stable_unique_and_valid() -> None:
    a, b = cmps(), cmps()
    assert a == b
    ids = [x["unique_id"] for x in a.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", str(i)) for i in ids)
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", k) for k in a)
    assert a["power_a"]["default_entity_id"] == "sensor.house_power_a"
    assert a["report_rate"]["default_entity_id"] == "number.house_report_rate"
    # releases before 2025.10 read object_id instead: the same id, for every entity
    for key, c in a.items():
        assert c["default_entity_id"] == f"{c['p']}.{c['object_id']}", key
        assert re.fullmatch(r"house_[a-z0-9_]+", c["object_id"]), key


def test_state_document_has_every_key() -> None:
    doc = state_document(P, {"power_a": 12.5})
    assert doc["power_a"] == 12.5 and doc["voltage"] is None and "power_total" in doc


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("tuyameter/house/set/report_rate", b"5", Command("house", "report_rate", 5)),
        ("tuyameter/house/set/calibration_voltage", b" 1.004 ", Command("house", "calibration_voltage", 1.004)),
        ("tuyameter/house/set/reset_coefficients_b", b"PRESS", Command("house", "reset_coefficients_b", True)),
    ],
)
def test_commands(topic: str, payload: bytes, expected: Command) -> None:
    assert parse_command(S, topic, payload, PROFILES) == expected


@pytest.mark.parametrize(
    ("topic", "payload", "msg"),
    [
        ("tuyameter/house/set/report_rate", b"abc", "not a number"),
        ("tuyameter/house/set/report_rate", b"\xff\xfe", "UTF-8"),
        ("tuyameter/house/set/report_rate", b"1e999", "not a number"),
        ("tuyameter/house/set/report_rate", b"true", "not a number"),
        ("tuyameter/house/set/report_rate", b"NaN", "not a number"),
        ("tuyameter/house/set/report_rate", b"9" * 100, "too long"),
        ("tuyameter/house/set/power_a", b"5", "not a writable"),
        ("tuyameter/garage/set/report_rate", b"5", "unknown meter"),
        ("tuyameter/house/set/reset_coefficients_a", b"yes", "button takes"),
        ("tuyameter/house/report_rate", b"5", "not <prefix>"),
    ],
)
def test_bad_commands(topic: str, payload: bytes, msg: str) -> None:
    with pytest.raises(CommandError, match=msg):
        parse_command(S, topic, payload, PROFILES)


@given(st.text(max_size=60), st.binary(max_size=100))
def test_command_parser_never_crashes(leaf: str, payload: bytes) -> None:
    for topic in (f"tuyameter/house/set/{leaf}", f"tuyameter/{leaf}", leaf):
        with contextlib.suppress(CommandError):
            cmd = parse_command(S, topic, payload, PROFILES)
            assert cmd.meter == "house"


def test_mqtt_urls() -> None:
    s = parse_mqtt_url("mqtts://me:p%40ss@broker.lan?client_id=gw1&prefix=home/meters&insecure=1")
    assert (s.host, s.port, s.username, s.password, s.tls, s.tls_insecure) == (
        "broker.lan",
        8883,
        "me",
        "p@ss",
        True,
        True,
    )
    assert s.client_id == "gw1" and s.bridge_availability == "home/meters/bridge/availability"
    assert "p@ss" not in s.redacted_url()
    assert parse_mqtt_url("mqtt://h").port == 1883
    a, b = parse_mqtt_url("mqtt://h?bridge=w1"), parse_mqtt_url("mqtt://h", bridge="w2")
    assert (a.bridge_availability, b.bridge_availability) == ("tuyameter/bridge/w1/availability",
                                                              "tuyameter/bridge/w2/availability")  # fmt: skip
    assert a.client_id != b.client_id != parse_mqtt_url("mqtt://h").client_id
    for bad in (
        "http://h",
        "mqtt://",
        "mqtt://h:x",
        "mqtt://h?colour=red",
        "mqtt://h?prefix=a+b",
        "mqtt://h?bridge=a/b",
    ):
        with pytest.raises(MqttSettingsError):
            parse_mqtt_url(bad)


@pytest.mark.parametrize("payload", [b"1e308", b"-1e308", b"inf", b"-Infinity", b"NaN", b"1e400", b"9" * 60, b"0x10"])
def test_absurd_numbers_on_every_number_command_are_refused(payload: bytes) -> None:
    from tuyameter.pipeline.writes import WriteRefused, validate_write

    for q in P.quantities:
        if not q.writable or q.options or q.resets:
            continue
        try:
            cmd = parse_command(S, f"tuyameter/house/set/{q.name}", payload, PROFILES)
        except CommandError:
            continue  # not a number at all
        with pytest.raises(WriteRefused):  # a number, but never one the meter can take
            validate_write(P, cmd.name, cmd.value)


@given(
    st.sampled_from([q.name for q in P.quantities if q.writable]), st.floats() | st.integers() | st.text(max_size=12)
)
def test_any_command_value_is_taken_or_refused_never_raises_otherwise(name: str, value: object) -> None:
    from tuyameter.pipeline.writes import WriteRefused, validate_write

    payload = str(value).encode()
    try:
        cmd = parse_command(S, f"tuyameter/house/set/{name}", payload, PROFILES)
        validate_write(P, cmd.name, cmd.value)
    except (CommandError, WriteRefused):
        pass


@given(
    n=st.integers(0, 300),
    interval=st.sampled_from([1.0, 10.0, 60.0]),
    steps=st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=80),
)
def test_a_rotation_hands_each_meter_out_once_per_interval_in_spaced_slices(
    n: int, interval: float, steps: list[float]
) -> None:
    """Periodic publishes (diagnostics, refresh) spread over their interval: however often the
    publisher is woken (steps up to an interval; a longer stall gives each meter one turn, not the
    missed ones), a meter comes at most once a call, the calls that hand out anything are a slice
    apart, and over a span every meter comes as often as the interval says."""
    from tuyameter.mqtt.pacing import SLICE, Rotation

    items = [f"m{i}" for i in range(n)]
    r = Rotation(items, interval, start=100.0)
    now, counts, last_slice = 100.0, dict.fromkeys(items, 0), None
    for step in steps:
        now += step * interval
        got = r.due(now)
        assert len(got) == len(set(got)) <= n
        if got:
            assert last_slice is None or now - last_slice >= SLICE - 1e-9
            last_slice = now
        for g in got:
            counts[g] += 1
    if n:
        rounds = (now - 100.0) / interval
        assert all(c <= rounds + 1 for c in counts.values()), (rounds, counts)
        if now >= r.next_time():  # the publisher would be called now: it catches up
            for g in r.due(now):
                counts[g] += 1
        assert all(c >= int(rounds) - 1 for c in counts.values()), (rounds, counts)
    else:
        assert r.due(now) == [] and r.next_time() == float("inf")


def test_a_rotation_spreads_a_thousand_meters_over_the_interval() -> None:
    from tuyameter.mqtt.pacing import SLICE, Rotation

    r = Rotation([f"m{i}" for i in range(1000)], 10.0, start=0.0)
    slices, t = [], 0.0
    while t < 10.0:
        t = r.next_time()
        slices.append(r.due(t))
    assert len(slices) == round(10.0 / SLICE) and max(len(s) for s in slices) <= 1000 * SLICE / 10.0 + 1
    assert sorted(m for s in slices for m in s) == sorted(f"m{i}" for i in range(1000))
