"""socket:// links read by the event loop in whole chunks: real sockets, a real gateway, no thread per link."""

from __future__ import annotations

import asyncio
import threading

import pytest

from test_gateway import Collect, wait_for
from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.serve import TcpServer
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.profiles import find_profile
from tuyameter.transport.links import LinkError, open_link
from tuyameter.transport.tcp import TcpLink

PROFILE = find_profile("pj1103a")


def test_chunks_arrive_whole_stamped_and_in_order_then_the_close_is_an_error() -> None:
    async def main() -> None:
        got_from_link = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []
        heard: list[bytes] = []

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            heard.append(await reader.readexactly(4))
            got_from_link.set()

        server = await asyncio.start_server(peer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        link = await open_link(f"socket://127.0.0.1:{port}")
        assert isinstance(link, TcpLink)  # not pyserial's thread-and-byte reader
        await link.write(b"ping")
        await asyncio.wait_for(got_from_link.wait(), 5)
        assert heard == [b"ping"]
        loop = asyncio.get_running_loop()
        before = loop.time()
        writers[0].write(b"\x55\xaa" * 500)  # 1,000 bytes: a handful of chunks, never one per byte
        await writers[0].drain()
        chunks: list[tuple[bytes, float]] = [await asyncio.wait_for(link.read_timed(), 5)]
        await wait_for(lambda: sum(len(c) for c, _ in chunks) + sum(len(c) for c, _ in link._chunks) >= 1000, 5)
        chunks += link.received()
        assert b"".join(c for c, _ in chunks) == b"\x55\xaa" * 500
        assert len(chunks) < 10
        assert all(before <= at <= loop.time() for _, at in chunks)
        writers[0].write(b"tail")
        writers[0].close()  # the bytes before the close first, then the error
        assert (await asyncio.wait_for(link.read(), 5)) == b"tail"
        with pytest.raises(LinkError, match="closed"):
            await asyncio.wait_for(link.read(), 5)
        with pytest.raises(LinkError, match="closed"):
            await link.write(b"more")
        await link.close()
        server.close()

    asyncio.run(main())


def test_nothing_listening_is_a_link_error() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(LinkError, match="cannot open"):
            await open_link(f"socket://127.0.0.1:{port}")

    asyncio.run(main())


def test_a_gateway_follows_many_bridged_meters_without_a_thread_each() -> None:
    n = 24

    async def main() -> None:
        stop = asyncio.Event()
        servers = []
        for i in range(n):
            emu = Pj1103aEmulator(seed=i + 1, report_rate=3, speed=10.0)
            s = TcpServer(emu, "127.0.0.1", 0, baud=115200)
            await s.start()
            servers.append(s)
        serving = [asyncio.ensure_future(s.serve(stop)) for s in servers]
        threads_before = threading.active_count()
        out = Collect()
        cfgs = [MeterConfig(f"b{i:02d}", f"socket://127.0.0.1:{s.port}") for i, s in enumerate(servers)]
        async with Gateway(cfgs, {c.id: PROFILE for c in cfgs}, store=None, outputs=[out]):
            await wait_for(lambda: all(len(out.of(c.id)) >= 2 for c in cfgs), 60, "two updates from every meter")
            peak = threading.active_count()
        stop.set()
        await asyncio.gather(*serving)
        # asyncio's default executor may lend a few threads (name resolution); never one per link
        assert peak - threads_before < n // 2, (threads_before, peak)
        for c in cfgs:
            last = out.of(c.id)[-1].values
            assert last["voltage"] > 100 and "power_a" in last

    asyncio.run(main())


def test_bytes_then_the_close_in_one_go_reach_the_session_before_the_link_error() -> None:
    """A frame and the peer's close arrive together: the pump gives the frame to the session, then
    raises the link error (the bytes are not dropped with it)."""
    from tuyameter.transport.session_pump import SessionPump
    from tuyameter.tuyamcu.frame import Frame
    from tuyameter.tuyamcu.session import Session

    async def main() -> None:
        frame = Frame(0x00, b"\x01", 3).encode()  # a heartbeat answer, then gone

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(frame)
            writer.close()

        server = await asyncio.start_server(peer, "127.0.0.1", 0)
        link = await open_link(f"socket://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        await wait_for(lambda: len(link._chunks) >= 2, 5)  # both in before the pump looks
        session, seen = Session(), bytearray()

        async def handle(events: list[object], now: float) -> float | None:
            return None

        with pytest.raises(LinkError, match="closed"):
            await asyncio.wait_for(SessionPump(link, session, on_bytes=seen.extend).run(handle), 30)
        assert bytes(seen) == frame and session.stats.frames_in == 1
        await link.close()
        server.close()

    asyncio.run(main())


def test_report_frames_are_handled_as_they_arrive_without_waking_the_pump_for_each() -> None:
    """A bridged meter's report burst comes as one chunk per frame (paced at 9600 baud): the pump's
    fast lane handles them in the link's callback; its task turns only for writes and deadlines
    (a burst's quiet time or a partial frame's expiry, which each chunk moves later, re-arm the timer
    when it fires early instead of turning the task).
    The batches are whole and the values right either way."""
    from tuyameter.pipeline.events import Batch
    from tuyameter.sources.tuyamcu.source import TuyaMcuSource

    async def main() -> None:
        stop = asyncio.Event()
        server = TcpServer(Pj1103aEmulator(seed=3, report_rate=3, speed=10.0), "127.0.0.1", 0, baud=9600)
        await server.start()
        serving = asyncio.ensure_future(server.serve(stop))
        batches: list[Batch] = []
        marks: list[tuple[int, int]] = []
        async with TuyaMcuSource(f"socket://127.0.0.1:{server.port}", PROFILE) as source:
            async for item in source.readings():
                if not isinstance(item, Batch):
                    continue
                batches.append(item)
                assert source._pump is not None
                marks.append((source._pump.turns, source._pump.fast_turns))
                if len(batches) == 5:
                    break
        stop.set()
        await serving
        turns = marks[-1][0] - marks[0][0]
        fast = marks[-1][1] - marks[0][1]
        frames = sum(len(b.readings) for b in batches[1:])
        assert fast >= frames * 0.8, (fast, frames)  # about one per report frame
        # the task turns for writes (a heartbeat) and deadlines that come, not for ones the bursts moved on
        assert turns < len(batches) - 1, (turns, fast)
        names = [{name for name, _ in b.readings} for b in batches[1:]]
        assert all({"voltage", "power_a", "power_b", "direction_a"} <= n for n in names), names

    asyncio.run(main())
