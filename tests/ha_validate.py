"""Validate discovery payloads with Home Assistant's own MQTT code and schemas.

Run by ``test_ha_schemas.py`` under a Python that has the ``homeassistant`` package
(``make ha-venv``). Reads ``[{"topic": …, "payload": {…}}, …]`` on stdin and prints
``{"components": N, "errors": [...]}``. A key that Home Assistant's schema silently
drops counts as an error too (it would be a setting that does nothing), except
``default_entity_id``, which only newer Home Assistant versions know.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import sys
import tempfile
from typing import Any

import voluptuous as vol
from homeassistant.components.mqtt import discovery as ha_discovery
from homeassistant.components.mqtt.schemas import DEVICE_DISCOVERY_SCHEMA, MQTT_ORIGIN_INFO_SCHEMA
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame

NEWER_KEYS = {"default_entity_id"}


def validate(topic: str, payload: dict[str, Any]) -> tuple[int, list[str]]:
    errors: list[str] = []
    if not topic.startswith("homeassistant/device/") or not topic.endswith("/config"):
        errors.append(f"{topic}: not a device discovery topic")
    dev = ha_discovery.MQTTDiscoveryPayload(copy.deepcopy(payload))
    ha_discovery._replace_all_abbreviations(dev)
    try:
        DEVICE_DISCOVERY_SCHEMA(dev)
        MQTT_ORIGIN_INFO_SCHEMA(dev["origin"])
    except vol.Invalid as e:
        return 0, [f"{topic}: device payload: {e}"]
    n = 0
    for cid, raw in dev["components"].items():
        comp = dict(raw)
        platform = comp.pop("platform")
        own_keys = set(comp)
        disc = ha_discovery.MQTTDiscoveryPayload(comp)
        disc["device"] = dev["device"]
        disc["origin"] = dev["origin"]
        ha_discovery._merge_common_device_options(disc, dev)
        schema = importlib.import_module(f"homeassistant.components.mqtt.{platform}").DISCOVERY_SCHEMA
        try:
            out = schema(dict(disc))
        except vol.Invalid as e:
            errors.append(f"{cid} ({platform}): {e}")
            continue
        dropped = own_keys - set(out) - NEWER_KEYS
        if dropped:
            errors.append(f"{cid} ({platform}): keys ignored by Home Assistant: {sorted(dropped)}")
        n += 1
    return n, errors


async def run(items: list[dict[str, Any]], config_dir: str) -> dict[str, Any]:
    # Template validators want a running Home Assistant core to attach to.
    hass = HomeAssistant(config_dir)
    frame.async_setup(hass)
    total, errors = 0, []
    for item in items:
        n, errs = validate(item["topic"], item["payload"])
        total += n
        errors += errs
    return {"home_assistant": HA_VERSION, "components": total, "errors": errors}


def main() -> int:
    items = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(asyncio.run(run(items, d))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
