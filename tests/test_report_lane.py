"""The session's short way for report frames, and what it must not change.

A meter sends its report cycle as one plain report (0x07) per DP, and repeats most of those
frames byte for byte. The decoder hands a repeated frame again, the session remembers each DP's
last records and gives the plain reports received together as one update, the binding reuses
the reading of a record it has seen. None of it may change what comes out: the records in
order, the errors, the counters, the answers, and the source's batches however the bytes are cut.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tuyameter.pipeline.events import Batch
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.source import TuyaMcuSource
from tuyameter.tuyamcu.events import DPUpdate, Event, Traffic
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.session import Session
from tuyameter.tuyamcu.session_config import SessionConfig

PROFILE = find_profile("pj1103a")
DPS = sorted(PROFILE.by_dp())
END_DP = max(DPS)  # the PJ-1103A's cycle ends on its highest DP (131)


def _record(dp: int, type_: int, data: bytes) -> bytes:
    return bytes((dp, type_, len(data) >> 8, len(data) & 0xFF)) + data


_values = st.integers(0, 3).map(lambda v: v.to_bytes(4, "big"))
# a DP of the profile most of the time (so the binding converts it); well formed nearly always,
# of its own type or another; now and then a record of any type and length
_records = st.one_of(
    st.builds(_record, st.sampled_from(DPS), st.just(2), _values),
    st.builds(_record, st.sampled_from(DPS), st.just(2), _values),
    st.builds(_record, st.sampled_from(DPS), st.sampled_from([1, 4]), st.binary(min_size=1, max_size=1)),
    st.builds(_record, st.integers(0, 255), st.integers(0, 5), st.binary(max_size=5)),
)
_payloads = st.one_of(
    _records,  # one record per frame, as a meter reports
    _records,
    st.lists(_records, min_size=2, max_size=4).map(b"".join),  # a query's answer
    st.binary(max_size=12),  # malformed
)
_frames = st.one_of(
    st.builds(lambda p: Frame(0x07, p, 3), _payloads),
    st.builds(lambda p: Frame(0x07, p, 3), _payloads),
    st.builds(lambda p: Frame(0x05, p, 3), _payloads),  # a report that wants an answer
    st.builds(Frame, st.sampled_from([0x00, 0x01, 0x1C, 0x2B, 0x99]), st.binary(max_size=8), st.just(3)),
)
#: repeats byte for byte, as a meter sends them
_traffic = st.lists(st.integers(0, 7), min_size=1, max_size=60).flatmap(
    lambda picks: st.lists(_frames, min_size=8, max_size=8).map(lambda pool: [pool[i] for i in picks])
)


def _wire(frames: list[Frame], garbage: bytes) -> bytes:
    wire = b"".join(f.encode() for f in frames)
    return wire[: len(wire) // 2] + garbage + wire[len(wire) // 2 :] if garbage else wire


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _per_frame(events: list[Event]) -> list[Event]:
    """Events with every coalesced update split back into one update per frame."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, DPUpdate) and e.frames > 1:
            out += [DPUpdate(e.time, (r,), e.command, e.error) for r in e.records]
        elif not isinstance(e, Traffic):
            out.append(e)
    return out


def _run(session: Session, chunks: list[bytes]) -> tuple[list[Event], list[bytes]]:
    events: list[Event] = []
    sent: list[bytes] = []
    t = 0.0
    for c in chunks:
        session.receive_data(c, t)
        events += session.events()
        while out := session.data_to_send(t):
            sent.append(out)
            t += 0.011
        t += 0.02
    return events, sent


@given(_traffic, st.binary(max_size=10), st.lists(st.integers(0, 4000), max_size=30))
def test_coalesced_reports_are_the_frames_they_came_from(frames: list[Frame], garbage: bytes, cuts: list[int]) -> None:
    """The default session (short way, coalescing), one that gives an update per frame, and one
    that parses every frame into its message (tracing): the same events frame by frame, the same
    counters, the same answers to the MCU."""
    chunks = _chunks(_wire(frames, garbage), cuts)
    quick = Session()
    per_frame = Session(SessionConfig(coalesce_reports=False))
    traced = Session(trace=True)
    runs = [_run(s, chunks) for s in (quick, per_frame, traced)]
    assert _per_frame(runs[0][0]) == runs[1][0] == _per_frame(runs[2][0])
    assert not any(isinstance(e, DPUpdate) and e.frames > 1 for e in runs[1][0])
    assert runs[0][1] == runs[1][1] == runs[2][1]
    assert quick.stats == per_frame.stats == traced.stats
    assert quick.decoder.stats == per_frame.decoder.stats


def test_a_repeated_frame_is_handed_again_and_its_records_too() -> None:
    """What makes the short way short (and what this file's properties would not see if it broke)."""
    frame = Frame(0x07, _record(END_DP, 2, (1234).to_bytes(4, "big")), 3).encode()
    session = Session()
    session.receive_data(frame + frame, 0.0)
    session.receive_data(frame, 1.0)
    first, second = session.events()
    assert isinstance(first, DPUpdate) and isinstance(second, DPUpdate)
    assert first.frames == 2 and len(first.records) == 2 and second.frames == 1
    assert first.records[0] is first.records[1] is second.records[0]
    assert session.stats.frames_in == session.decoder.stats.frames == 3


def _batches(chunks: list[bytes], coalesce: bool) -> list[tuple[tuple[str, object], ...]]:
    source = TuyaMcuSource("socket://127.0.0.1:9", PROFILE)
    source.session.config.coalesce_reports = coalesce
    out: list[tuple[tuple[str, object], ...]] = []
    source._emit = lambda item: out.append(item.readings) if isinstance(item, Batch) else None  # type: ignore[method-assign]
    t = 0.0
    for c in chunks:
        source.session.receive_data(c, t)
        source._on_events_now(source.session.events(), t)
        t += 0.01
    source._on_events_now([], t + 60.0)  # the settle time: the last burst goes out
    return out


@given(_traffic, st.lists(st.integers(0, 4000), max_size=30))
def test_the_source_makes_the_same_batches_from_coalesced_reports(frames: list[Frame], cuts: list[int]) -> None:
    """A burst still ends with the frame of its last DP (all of that frame, if it holds several
    records), whether the session gave that frame alone or together with others."""
    chunks = _chunks(_wire(frames, b""), cuts)
    assert _batches(chunks, True) == _batches(chunks, False)
