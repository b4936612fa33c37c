"""The TuyaMCU link's last frames, decoded for people (see sources/traffic.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tuyameter.pipeline.events import TrafficLine
from tuyameter.sources.traffic import short
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import command_name
from tuyameter.tuyamcu.frame import Frame


def mcu_lines(
    recent: Iterable[tuple[float, bool, Frame]], binding: DPBinding, wall: Callable[[float], float]
) -> list[TrafficLine]:
    out = []
    for t, outgoing, frame in recent:
        direction = m.Direction.TO_MCU if outgoing else m.Direction.FROM_MCU
        msg = m.parse(frame, direction)
        records = getattr(msg, "records", None)
        readings = dict(binding.readings(records, counted=False)) if records else {}
        out.append(TrafficLine(wall(t), outgoing, command_name(frame.command), frame.encode().hex(" "),
                               short(msg.describe()), readings))  # fmt: skip
    return out
