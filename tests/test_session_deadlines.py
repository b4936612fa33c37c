"""A silent link must not spin the loop; writes the caller gave up on are never applied."""

from __future__ import annotations

import asyncio
import os
import tty

from harness import make_loop
from tuyameter.transport.links import open_link
from tuyameter.transport.session_pump import SessionPump
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.session import Session, SessionConfig


def _wakes(session: Session, seconds: float, start: float = 0.0, feed: dict[float, bytes] | None = None) -> int:
    """How often an adapter that sleeps until next_deadline() wakes in ``seconds`` of silence."""
    now, wakes, pending = start, 0, dict(feed or {})
    while now < start + seconds:
        for t in [t for t in pending if t <= now]:
            session.receive_data(pending.pop(t), now)
        session.tick(now)
        while session.data_to_send(now):
            pass
        nxt = session.next_deadline(now)
        if pending:
            nxt = min(nxt, *pending)
        wakes += 1
        # an adapter never sleeps less than the clock's resolution
        now = max(nxt, now + 1e-6)
    return wakes


def test_unanswered_handshake_wakes_a_few_times_a_second() -> None:
    s = Session(SessionConfig())
    wakes = _wakes(s, 30.0)
    assert wakes <= 30 * 3, wakes  # heartbeats every 3 s, with the inter-frame spacing
    assert s.stats.frames_out >= 9


def test_partial_frame_after_a_quiet_gap_does_not_spin() -> None:
    s = Session(SessionConfig())
    # a heartbeat answer at 0.5 s, then half a frame 20 s later, then nothing
    feed = {0.5: bytes.fromhex("55aa030000010003"), 20.0: bytes.fromhex("55aa0307")}
    wakes = _wakes(s, 30.0, feed=feed)
    assert wakes <= 30 * 3, wakes
    assert s.decoder.pending() == 0  # the partial frame was given up, once


def test_silent_pty_wakes_the_pump_a_few_times_a_second() -> None:
    """The real loop: a pty whose far end never answers."""

    async def main() -> tuple[int, float]:
        master, slave = os.openpty()
        tty.setraw(master)
        try:
            link = await open_link(os.ttyname(slave), 9600)
            pump = SessionPump(link, Session(SessionConfig()))
            calls = 0
            retried = asyncio.Event()

            async def handle(events: list[ev.Event], now: float) -> None:
                nonlocal calls
                calls += 1
                if pump.session.stats.frames_out >= 4:  # the unanswered heartbeat, sent once a second
                    retried.set()

            loop = asyncio.get_running_loop()
            t0 = loop.time()
            task = asyncio.ensure_future(pump.run(handle))
            await asyncio.wait_for(retried.wait(), 10)
            elapsed = loop.time() - t0
            pump.stop()
            await task
            await link.close()
            return calls, elapsed
        finally:
            os.close(master)
            os.close(slave)

    calls, elapsed = asyncio.run(main())
    assert elapsed >= 2.5 and 1 <= calls <= elapsed * 5, (calls, elapsed)


def test_write_expires_while_the_link_is_down_and_is_never_sent() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.connected = False
    loop.run_until(lambda: not loop.session.link_up, timeout=60)
    wid = loop.session.write([DPRecord.make(129, DPType.VALUE, 5)], loop.t, expires=loop.t + 5)
    loop.run(6)
    res = [e for e in loop.of(ev.WriteResult) if isinstance(e, ev.WriteResult) and e.write_id == wid]
    assert len(res) == 1 and not res[0].ok and "expired" in (res[0].error or "")
    loop.connected = True  # the MCU comes back 30 s later: the write must not arrive
    loop.run(30)
    assert loop.session.link_up
    assert loop.emu.report_rate == 10


def test_cancelled_write_is_not_retried() -> None:
    loop = make_loop(config=SessionConfig(write_timeout=0.3, write_retries=5))
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.connected = False  # the first attempt goes nowhere
    wid = loop.session.write([DPRecord.make(129, DPType.VALUE, 5)], loop.t)
    loop.run(0.1)
    assert loop.session.cancel_write(wid, loop.t)
    loop.connected = True
    loop.run(3)
    res = [e for e in loop.of(ev.WriteResult) if isinstance(e, ev.WriteResult)]
    assert [(r.write_id, r.ok, r.error) for r in res] == [(wid, False, "cancelled")]
    assert loop.emu.report_rate == 10
    assert not loop.session.cancel_write(wid, loop.t)


def test_write_confirmed_before_expiry_is_ok() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    wid = loop.session.write([DPRecord.make(129, DPType.VALUE, 5)], loop.t, expires=loop.t + 5)
    loop.run_until(lambda: loop.of(ev.WriteResult), timeout=5)
    (res,) = loop.of(ev.WriteResult)
    assert isinstance(res, ev.WriteResult) and (res.write_id, res.ok) == (wid, True)
    assert loop.emu.report_rate == 5
