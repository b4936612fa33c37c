"""Human and JSON descriptions of frames, with DP names from a profile when given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import command_name
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.frame import Frame

if TYPE_CHECKING:  # profiles (pydantic) load only when a profile is asked for
    from tuyameter.profiles.model import Profile


def record_text(r: DPRecord, profile: Profile | None) -> str:
    base = str(r)
    spec = profile.by_dp().get(r.dp) if profile else None
    if spec is None or spec.type != r.type:
        return base
    v = spec.to_value(r.value)
    flag = "" if spec.plausible(v) else " (implausible: the gateway drops it)"
    return f"{base} → {spec.name}={v}{' ' + spec.unit if spec.unit else ''}{flag}"


def describe(msg: m.Message, profile: Profile | None) -> str:
    if isinstance(msg, m.DPReport | m.SetDP) and profile is not None:
        head = "report" if isinstance(msg, m.DPReport) else "set"
        body = "; ".join(record_text(r, profile) for r in msg.records)
        extra = f" (error: {msg.error})" if msg.error else ""
        return f"{head} {body}{extra}"
    return msg.describe()


def frame_json(frame: Frame, direction: m.Direction, msg: m.Message, profile: Profile | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "direction": direction.value,
        "version": frame.version,
        "command": command_name(frame.command),
        "command_id": frame.command,
        "payload": frame.payload.hex(),
        "frame": frame.encode().hex(),
        "message": type(msg).__name__,
        "text": describe(msg, profile),
    }
    records = getattr(msg, "records", None)
    if records is not None:
        specs = profile.by_dp() if profile else {}
        dps = []
        for r in records:
            v = r.value
            item: dict[str, Any] = {
                "dp": r.dp,
                "type": r.type.name.lower(),
                "value": v.hex() if isinstance(v, bytes) else v,
            }
            spec = specs.get(r.dp)
            if spec is not None and spec.type == r.type:
                item["name"] = spec.name
                item["scaled"] = scaled = spec.to_value(r.value)
                item["plausible"] = spec.plausible(scaled)
            dps.append(item)
        out["dps"] = dps
        if getattr(msg, "error", None):
            out["error"] = msg.error  # type: ignore[attr-defined]
    return out
