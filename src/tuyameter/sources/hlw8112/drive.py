"""The one loop that runs an HLW8112 session over a bus (the source's and the tools')."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tuyameter.hlw8112.session import ChipSession, Event, Transaction
from tuyameter.sources.hlw8112.bus import ChipBus


async def drive(bus: ChipBus, session: ChipSession, handle: Callable[[Event], bool],
                trace: Callable[[float, Transaction, bytes], None] | None = None) -> None:  # fmt: skip
    """Run the session's transactions over the bus, sleeping until its next deadline in between, and
    hand each event to ``handle``; return when it returns True. ``trace`` sees every transaction."""
    loop = asyncio.get_running_loop()
    session.start(loop.time())
    while True:
        tx = session.pending(loop.time())
        if tx is not None:
            rx = await bus.transact(tx)
            if trace is not None:
                trace(loop.time(), tx, rx)
            session.answer(rx, loop.time())
        for e in session.events():
            if handle(e):
                return
        if tx is None:
            await asyncio.sleep(max(0.0, session.next_deadline(loop.time()) - loop.time()))
