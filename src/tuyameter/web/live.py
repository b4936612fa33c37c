"""Live updates for the page: the gateway's updates and status changes, fanned out to every open
event stream (server-sent events). A client that falls behind loses its oldest events, never the
gateway's time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from tuyameter.pipeline.events import MeterStatus, MeterUpdate

QUEUE = 256
KEEPALIVE_S = 15.0
MAX_CLIENTS = 64


def update_json(u: MeterUpdate) -> dict[str, object]:
    out = {"meter": u.meter, "time": u.time.timestamp(), "values": u.values, "private": u.private}
    if u.events:
        out["events"] = [event_json(e.time, e.kind, e.text) for e in u.events]
    return out


def event_json(t: float, kind: str, text: str) -> dict[str, object]:
    return {"time": t, "kind": kind, "text": text}


def status_json(s: MeterStatus) -> dict[str, object]:
    return {"meter": s.meter, "time": s.time.timestamp(), "online": s.online, "state": s.state.value,
            "detail": s.detail, "info": s.info, "diagnostics": s.diagnostics}  # fmt: skip


class LiveHub:
    """An output of the gateway whose events go to the page's streams."""

    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[tuple[str, dict[str, object]]]] = set()
        self.dropped = 0

    async def update(self, u: MeterUpdate) -> None:
        if self._clients:
            self._send("update", update_json(u))

    async def status(self, s: MeterStatus) -> None:
        if self._clients:
            self._send("status", status_json(s))

    def _send(self, kind: str, data: dict[str, object]) -> None:
        for q in self._clients:
            if q.full():
                q.get_nowait()
                self.dropped += 1
            q.put_nowait((kind, data))

    @property
    def clients(self) -> int:
        return len(self._clients)

    def full(self) -> bool:
        return len(self._clients) >= MAX_CLIENTS

    async def stream(self, meter: str | None) -> AsyncIterator[str]:
        """Server-sent events (``update`` / ``status``, JSON data) of one meter or all, with a comment
        line every :data:`KEEPALIVE_S` seconds so proxies and the browser keep the stream open."""
        q: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue(QUEUE)
        self._clients.add(q)
        try:
            yield ": tuyameter live\nretry: 2000\n\n"
            while True:
                try:
                    kind, data = await asyncio.wait_for(q.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if meter is None or data["meter"] == meter:
                    yield f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
        finally:
            self._clients.discard(q)
