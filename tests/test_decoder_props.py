"""Property-based tests: the decoder never crashes or hangs, and never loses a good frame after garbage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage
from tuyameter.tuyamcu.frame import Frame

frames = st.builds(
    Frame,
    command=st.integers(0, 255),
    payload=st.binary(max_size=300),
    version=st.sampled_from([0, 1, 3]),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


def feed_all(dec: FrameDecoder, chunks: list[bytes], gap: float = 0.001) -> list[Frame | Garbage]:
    out: list[Frame | Garbage] = []
    t = 0.0
    for c in chunks:
        out += dec.feed(c, t)
        t += gap
    out += dec.tick(t + 10.0)  # a long silence: anything pending is abandoned and rescanned
    out += dec.flush()
    return out


@given(st.binary(max_size=2000), st.lists(st.integers(0, 5000), max_size=20))
def test_garbage_never_crashes_and_everything_is_accounted(data: bytes, cuts: list[int]) -> None:
    dec = FrameDecoder(max_payload=512)
    out = feed_all(dec, chunked(data, cuts))
    assert dec.pending() == 0
    # Every input byte comes out exactly once: in a frame or as skipped garbage.
    consumed = sum(len(i.encode()) if isinstance(i, Frame) else len(i.data) for i in out)
    assert consumed == len(data)
    for i in out:
        if isinstance(i, Frame):
            m.parse(i, m.Direction.FROM_MCU)  # interpreting any frame never raises
            m.parse(i, m.Direction.TO_MCU)


@given(st.binary(max_size=400), frames, st.lists(st.integers(0, 2000), max_size=10))
def test_good_frame_after_garbage_is_never_lost(garbage: bytes, frame: Frame, cuts: list[int]) -> None:
    wire = frame.encode()
    dec = FrameDecoder()
    out = feed_all(dec, chunked(garbage + wire, cuts))
    got = [i for i in out if isinstance(i, Frame)]
    # Either we decode the frame, or the garbage happened to open a frame with a valid
    # checksum that contains it (indistinguishable on the wire).
    assert frame in got or any(wire in g.encode() for g in got)


@given(frames, frames, st.lists(st.integers(0, 1000), max_size=10))
def test_split_anywhere_same_result(a: Frame, b: Frame, cuts: list[int]) -> None:
    data = a.encode() + b.encode()
    whole = FrameDecoder().feed(data, 0.0)
    parts = feed_all(FrameDecoder(), chunked(data, cuts))
    assert [i for i in whole if isinstance(i, Frame)] == [a, b]
    assert [i for i in parts if isinstance(i, Frame)] == [a, b]


def test_partial_frame_times_out_and_following_frame_survives() -> None:
    good = Frame(7, b"\x65\x02\x00\x04\x00\x00\x00\x0a", 3)
    dec = FrameDecoder(idle_timeout=0.4)
    # A header promising 200 bytes that never come, then silence, then a good frame.
    assert dec.feed(bytes.fromhex("55aa030700c8") + b"\x01\x02", 0.0) == []
    out = dec.feed(good.encode(), 1.0)
    assert good in out
    assert dec.stats.partial_timeouts == 1


def test_good_frame_inside_a_stalled_candidate_is_recovered_by_tick() -> None:
    good = Frame(0, b"\x01", 3)
    dec = FrameDecoder(idle_timeout=0.4)
    out = dec.feed(bytes.fromhex("55aa03070400") + good.encode(), 0.0)
    assert good not in out  # still waiting: the long candidate may be real
    out = dec.tick(0.5)
    assert good in out


def test_bad_checksum_counts_and_resyncs() -> None:
    good = Frame(7, b"\x01\x01\x00\x01\x01", 3)
    bad = bytearray(good.encode())
    bad[-1] ^= 0xFF
    dec = FrameDecoder()
    out = dec.feed(bytes(bad) + good.encode(), 0.0)
    assert [i for i in out if isinstance(i, Frame)] == [good]
    assert dec.stats.checksum_errors == 1 and dec.stats.frames == 1


def test_oversize_length_is_rejected_quickly() -> None:
    good = Frame(0, b"\x01", 3)
    dec = FrameDecoder(max_payload=64)
    out = dec.feed(bytes.fromhex("55aa0307ff00") + good.encode(), 0.0)
    assert good in out and dec.stats.oversize == 1


@given(st.lists(st.one_of(st.binary(max_size=64), frames.map(Frame.encode)), max_size=30))
def test_session_and_emulator_survive_any_input(chunks: list[bytes]) -> None:
    from tuyameter.emulator.pj1103a import Pj1103aEmulator
    from tuyameter.tuyamcu.session import Session

    session, emu = Session(), Pj1103aEmulator()
    t = 0.0
    for c in chunks:
        session.receive_data(c, t)
        emu.receive_data(c, t)
        session.tick(t)
        while session.data_to_send(t):
            t += 0.02
        session.events()
        emu.data_to_send()
        t += 0.1
    session.tick(t + 10.0)  # after a silence nothing stays stuck in the decoder
    assert session.decoder.pending() == 0
    assert session.stats.frames_in == session.decoder.stats.frames


_reports = st.builds(
    lambda payload, version: Frame(0x07, payload, version),
    payload=st.one_of(
        st.binary(max_size=40),  # mostly malformed records
        st.lists(
            st.tuples(st.integers(0, 255), st.sampled_from([0, 1, 2, 3, 4, 5]), st.binary(max_size=6)),
            max_size=4,
        ).map(lambda recs: b"".join(bytes((dp, t, 0, len(d))) + d for dp, t, d in recs)),
    ),
    version=st.sampled_from([0, 3]),
)


@given(st.lists(st.one_of(_reports, frames), max_size=20))
def test_report_frames_make_the_same_events_with_and_without_the_message_layer(seq: list[Frame]) -> None:
    """The session takes report frames without building a message (unless it traces): the events
    and counters must be what parsing each frame into its message gives."""
    from tuyameter.tuyamcu.events import Traffic
    from tuyameter.tuyamcu.session import Session

    quick, full = Session(), Session(trace=True)
    t = 0.0
    for f in seq:
        for s in (quick, full):
            s.receive_data(f.encode(), t)
        t += 0.05
        got = quick.events()
        want = [e for e in full.events() if not isinstance(e, Traffic)]
        assert got == want
        assert quick.stats == full.stats
        assert [quick.data_to_send(t) for _ in range(3)] == [full.data_to_send(t) for _ in range(3)]


small_frames = st.builds(Frame, command=st.integers(0, 255), payload=st.binary(max_size=70), version=st.just(3))


def _merged(items: list[Frame | Garbage]) -> list[object]:
    """Frames in order, with the garbage between two frames as one run of bytes."""
    out: list[object] = []
    for i in items:
        if isinstance(i, Garbage):
            if out and isinstance(out[-1], bytes):
                out[-1] += i.data
            else:
                out.append(i.data)
        else:
            out.append(i)
    return out


@given(st.lists(st.one_of(small_frames.map(Frame.encode), st.binary(max_size=12)), max_size=25), st.data())
def test_any_split_of_frames_and_garbage_decodes_alike(parts: list[bytes], data: st.DataObject) -> None:
    """Whole, byte by byte and cut anywhere, the decoder finds the same frames and skips the same bytes
    (whole small frames at the buffer's start take a shorter way than the rest)."""
    wire = b"".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=12))
    runs = []
    for chunks in ([wire], [wire[i : i + 1] for i in range(len(wire))], chunked(wire, cuts)):
        dec = FrameDecoder()
        runs.append((_merged(feed_all(dec, chunks, gap=0.0)), dec.stats.frames))
    assert runs[0] == runs[1] == runs[2]
