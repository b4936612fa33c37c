"""Discovery payloads pass Home Assistant's own MQTT schemas (run in Home Assistant's Python)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tuyameter.mqtt.discovery import device_config, discovery_topic
from tuyameter.mqtt.settings import parse_mqtt_url
from tuyameter.profiles import find_profile
from tuyameter.profiles.loader import list_profiles

ROOT = Path(__file__).resolve().parent.parent
HA_PYTHON = Path(os.environ.get("TUYAMETER_HA_PYTHON", ROOT / ".venv-ha" / "bin" / "python"))


def ha_validate(items: list[dict[str, Any]]) -> dict[str, Any]:
    if not HA_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{HA_PYTHON} missing: CI must run 'make ha-venv' first")
        pytest.skip("no Home Assistant venv: run 'make ha-venv' (needs Python 3.13)")
    r = subprocess.run(
        [str(HA_PYTHON), str(ROOT / "tests" / "ha_validate.py")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def test_every_shipped_profile_passes_home_assistant_schemas() -> None:
    s = parse_mqtt_url("mqtt://127.0.0.1:1883?prefix=home/meters")
    items = [
        {"topic": discovery_topic(s, f"m{i}"), "payload": device_config(s, f"m{i}", find_profile(name))}
        for i, name in enumerate(sorted(list_profiles()))
    ]
    res = ha_validate(items)
    assert res["errors"] == []
    expected = sum(len(it["payload"]["cmps"]) for it in items)
    assert res["components"] == expected > 60


def test_the_validator_catches_bad_payloads() -> None:
    s = parse_mqtt_url("mqtt://127.0.0.1:1883")
    cfg = device_config(s, "x", find_profile("pj1103a"))
    cfg["cmps"]["power_a"]["device_class"] = "bogus"
    cfg["cmps"]["report_rate"]["min"] = "three"
    cfg["cmps"]["voltage"]["colour"] = "red"
    res = ha_validate([{"topic": discovery_topic(s, "x"), "payload": cfg}])
    joined = "\n".join(res["errors"])
    assert "power_a" in joined and "report_rate" in joined and "colour" in joined
