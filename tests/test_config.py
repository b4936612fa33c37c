"""The gateway configuration file: valid input, and clear file:line errors for the rest."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyameter.config import load_config, parse_config
from tuyameter.util.yamlfile import YamlFileError, load_yaml_text

GOOD = """
profile_dirs: [~/profiles]
meters:
  - id: house
    url: /dev/ttyUSB0
    late_direction: [b]
    suppress_lone_zeros: true
  - id: garage
    url: socket://127.0.0.1:7000
    profile: pj1103a_qqb5tzcb1qarf0s3
    baud: 115200
    wifi_state: 3
"""


def test_good_config(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(GOOD)
    cfg = load_config(f)
    assert [m.id for m in cfg.meters] == ["house", "garage"]
    assert cfg.meters[0].late_direction == ["b"] and cfg.meters[0].suppress_lone_zeros
    assert cfg.meters[1].baud == 115200 and cfg.meters[1].wifi_state == 3 and cfg.profile_dirs == ["~/profiles"]


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("meters:\n  - id: a\n    url: x\n    baud: fast\n", 4, "baud"),
        ("meters:\n  - id: a\n    url: x\n  - id: a\n    url: y\n", 4, "used twice"),
        ("meters:\n  - id: a\n    urll: x\n", 3, "unknown key 'urll'"),
        ("meters:\n  - id: a\n", 2, "give the meter's url or its tuya: section"),
        ("meters: []\n", 1, "non-empty"),
        ("meter:\n  - id: a\n", 1, "unknown key 'meter'"),
        ("meters:\n  - id: 'a b'\n    url: x\n", 2, "may only use"),
        ("meters:\n  - id: a\n    url: x\n    wifi_state: 9\n", 4, "0..5"),
        ("meters:\n  - id: a\n    url: x\nstore:\n  timezone: Europe/Bern\n", 5, "unknown time zone 'Europe/Bern'"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, line: int, msg: str) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(text)
    with pytest.raises(YamlFileError) as ei:
        load_config(f)
    assert str(ei.value).startswith(f"{f}:{line}:") and msg in str(ei.value), str(ei.value)


@given(st.text(max_size=200))
def test_garbage_config_never_crashes(text: str) -> None:
    with contextlib.suppress(YamlFileError):
        parse_config(load_yaml_text(text, "c.yaml"), "c.yaml")


def test_mqtt_section(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        "meters:\n  - {id: a, url: x}\n"
        "mqtt:\n  url: mqtts://u:p@broker:8884\n  insecure: true\n  topic_prefix: home/tm\n"
    )
    cfg = load_config(f)
    assert cfg.db is None
    assert cfg.mqtt is not None
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.tls, cfg.mqtt.tls_insecure) == ("broker", 8884, True, True)
    assert cfg.mqtt.meter_topic("a", "state") == "home/tm/a/state"
    for text, line, msg in (
        ("mqtt:\n  host: x\n", 4, "unknown key 'host'"),
        ("mqtt:\n  url: http://x\n", 4, "mqtt://"),
        ("mqtt:\n  ca: /x\n", 4, "missing 'url'"),
    ):
        f.write_text("meters:\n  - {id: a, url: x}\n" + text)
        with pytest.raises(YamlFileError) as ei:
            load_config(f)
        assert str(ei.value).startswith(f"{f}:{line}:") and msg in str(ei.value), str(ei.value)


def test_store_section(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("meters:\n  - {id: a, url: x}\nstore:\n  db: postgresql://gw@db/tm\n  keep_days: 30\n"
                 "  timezone: Australia/Lord_Howe\n")  # fmt: skip
    cfg = load_config(f)
    assert (cfg.db, cfg.keep_days, cfg.timezone) == ("postgresql://gw@db/tm", 30.0, "Australia/Lord_Howe")
    f.write_text("meters:\n  - {id: a, url: x}\nstore:\n  path: x\n")
    with pytest.raises(YamlFileError, match="unknown key 'path'"):
        load_config(f)


def test_a_tuya_section_takes_its_key_from_a_file_or_a_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuyameter.sources.tuyalan.target import parse_lan_url

    (tmp_path / "g.key").write_text("abcdefghijklmnop\n")
    monkeypatch.setenv("SHED_KEY", "ponmlkjihgfedcba")
    f = tmp_path / "t.yaml"
    f.write_text("""meters:
  - id: garage
    tuya: {device_id: bf01, host: 192.0.2.20, version: "3.4", key_file: g.key}
  - id: shed
    tuya: {device_id: bf02, host: "2001:db8::7", port: 6669, key_env: SHED_KEY}
""")
    garage, shed = (parse_lan_url(m.url) for m in load_config(f).meters)
    assert (garage.host, garage.port, garage.version, garage.key) == ("192.0.2.20", 6668, "3.4", b"abcdefghijklmnop")
    assert (shed.host, shed.port, shed.version, shed.key) == ("2001:db8::7", 6669, "3.3", b"ponmlkjihgfedcba")
    assert "abcdefghijklmnop" not in "".join(m.url for m in load_config(f).meters)


@pytest.mark.parametrize(
    ("section", "line", "msg"),
    [
        ("{device_id: bf01, host: h, key_file: nokey.key}", 3, "cannot read the local key"),
        ("{device_id: bf01, host: h, key_env: NO_SUCH_VARIABLE_SET}", 3, "is not set"),
        ("{device_id: bf01, host: h}", 3, "key_file (a file holding it) or key_env"),
        ("{device_id: bf01, host: h, key_env: K, version: '3.2'}", 3, "version"),
    ],
)
def test_tuya_section_mistakes_name_file_and_line(tmp_path: Path, section: str, line: int, msg: str) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(f"meters:\n  - id: garage\n    tuya: {section}\n")
    with pytest.raises(YamlFileError) as e:
        load_config(f)
    assert f"t.yaml:{line}" in str(e.value) and msg in str(e.value)


def test_url_and_tuya_section_are_one_or_the_other(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("meters:\n  - id: a\n    url: /dev/ttyUSB0\n    tuya: {device_id: b, host: h, key_env: K}\n")
    with pytest.raises(YamlFileError, match="url or its tuya: section"):
        load_config(f)
