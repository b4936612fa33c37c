"""A Tuya DP schema (as stored in flash) → a tuyameter profile (YAML-ready data)."""

from __future__ import annotations

from typing import Any

from tuyameter.interop.to_profile import computed_dicts, spec_dict
from tuyameter.profiles.match import covering_profile
from tuyameter.profiles.model import Profile
from tuyameter.tuyamcu.constants import DPType

_TYPES = {
    "value": DPType.VALUE,
    "enum": DPType.ENUM,
    "bool": DPType.BOOL,
    "bitmap": DPType.BITMAP,
    "string": DPType.STRING,
    "raw": DPType.RAW,
}
_MODES = {"ro": "ro", "rw": "rw", "wr": "wo"}


def prop_of(entry: dict[str, Any]) -> dict[str, Any]:
    prop = entry.get("property")
    return prop if isinstance(prop, dict) else {}


def _type_of(entry: dict[str, Any]) -> str:
    t = prop_of(entry).get("type")
    if entry.get("type") == "raw":
        return "raw"
    return t if isinstance(t, str) and t in _TYPES else "raw"


def schema_to_profile(
    schema: list[dict[str, Any]], name: str, known: list[Profile], product_key: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Build profile data from the schema. Names, units and meaning come from a shipped profile
    whose DPs and types fit; ranges, scales, enum options and access always from the schema."""
    notes: list[str] = []
    types = {int(e["id"]): _TYPES[_type_of(e)] for e in schema}
    base = covering_profile(known, types, product_key)
    data: dict[str, Any] = {"name": name, "description": f"from a Tuya DP schema in flash ({len(schema)} DPs)"}
    if product_key:
        data["product_ids"] = [product_key]
    if base is not None:
        notes.append(f"DP names, units and meaning from the shipped profile {base.name}")
        data |= {"manufacturer": base.manufacturer, "model": base.model, "channels": list(base.channels)}
        if base.report_rate:
            data["report_rate"] = base.report_rate
    data["tuyamcu"] = {"baud": base.baud if base else 9600, "wifi_state": base.wifi_state if base else 4}
    dps: list[dict[str, Any]] = []
    base_dps = base.by_dp() if base else {}
    for entry in sorted(schema, key=lambda e: int(e["id"])):
        dp = int(entry["id"])
        tname = _type_of(entry)
        prop = prop_of(entry)
        known_spec = base_dps.get(dp)
        d = spec_dict(known_spec) if known_spec else {"dp": dp, "name": f"dp_{dp}"}
        if known_spec and known_spec.type is not _TYPES[tname]:
            notes.append(f"dp{dp}: schema says {tname}, {base and base.name} says {known_spec.type.name.lower()}")
        d["type"] = tname
        mode = entry.get("mode")
        access = _MODES.get(mode, "ro") if isinstance(mode, str) else "ro"
        if access == "ro":
            d.pop("access", None)
        else:
            d["access"] = access
        if tname == "value":
            lo, hi = prop.get("min"), prop.get("max")
            if isinstance(lo, int) and isinstance(hi, int) and lo <= hi:
                d["range"] = [lo, hi]
            scale = prop.get("scale")
            if isinstance(scale, int) and 0 <= scale <= 9:
                new = 10.0**-scale if scale else 1
                if known_spec and abs(known_spec.scale - new) > 1e-12:
                    notes.append(f"dp{dp}: schema scale 10^-{scale}, {base and base.name} {known_spec.scale:g}")
                if new != 1:
                    d["scale"] = round(new, scale)
                else:
                    d.pop("scale", None)
            unit = prop.get("unit")
            if isinstance(unit, str) and unit and "unit" not in d:
                d["unit"] = unit
        elif tname == "enum":
            rng = prop.get("range")
            if isinstance(rng, list) and rng:
                old = dict(known_spec.options) if known_spec else {}
                d["options"] = {i: (old.get(i) or str(v)) for i, v in enumerate(rng)}
        if not known_spec:
            d.setdefault("label", f"DP {dp}")
        dps.append(d)
    data["dps"] = dps
    if base is not None and base.computed and all(n in {d["name"] for d in dps} for c in base.computed for n in c.sum):
        data["computed"] = computed_dicts(base)
    return data, notes
