"""An OpenBeken autoexec → a tuyameter profile (as YAML-ready data), with notes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tuyameter.interop.autoexec import CHANNEL_TYPES, DISPLAY_TYPES, WRITABLE_TYPES, Autoexec
from tuyameter.profiles.match import covering_profile
from tuyameter.profiles.model import DPSpec, Profile
from tuyameter.tuyamcu.constants import DPType


@dataclass
class Imported:
    data: dict[str, Any]
    based_on: str | None = None
    notes: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    s = re.sub(r"\(.*?\)", "", text).strip().lower()
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    return s if s and s[0].isalpha() else f"dp_{s}"


def spec_dict(spec: DPSpec) -> dict[str, Any]:
    """A quantity as the flat, DP-centred dict the importers edit (``dp``, ``type``, ``scale``,
    raw ``range``); :func:`~tuyameter.profiles.loader.upgrade_layout` turns it back."""
    d: dict[str, Any] = {"dp": spec.dp, "name": spec.name, "type": spec.type.name.lower()}
    if spec.scale != 1:
        d["scale"] = spec.scale
    rest = spec.to_data()
    rest = {k: v for k, v in rest.items() if k not in ("name", "tuyamcu", "range")}
    d |= rest
    if spec.raw_range is not None:
        d["range"] = list(spec.raw_range)
    return d


def autoexec_to_profile(a: Autoexec, name: str, known: list[Profile]) -> Imported:
    """Build a profile. DP names, kinds and ranges come from the shipped profile that fits
    the script's DPs (when one does); scaling, units, labels and privacy from the script."""
    if "tuyamcu" not in {d.lower() for d in a.drivers}:
        raise ValueError("the script does not start the TuyaMCU driver: not a TuyaMCU device")
    linked = [c for c in a.channels.values() if c.dp is not None]
    if not linked:
        raise ValueError("the script links no TuyaMCU DP to a channel")
    res = Imported({"name": name, "description": f"imported from an OpenBeken autoexec.bat ({len(linked)} DPs)"})
    # OpenBeken uses the link's type only when sending, so match on DP ids alone.
    base = covering_profile(known, {c.dp: DPType.VALUE for c in linked if c.dp is not None})
    base_dps = base.by_dp() if base else {}
    if base is not None:
        res.based_on = base.name
        res.data |= {"manufacturer": base.manufacturer, "model": base.model, "channels": list(base.channels)}
        if base.report_rate:
            res.data["report_rate"] = base.report_rate
        res.notes.append(f"DP names, kinds and ranges from the shipped profile {base.name}")
    if a.profile_hint:
        keep = ("description", "manufacturer", "model", "product_ids", "channels", "report_rate")
        res.data |= {k: a.profile_hint[k] for k in keep if k in a.profile_hint}
        res.notes.append("names, ranges and units from the tuyameter comments in the script")
    res.data["tuyamcu"] = {"baud": a.baud or 9600, "wifi_state": a.wifi_state if a.wifi_state is not None else 4}
    dps: list[dict[str, Any]] = []
    for c in sorted(linked, key=lambda c: c.dp or 0):
        assert c.dp is not None
        known_spec = base_dps.get(c.dp)
        if c.dp in a.hints:
            d = dict(a.hints[c.dp])
        elif known_spec:
            d = spec_dict(known_spec)
        else:
            d = {"dp": c.dp, "name": _slug(c.label or f"dp {c.dp}"), "type": c.dp_type or "value"}
        ctype = (c.type or "").lower()
        if ctype in CHANNEL_TYPES:
            scale, unit, dclass, sclass = CHANNEL_TYPES[ctype]
            if known_spec and abs(known_spec.scale - scale) > 1e-12:
                res.notes.append(
                    f"dp{c.dp}: the script scales by {scale:g}, {base and base.name} by "
                    f"{known_spec.scale:g}; using the script's"
                )
            d["scale"] = scale
            if unit:
                d["unit"] = unit
            if dclass and "device_class" not in d:
                d["device_class"] = dclass
            if sclass and "state_class" not in d:
                d["state_class"] = sclass
        elif ctype in DISPLAY_TYPES:
            if known_spec is None and ctype in WRITABLE_TYPES:
                d["access"] = "rw"
        elif c.type:
            res.notes.append(f"dp{c.dp}: unknown channel type {c.type!r} (kept unscaled)")
        if c.options:
            if known_spec and known_spec.options and known_spec.options != c.options:
                res.notes.append(
                    f"dp{c.dp}: the script's enum labels differ from {base and base.name}'s; using the script's"
                )
            d["options"] = dict(c.options)
        if c.label:
            d["label"] = c.label
        d["private"] = c.private
        if not d["private"]:
            del d["private"]
        dps.append(d)
    linked_dps = {c.dp for c in linked}
    for dp, hint in sorted(a.hints.items()):
        if dp not in linked_dps:
            dps.append(dict(hint))
            linked_dps.add(dp)
    for dp, spec in sorted(base_dps.items()):
        if dp not in linked_dps and (spec.access == "wo" or spec.diagnostic):
            dps.append(spec_dict(spec))
            res.notes.append(f"dp{dp} ({spec.name}) is not in the script; added from {base and base.name}")
    res.data["dps"] = _unique_names(sorted(dps, key=lambda d: d["dp"]), res.notes)
    if isinstance(a.profile_hint.get("computed"), list):
        res.data["computed"] = a.profile_hint["computed"]
    elif base is not None and base.computed:
        res.data["computed"] = computed_dicts(base)
    for no, text in a.unknown:
        res.notes.append(f"line {no}: not imported: {text}")
    for no, text in a.errors:
        res.notes.append(f"line {no}: {text}")
    return res


def computed_dicts(base: Profile) -> list[dict[str, Any]]:
    """The profile's computed values as YAML-ready dicts."""
    out = []
    for c in base.computed:
        fields = (("name", c.name), ("sum", list(c.sum)), ("unit", c.unit), ("label", c.label),
                  ("device_class", c.device_class), ("state_class", c.state_class),
                  ("decimals", c.decimals))  # fmt: skip
        out.append({k: v for k, v in fields if v is not None})
    return out


def _unique_names(dps: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    """Names made from labels can collide (two channels labelled alike): suffix the DP id."""
    seen: set[str] = set()
    for d in dps:
        if d["name"] in seen:
            new = f"{d['name']}_dp{d['dp']}"
            notes.append(f"dp{d['dp']}: name {d['name']!r} is taken; using {new!r}")
            d["name"] = new
        seen.add(d["name"])
    return dps
