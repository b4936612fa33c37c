"""An HLW8112 bus's last transactions, decoded for people (see sources/traffic.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tuyameter.hlw8112.frames import AnswerError, answer_value
from tuyameter.hlw8112.session import Transaction
from tuyameter.pipeline.events import TrafficLine


def chip_lines(
    recent: Iterable[tuple[float, Transaction, bytes]], spi: bool, wall: Callable[[float], float]
) -> list[TrafficLine]:
    out: list[TrafficLine] = []
    for t, tx, rx in recent:
        op = tx.op
        out.append(TrafficLine(wall(t), True, op.describe(), tx.data.hex(" "), op.describe()))
        if op.kind != "read":
            continue
        try:
            value = answer_value(op, rx, spi)
            text = f"0x{value:0{2 * op.size}X}"
        except AnswerError as e:
            text = str(e) if rx else "no answer"
        out.append(TrafficLine(wall(t), False, op.describe(), rx.hex(" "), text))
    return out
