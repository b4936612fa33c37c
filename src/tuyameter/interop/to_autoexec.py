"""A tuyameter profile → an OpenBeken ``autoexec.bat`` that configures the same meter.

OpenBeken command and channel-type names used here were checked against OpenBeken's
sources (``setChannelType`` names, ``SetChannelEnum ch "value:label" …``). OpenBeken has
no free-range number channel: its numeric inputs are the Dimmer sliders (0–100, 0–255,
0–1000). A writable value whose range fits one becomes that slider; wider ones (the
PJ-1103A calibration, 800–1200) stay text fields, with the valid range in a comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tuyameter.interop.autoexec import SCALING_TYPES
from tuyameter.interop.to_profile import computed_dicts, spec_dict
from tuyameter.profiles.model import DPSpec, Profile
from tuyameter.tuyamcu.constants import DPType

_SLIDERS = (("Dimmer", 100), ("Dimmer256", 255), ("Dimmer1000", 1000))


@dataclass
class Exported:
    text: str
    channels: dict[int, int] = field(default_factory=dict)  # dp → channel
    notes: list[str] = field(default_factory=list)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-12


def _scaled_type(key: str | None, scale: float) -> str | None:
    """The OpenBeken type whose unit (or, without one, device class) is ``key`` at ``scale``."""
    for name, (s, unit, dclass, _) in SCALING_TYPES.items():
        if (unit or dclass) == key and _close(s, scale):
            return name
    return None


def channel_type(spec: DPSpec) -> tuple[str, str | None]:
    """The OpenBeken channel type for a DP, and a note when it is a compromise."""
    if spec.type is DPType.ENUM:
        return ("Enum" if spec.writable else "ReadOnlyEnum"), None
    if spec.type is DPType.BOOL:
        return ("Toggle" if spec.writable else "ReadOnly"), None
    if spec.type is not DPType.VALUE:
        return "ReadOnly", f"dp{spec.dp} ({spec.name}) is {spec.type.name.lower()}; OpenBeken shows it as a number"
    if spec.writable:
        lo, hi = spec.raw_range or (0, 2**31 - 1)
        for name, top in _SLIDERS:
            if lo >= 0 and hi <= top and _close(spec.scale, 1.0):
                return name, None
        rng = f"{lo}–{hi}" if spec.raw_range else "any value"
        return (
            "TextField",
            f"dp{spec.dp} ({spec.name}) takes {rng}: no OpenBeken number input covers it, so a text field",
        )
    for key in [k for k in (spec.unit, spec.device_class) if k] + [None]:  # None: plain ReadOnly_divN
        found = _scaled_type(key, spec.scale)
        if found == "EnergyTotal_kWh_div1000" and spec.counter == "reverse":
            return "EnergyExport_kWh_div1000", None
        if found:
            return found, None
    if _close(spec.scale, 1.0):
        return "ReadOnly", None
    return "ReadOnly", f"dp{spec.dp} ({spec.name}) is scaled by {spec.scale:g}; OpenBeken shows the raw number"


def _quote(text: str) -> str:
    """A double-quoted argument OpenBeken and our importer both read back unchanged: no double
    quotes, backslashes or ``//`` (a comment) inside."""
    clean = text.replace('"', "'").replace("\\", "/")
    while "//" in clean:
        clean = clean.replace("//", "/")
    return '"' + clean + '"'


def _hint_line(kind: str, data: dict[str, object]) -> str:
    return f"// tuyameter-{kind} " + json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def profile_to_autoexec(profile: Profile, first_channel: int = 1, hints: bool = True) -> Exported:
    """The script; with ``hints``, ``// tuyameter-…`` comments (ignored by OpenBeken) carry what
    channel types cannot say, so importing the script gives back the same profile."""
    ex = Exported("")
    out = [
        f"// OpenBeken autoexec.bat for {profile.model or profile.name}: the DP layout of tuyameter's profile",
        f"// '{profile.name}'. Written by 'tuyameter profile export-autoexec'.",
        "startDriver TuyaMCU",
        f"tuyaMcu_setBaudRate {profile.baud}",
        f"tuyaMcu_defWiFiState {profile.wifi_state}",
        "",
    ]
    specs = [s for s in profile.dps if s.access != "wo"]
    for s in profile.dps:
        if s.access == "wo":
            ex.notes.append(
                f"dp{s.dp} ({s.name}) is a write-only action; OpenBeken has no channel for it: not exported"
            )
    types, enums, labels, links, private = [], [], [], [], []
    for ch, spec in enumerate(specs, start=first_channel):
        ex.channels[spec.dp] = ch
        ctype, note = channel_type(spec)
        if note:
            ex.notes.append(note)
        if spec.raw_range and spec.writable:
            types.append(f"// channel {ch}, {spec.name}: the meter accepts {spec.raw_range[0]}..{spec.raw_range[1]}")
        types.append(f"setChannelType {ch} {ctype}")
        if spec.type is DPType.ENUM and spec.options:
            enums.append(
                f"SetChannelEnum {ch} " + " ".join(_quote(f"{k}:{v}") for k, v in sorted(spec.options.items()))
            )
        labels.append(f"setChannelLabel {ch} {_quote(spec.label or spec.name)}")
        links.append(f"linkTuyaMCUOutputToChannel {spec.dp} {int(spec.type)} {ch}")
        if spec.private:
            private.append(f"setChannelPrivate {ch} true")
    out += ["// how OpenBeken shows each value (the _divN types carry the scaling)", *types, ""]
    if enums:
        out += ["// enum channels: value:label", *enums, ""]
    out += [*labels, "", "// DP → channel (type: 1 bool, 2 value, 4 enum)", *links, ""]
    if hints:
        top: dict[str, object] = {"name": profile.name, "description": profile.description,
                                  "manufacturer": profile.manufacturer, "model": profile.model,
                                  "product_ids": list(profile.product_ids), "channels": list(profile.channels),
                                  "report_rate": profile.report_rate, "computed": computed_dicts(profile)}  # fmt: skip
        out += ["// the profile in its own words, for tuyameter to read back (OpenBeken ignores comments)",
                _hint_line("profile", {k: v for k, v in top.items() if v not in (None, [], "")})]  # fmt: skip
        out += [_hint_line("dp", spec_dict(s)) for s in profile.dps] + [""]
    if private:
        out += ["// settings: not published to MQTT", *private, ""]
    for n in ex.notes:
        out.append(f"// note: {n}")
    ex.text = "\n".join(out).rstrip() + "\n"
    return ex
