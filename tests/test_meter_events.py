"""Meter events (counter resets, glitches, jumps, restarts) from the pipeline to the store, and the
link's last frames decoded: the pieces the web page shows on its graphs and link section."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg import Postgres
from tuyameter.energy.accountant import AccountEvent
from tuyameter.energy.stream import CounterEvent
from tuyameter.gateway.meter_events import MeterEvents
from tuyameter.gateway.pipeline import MeterPipeline
from tuyameter.meter import MeterOptions
from tuyameter.pipeline.events import Batch
from tuyameter.profiles import find_profile
from tuyameter.sources.traffic import Tap
from tuyameter.sources.tuyalan.binding import LanBinding
from tuyameter.sources.tuyalan.traffic import lan_lines
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.sources.tuyamcu.traffic import mcu_lines
from tuyameter.store.base import Record
from tuyameter.store.postgres import PostgresStore
from tuyameter.store.sqlite import SqliteStore
from tuyameter.tuyalan.codec import Message
from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.dp import DPRecord, encode_records
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.session import Session

P = find_profile("pj1103a")
T0 = 1_790_000_000.0


def _reset(t: float, name: str = "energy_forward_a") -> AccountEvent:
    return AccountEvent(t, name, CounterEvent.RESET, 0.01, 12.5)


def test_kinds_are_named_and_a_flood_is_kept_once_a_minute_counting_the_rest() -> None:
    ev = MeterEvents(every=60)
    first = ev.collect(T0, True, [_reset(T0), AccountEvent(T0, "energy_reverse_a", CounterEvent.STEP, 1, 1)])
    assert [e.kind for e in first] == ["restart", "reset"]
    assert "energy_forward_a: counter reset" in first[1].text and "12.500 kWh" in first[1].text
    for i in range(1, 30):  # a reset every 2 s for a minute: none of them kept …
        assert ev.collect(T0 + 2 * i, False, [_reset(T0 + 2 * i)]) == ()
    later = ev.collect(T0 + 61, False, [_reset(T0 + 61), AccountEvent(T0, "x", CounterEvent.LONE_ZERO, 0, 1)])
    assert [e.kind for e in later] == ["reset", "glitch"]  # … the next one says how many it stands for
    assert "(and 29 more like it in the 61 s before)" in later[0].text
    assert "more like it" not in later[1].text
    assert ev.kept == 4 and ev.dropped == 29
    # a suspected drop is not shown: its outcome (a reset or a glitch) is
    assert ev.collect(T0 + 500, False, [AccountEvent(T0, "x", CounterEvent.SUSPECT_DROP, 0, 1)]) == ()


def _batch(t: float, kwh: float, restarted: bool = False) -> Batch:
    return Batch(t, (("power_a", 500.0), ("energy_forward_a", kwh)), restarted)


def test_a_counter_reset_after_a_restart_goes_out_with_the_update_and_into_the_record() -> None:
    pipe = MeterPipeline("m", P, MeterOptions(), dt.UTC)
    u, r = pipe.on_batch(_batch(100.0, 42.0), T0)
    assert u.events == () and r.events == ()
    u, r = pipe.on_batch(_batch(103.0, 0.0, restarted=True), T0 + 3)
    kinds = [e.kind for e in u.events]
    assert kinds == ["restart", "reset"], kinds
    assert [(t, k) for t, k, _ in r.events] == [(T0 + 3, "restart"), (T0 + 3, "reset")]
    assert u.values["energy_forward_a"] >= 42.0  # the total did not go back


def _store_round_trip(store: SqliteStore | PostgresStore) -> None:
    recs = [
        Record(
            "m1", T0 + i * 10, {"power_a": 1.0}, {}, {}, {}, ((T0 + i * 10, "glitch", f"glitch {i}"),) if i % 3 else ()
        )
        for i in range(30)
    ]
    recs.append(Record("m2", T0 + 5, {}, {}, {}, {}, ((T0 + 5, "reset", "other meter"),)))
    store.record_many(recs)
    got = store.meter_events("m1", T0, T0 + 300, 1000)
    assert [x for _, _, x in got] == [f"glitch {i}" for i in range(30) if i % 3]
    assert [t for t, _, _ in got] == sorted(t for t, _, _ in got)
    newest = store.meter_events("m1", T0, T0 + 300, 3)
    assert [x for _, _, x in newest] == ["glitch 26", "glitch 28", "glitch 29"]  # the newest three, oldest first
    assert store.meter_events("m1", T0 + 100, T0 + 150, 100) == [
        (T0 + i * 10, "glitch", f"glitch {i}") for i in range(10, 15) if i % 3
    ]
    assert store.meter_events("m2", T0, T0 + 300, 10) == [(T0 + 5, "reset", "other meter")]
    store.purge_readings(T0 + 150)
    assert [x for _, _, x in store.meter_events("m1", 0, T0 + 300, 1000)] == [
        f"glitch {i}" for i in range(15, 30) if i % 3
    ]


def test_events_are_kept_and_read_back_in_sqlite(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "e.db")
    assert store.schema_version == 5
    _store_round_trip(store)
    store.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.stop()


def test_events_are_kept_and_read_back_in_postgres(server: Postgres) -> None:
    store = PostgresStore(server.new_database("events"))
    assert store.schema_version == 6  # 6: the TimescaleDB energy hypertable (nothing here)
    _store_round_trip(store)
    store.close()


def test_the_last_frames_of_a_session_both_ways_decoded_with_names() -> None:
    s = Session()
    report = Frame(Command.DP_REPORT, encode_records([DPRecord.make(101, DPType.VALUE, 2345)]), 3)  # power_a
    s.receive_data(report.encode(), 0.5)
    assert s.recent is None  # nobody looks: nothing kept
    s.recent = deque(maxlen=10)
    s.tick(0.0)
    assert s.data_to_send(0.0)  # the handshake's first heartbeat
    assert s.recent[0][1] is True
    for i in range(12):
        s.receive_data(report.encode(), 1.0 + i)
    assert len(s.recent) == 10  # a ring: the oldest (the heartbeat) went
    s.receive_data(Frame(Command.HEARTBEAT, b"\x01", 3).encode(), 100.0)
    lines = mcu_lines(s.recent, DPBinding(P), lambda t: T0 + t)
    assert lines[-1].command == "HEARTBEAT" and not lines[-1].outgoing and lines[-1].time == T0 + 100.0
    rep = lines[0]
    assert rep.command == "DP_REPORT" and rep.raw.startswith("55 aa 03 07")
    assert rep.readings == {"power_a": 234.5}, rep.readings
    assert "101" in rep.text
    assert DPBinding(P).stats.records == 0  # a second look is not counted as readings


def test_lan_messages_are_decoded_with_names_and_raw_bodies_shown_as_bytes() -> None:
    b = LanBinding(P)
    recent = [
        (1.0, True, Message(1, 3, bytes(range(16)))),
        (2.0, False, Message(2, 8, b'{"dps":{"101":2345,"999":1},"t":1}', 0)),
        (3.0, False, Message(3, 9, b"", 1)),
    ]
    lines = lan_lines(recent, b, lambda t: T0 + t)
    assert lines[0].outgoing and lines[0].raw.startswith("00 01 02") and "16 bytes" in lines[0].text
    assert lines[1].readings == {"power_a": 234.5, "dp999": 1} and '"101":2345' in lines[1].text
    assert lines[2].text.endswith("(return code 1)")
    assert b.stats.records == 0


def test_a_tap_keeps_frames_only_while_someone_asks() -> None:
    attached: list[object] = []

    async def main() -> None:
        tap = Tap(attached.append, size=3, hold=0.2)
        assert tap.ask() == [] and tap.ring is not None and attached == [tap.ring]
        tap.ring.extend([1, 2, 3, 4])
        assert tap.ask() == [2, 3, 4]
        first = tap._timer.when() if tap._timer else 0.0
        while asyncio.get_running_loop().time() <= first - 0.1:  # wait until half the hold has passed
            await asyncio.sleep(0.01)
        assert tap.ask() == [2, 3, 4]  # asked again: held open, the close moved later
        assert tap._timer is not None and tap._timer.when() > first
        while tap.ring is not None:  # … until nobody asked for `hold` seconds
            await asyncio.sleep(0.02)
        assert attached[-1] is None

    asyncio.run(asyncio.wait_for(main(), 10))
