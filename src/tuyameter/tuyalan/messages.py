"""The JSON bodies of the commands, per protocol version (both sides)."""

from __future__ import annotations

import json
from typing import Any

from tuyameter.tuyalan.constants import Command

NEW_STYLE = ("3.4", "3.5")  # CONTROL_NEW / DP_QUERY_NEW with protocol 5 / 4 bodies


def query(version: str, dev_id: str, t: int) -> tuple[Command, dict[str, Any]]:
    if version in NEW_STYLE:
        return Command.DP_QUERY_NEW, {}
    return Command.DP_QUERY, {"gwId": dev_id, "devId": dev_id, "uid": dev_id, "t": str(t)}


def query_device22(dev_id: str, dps: list[str], t: int) -> tuple[Command, dict[str, Any]]:
    """Devices that answer 'data unvalid' to DP_QUERY want the DPs named, through CONTROL_NEW."""
    return Command.CONTROL_NEW, {"devId": dev_id, "uid": dev_id, "t": str(t), "dps": dict.fromkeys(dps)}


def control(version: str, dev_id: str, dps: dict[str, Any], t: int) -> tuple[Command, dict[str, Any]]:
    if version in NEW_STYLE:
        return Command.CONTROL_NEW, {"protocol": 5, "t": t, "data": {"dps": dps}}
    return Command.CONTROL, {"devId": dev_id, "uid": dev_id, "t": str(t), "dps": dps}


def heartbeat(dev_id: str) -> tuple[Command, bytes]:
    """The same bytes every time: a connection makes them once and its codec seals them once."""
    return Command.HEART_BEAT, encode({"gwId": dev_id, "devId": dev_id})


def update_dps(dps: list[int]) -> tuple[Command, bytes]:
    return Command.UPDATEDPS, encode({"dpId": dps})


def encode(body: dict[str, Any]) -> bytes:
    """A body as it goes in a frame: compact JSON."""
    return json.dumps(body, separators=(",", ":")).encode()


def status(version: str, dev_id: str, dps: dict[str, Any], t: int) -> dict[str, Any]:
    """A device's STATUS push or query answer."""
    if version in NEW_STYLE:
        return {"protocol": 4, "t": t, "data": {"dps": dps}}
    return {"devId": dev_id, "dps": dps, "t": t}


def dps_of(data: Any) -> dict[str, Any] | None:
    """The DP values in a message body: ``{"dps": …}`` or ``{"data": {"dps": …}}``."""
    if not isinstance(data, dict):
        return None
    dps = data.get("dps")
    if dps is None and isinstance(data.get("data"), dict):
        dps = data["data"].get("dps")
    return dps if isinstance(dps, dict) else None  # JSON object keys are always text


def requested_dps(data: Any) -> list[int] | None:
    """UPDATEDPS: the DP ids asked for."""
    ids = data.get("dpId") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        return None
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
