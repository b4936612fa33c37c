"""Home Assistant device-based discovery, generated from a profile (pure functions).

One retained message per meter on ``<discovery_prefix>/device/tuyameter_<meter>/config``
lists every entity as a component. States come from one JSON document per meter
(``<prefix>/<meter>/state``); link diagnostics from ``<prefix>/<meter>/diagnostics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuyameter import __version__
from tuyameter.mqtt.settings import MqttSettings
from tuyameter.profiles.model import Computed, DPSpec, Profile
from tuyameter.tuyamcu.constants import DPType

PRESS = "PRESS"

#: Link-health entities: (key in the diagnostics JSON, name, unit, device_class, state_class, icon)
DIAGNOSTICS: tuple[tuple[str, str, str | None, str | None, str | None, str], ...] = (
    ("frames_per_second", "Frames per second", "frames/s", None, "measurement", "mdi:swap-vertical"),
    ("checksum_errors", "Checksum errors", None, None, "total_increasing", "mdi:alert-circle-outline"),
    ("mcu_restarts", "MCU restarts", None, None, "total_increasing", "mdi:restart"),
    ("seconds_since_report", "Seconds since last report", "s", "duration", "measurement", "mdi:timer-sand"),
)


def node_id(meter: str) -> str:
    return f"tuyameter_{meter}"


def discovery_topic(settings: MqttSettings, meter: str) -> str:
    return f"{settings.discovery_prefix}/device/{node_id(meter)}/config"


def entity_kind(spec: DPSpec) -> str:
    """The Home Assistant platform for a DP (``none`` for those not exposed)."""
    if spec.ha is not None:
        return spec.ha
    if spec.access == "wo" and spec.type is DPType.BOOL:
        return "button"
    if spec.writable:
        return "number"
    if spec.type is DPType.BOOL:
        return "binary_sensor"
    return "sensor"


def _base(meter: str, platform: str, key: str, name: str | None) -> dict[str, Any]:
    return {
        "p": platform,
        "unique_id": f"{node_id(meter)}_{key}",
        # Home Assistant 2025.10+ reads default_entity_id; older releases only object_id: send both
        # so every supported release gives the documented entity id <platform>.<meter>_<key>.
        "default_entity_id": f"{platform}.{meter}_{key}",
        "object_id": f"{meter}_{key}",
        "name": name or key.replace("_", " ").capitalize(),
    }


def _measurement(c: dict[str, Any], device_class: str | None, state_class: str | None, unit: str | None) -> None:
    if device_class:
        c["device_class"] = device_class
    if state_class:
        c["state_class"] = state_class
    if unit:
        c["unit_of_measurement"] = unit


def dp_component(settings: MqttSettings, meter: str, spec: DPSpec) -> dict[str, Any] | None:
    kind = entity_kind(spec)
    if kind == "none":
        return None
    c = _base(meter, kind, spec.name, spec.label)
    tpl = f"{{{{ value_json.{spec.name} }}}}"
    if spec.icon:
        c["icon"] = spec.icon
    if spec.entity_category:
        c["entity_category"] = spec.entity_category
    elif spec.diagnostic:
        c["entity_category"] = "diagnostic"
    if kind == "sensor":
        c["value_template"] = tpl
        if spec.type is DPType.ENUM and spec.options:
            c["device_class"] = "enum"
            c["options"] = list(spec.options.values())
        else:
            _measurement(c, spec.device_class, spec.state_class, spec.unit)
            if spec.type is DPType.VALUE:
                c["suggested_display_precision"] = spec.decimals
    elif kind == "binary_sensor":
        c["value_template"] = f"{{{{ 'ON' if value_json.{spec.name} else 'OFF' }}}}"
        if spec.device_class:
            c["device_class"] = spec.device_class
    elif kind == "number":
        c["value_template"] = tpl
        c["command_topic"] = settings.meter_topic(meter, f"set/{spec.name}")
        lo, hi = spec.raw_range if spec.raw_range else (-(2**31), 2**31 - 1)
        c["min"], c["max"] = spec.to_value(lo), spec.to_value(hi)
        c["step"] = round(spec.scale * spec.step, 10)
        c["mode"] = "box"
        c.setdefault("entity_category", "config")
        if spec.unit:
            c["unit_of_measurement"] = spec.unit
    elif kind == "button":
        c["command_topic"] = settings.meter_topic(meter, f"set/{spec.name}")
        c["payload_press"] = PRESS
        c.setdefault("entity_category", "config")
    else:  # select: enum writable
        c["value_template"] = tpl
        c["command_topic"] = settings.meter_topic(meter, f"set/{spec.name}")
        c["options"] = list(spec.options.values())
    return c


def meter_counter_component(meter: str, spec: DPSpec) -> dict[str, Any]:
    """The meter's own counter, kept as a diagnostic beside the gateway's monotonic total."""
    key = f"{spec.name}_meter"
    c = _base(meter, "sensor", key, f"{spec.label or spec.name} (meter)")
    c["value_template"] = f"{{{{ value_json.{key} }}}}"
    _measurement(c, "energy", "total", spec.unit)
    c["entity_category"] = "diagnostic"
    c["enabled_by_default"] = False
    return c


def period_component(meter: str, spec: DPSpec, period: str) -> dict[str, Any]:
    """Energy of the local day so far (resets at midnight) or of yesterday, from the store."""
    key = f"{spec.name}_{period}"
    c = _base(meter, "sensor", key, f"{spec.label or spec.name} {period}")
    c["value_template"] = f"{{{{ value_json.{key} }}}}"
    # "today" restarts at midnight, which total_increasing reads as a reset; "yesterday"
    # is a fixed figure for a day, so it gets no long-term statistics of its own.
    _measurement(c, "energy", "total_increasing" if period == "today" else None, spec.unit)
    c["suggested_display_precision"] = 3
    return c


def computed_component(meter: str, comp: Computed) -> dict[str, Any]:
    c = _base(meter, "sensor", comp.name, comp.label)
    c["value_template"] = f"{{{{ value_json.{comp.name} }}}}"
    _measurement(c, comp.device_class, comp.state_class, comp.unit)
    c["suggested_display_precision"] = comp.decimals
    return c


def diagnostic_components(settings: MqttSettings, meter: str) -> dict[str, dict[str, Any]]:
    diag_topic = settings.meter_topic(meter, "diagnostics")
    out: dict[str, dict[str, Any]] = {}
    link = _base(meter, "binary_sensor", "link", "Link")
    link.update(
        state_topic=diag_topic,
        value_template="{{ 'ON' if value_json.online else 'OFF' }}",
        device_class="connectivity",
        entity_category="diagnostic",
    )
    # The link sensor must report "disconnected" while the meter is offline, so it
    # only follows the bridge's availability, not the meter's.
    link["availability"] = [{"topic": settings.bridge_availability}]
    out["link"] = link
    for key, name, unit, dclass, sclass, icon in DIAGNOSTICS:
        c = _base(meter, "sensor", key, name)
        c.update(state_topic=diag_topic, value_template=f"{{{{ value_json.{key} }}}}", entity_category="diagnostic")
        c["icon"] = icon
        _measurement(c, dclass, sclass, unit)
        out[key] = c
    return out


def device_config(settings: MqttSettings, meter: str, profile: Profile) -> dict[str, Any]:
    """The discovery payload for one meter."""
    cmps: dict[str, dict[str, Any]] = {}
    for spec in profile.quantities:
        c = dp_component(settings, meter, spec)
        if c is not None:
            cmps[spec.name] = c
    for spec in profile.quantities:
        if spec.counter:
            cmps[f"{spec.name}_meter"] = meter_counter_component(meter, spec)
            for period in ("today", "yesterday"):
                cmps[f"{spec.name}_{period}"] = period_component(meter, spec, period)
    for comp in profile.computed:
        cmps[comp.name] = computed_component(meter, comp)
    cmps.update(diagnostic_components(settings, meter))
    return {
        "dev": {
            "identifiers": [node_id(meter)],
            "name": f"{profile.model or profile.name} {meter}",
            "manufacturer": profile.manufacturer,
            "model": profile.model or profile.name,
            "model_id": profile.name,
            "sw_version": __version__,
        },
        "o": {"name": "tuyameter", "sw": __version__},
        "state_topic": settings.meter_topic(meter, "state"),
        "availability": [
            {"topic": settings.bridge_availability},
            {"topic": settings.meter_topic(meter, "availability")},
        ],
        "availability_mode": "all",
        "qos": 1,
        "cmps": cmps,
    }


def state_document(profile: Profile, values: Mapping[str, object]) -> dict[str, object]:
    """Every exposed name with its value (null while unknown), so templates never miss a key."""
    doc: dict[str, object] = {d.name: None for d in profile.quantities}
    doc.update({c.name: None for c in profile.computed})
    counters = [d.name for d in profile.quantities if d.counter]
    doc.update({f"{name}_{s}": None for name in counters for s in ("meter", "today", "yesterday")})
    doc.update(values)
    return doc
