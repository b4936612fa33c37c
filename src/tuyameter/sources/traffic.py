"""A source's last frames, decoded for people: the web page's look at the link (like ``monitor``).

Frames are kept only while someone looks: the first ask opens a :class:`Tap`, a ring the session
appends its raw frames (TuyaMCU) or decrypted messages (Tuya LAN) of both directions to, and
:data:`HOLD` seconds after the last ask it is dropped again. A fleet of thousands of meters keeps
no frames at all (40 frames a meter would be 40 MB at 5,000); a meter being looked at costs an
append per frame. Each source decodes its ring (its traffic.py) only when asked.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

#: frames (both ways) a tap keeps: half a minute of a PJ-1103A reporting every 3 s
SIZE = 200
#: a tap closes this long after the last ask
HOLD = 60.0

#: longest text of one line (a product-info string or a JSON body can be long)
MAX_TEXT = 400


def to_wall(now: Callable[[], float]) -> Callable[[float], float]:
    """A session time (the clock ``now`` reads) → wall-clock epoch seconds."""
    offset = time.time() - now()
    return lambda t: t + offset


def short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


class Tap:
    """The ring of a link's last frames while someone looks (see the module's doc).

    ``attach`` hands the ring to the session(s) that fill it, and None when the tap closes."""

    def __init__(self, attach: Callable[[deque[Any] | None], None], size: int = SIZE, hold: float = HOLD) -> None:
        self._attach, self.size, self.hold = attach, size, hold
        self.ring: deque[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def ask(self) -> list[Any]:
        """What the ring holds (oldest first); opens it, or keeps it open for :attr:`hold` more seconds."""
        if self.ring is None:
            self.ring = deque(maxlen=self.size)
            self._attach(self.ring)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.hold, self.close)
        return list(self.ring)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.ring is not None:
            self.ring = None
            self._attach(None)
