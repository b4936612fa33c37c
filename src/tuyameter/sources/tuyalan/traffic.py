"""The Tuya LAN connection's last messages, decoded for people (see sources/traffic.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from tuyameter.pipeline.events import TrafficLine
from tuyameter.sources.traffic import short
from tuyameter.sources.tuyalan.binding import LanBinding
from tuyameter.tuyalan.codec import Message
from tuyameter.tuyalan.messages import dps_of


def lan_lines(
    recent: Iterable[tuple[float, bool, Message]], binding: LanBinding, wall: Callable[[float], float]
) -> list[TrafficLine]:
    out = []
    for t, outgoing, msg in recent:
        data = msg.data
        dps = dps_of(data)
        readings = dict(binding.readings(dps, counted=False)) if dps else {}
        if data is not None:
            text = json.dumps(data, separators=(",", ":"))
        else:
            text = f"{len(msg.body)} bytes" if msg.body else "(empty)"
        rc = f" (return code {msg.retcode})" if msg.retcode else ""
        out.append(TrafficLine(wall(t), outgoing, msg.command, msg.body.hex(" ") if data is None else "",
                               short(f"#{msg.seq} {text}{rc}"), readings))  # fmt: skip
    return out
