"""Frame and DP record codec, checked against the reference's real frames and public captures."""

from __future__ import annotations

import json

import pytest

from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage
from tuyameter.tuyamcu.dp import DPError, DPRecord, decode_records, encode_records
from tuyameter.tuyamcu.frame import Frame, checksum


def one_frame(hexstr: str) -> Frame:
    dec = FrameDecoder(max_payload=0xFFFF)
    items = dec.feed(bytes.fromhex(hexstr.replace(" ", "")), 0.0)
    frames = [i for i in items if isinstance(i, Frame)]
    assert len(frames) == 1 and not [i for i in items if isinstance(i, Garbage)], items
    assert frames[0].encode().hex() == hexstr.replace(" ", "").lower()
    return frames[0]


@pytest.mark.parametrize(
    ("hexstr", "dp", "dtype", "value"),
    [
        ("55AA0307000802020004000000647D", 2, DPType.VALUE, 100),
        ("55AA03070008020200040000005A73", 2, DPType.VALUE, 90),
        ("55AA030700101200000C0101003F030100FA040100AA25", 18, DPType.RAW, bytes.fromhex("0101003F030100FA040100AA")),
        ("55AA03070008680200040000000180", 104, DPType.VALUE, 1),
    ],
)
def test_reference_reports(hexstr: str, dp: int, dtype: DPType, value: object) -> None:
    f = one_frame(hexstr)
    assert (f.version, f.command) == (3, Command.DP_REPORT)
    msg = m.parse(f, m.Direction.FROM_MCU)
    assert isinstance(msg, m.DPReport) and msg.error is None
    assert [(r.dp, r.type, r.value) for r in msg.records] == [(dp, dtype, value)]


def test_reference_product_info() -> None:
    text = '{"p":"3slpirlnlqp0bqo1","v":"1.0.0"}'
    body = bytes.fromhex("55AA00010024") + text.encode()
    hexstr = (body + bytes((checksum(body),))).hex()
    assert hexstr.endswith("c6")  # the reference gives C6 as the checksum
    f = one_frame(hexstr)
    msg = m.parse(f, m.Direction.FROM_MCU)
    assert isinstance(msg, m.ProductInfo)
    assert msg.product_id == "3slpirlnlqp0bqo1" and msg.info["v"] == "1.0.0"


def test_reference_time_request_and_module_sets() -> None:
    assert isinstance(m.parse(one_frame("55 AA 03 1C 00 00 1E"), m.Direction.FROM_MCU), m.TimeRequest)
    set_bool = m.set_dp_frame([DPRecord.make(2, DPType.BOOL, True)])
    assert set_bool.encode().hex(" ").upper() == "55 AA 00 06 00 05 02 01 00 01 01 0F"
    set_enum = m.set_dp_frame([DPRecord.make(109, DPType.ENUM, 16)])
    assert set_enum.encode().hex(" ").upper() == "55 AA 00 06 00 05 6D 04 00 01 10 8C"


# Frames from public captures (Tasmota's TuyaMCU wiki pages), not in our reference.
@pytest.mark.parametrize(
    ("hexstr", "direction", "expect"),
    [
        ("55aa0107000501010001000f", m.Direction.FROM_MCU, (1, Command.DP_REPORT, [(1, DPType.BOOL, False)])),
        ("55aa03070005010100010011", m.Direction.FROM_MCU, (3, Command.DP_REPORT, [(1, DPType.BOOL, False)])),
        ("55aa03070008020200040000000720", m.Direction.FROM_MCU, (3, Command.DP_REPORT, [(2, DPType.VALUE, 7)])),
        ("55aa0006000501010001010e", m.Direction.TO_MCU, (0, Command.SET_DP, [(1, DPType.BOOL, True)])),
    ],
)
def test_public_captures(hexstr: str, direction: m.Direction, expect: tuple[int, int, list[object]]) -> None:
    f = one_frame(hexstr)
    assert m.guess_direction(f) is direction
    msg = m.parse(f, direction)
    assert isinstance(msg, m.DPReport | m.SetDP)
    assert (f.version, f.command, [(r.dp, r.type, r.value) for r in msg.records]) == expect


def test_well_known_handshake_frames() -> None:
    # module heartbeat / queries, and MCU heartbeat replies, as seen in many logs
    assert Frame(Command.HEARTBEAT).encode().hex() == "55aa00000000ff"
    assert Frame(Command.QUERY_STATE).encode().hex() == "55aa0008000007"
    assert Frame(Command.WIFI_STATE, b"\x04").encode().hex() == "55aa0003000104" + "07"
    first = m.parse(one_frame("55aa0300000100" + "03"), m.Direction.FROM_MCU)
    assert first == m.Heartbeat(0)
    assert m.parse(one_frame("55aa0300000101" + "04"), m.Direction.FROM_MCU) == m.Heartbeat(1)


@pytest.mark.parametrize(
    ("dtype", "value", "data"),
    [
        (DPType.RAW, b"\x01\x02\xff", b"\x01\x02\xff"),
        (DPType.BOOL, True, b"\x01"),
        (DPType.VALUE, -1, b"\xff\xff\xff\xff"),
        (DPType.VALUE, 2**31 - 1, b"\x7f\xff\xff\xff"),
        (DPType.STRING, "héllo", "héllo".encode()),
        (DPType.ENUM, 3, b"\x03"),
        (DPType.BITMAP, 0x1F, b"\x1f"),
        (DPType.BITMAP, 0x1234, b"\x12\x34"),
        (DPType.BITMAP, 0x123456, b"\x00\x12\x34\x56"),
    ],
)
def test_dp_types_roundtrip(dtype: DPType, value: object, data: bytes) -> None:
    rec = DPRecord.make(7, dtype, value)  # type: ignore[arg-type]
    assert rec.data == data
    res = decode_records(encode_records([rec, DPRecord.make(8, DPType.BOOL, False)]))
    assert res.error is None
    assert res.records[0] == rec and res.records[0].value == value


@pytest.mark.parametrize(
    ("dtype", "value"),
    [(DPType.BOOL, 2), (DPType.VALUE, 2**31), (DPType.ENUM, 256), (DPType.BITMAP, -1), (DPType.VALUE, "x")],
)
def test_dp_encode_refuses_bad_values(dtype: DPType, value: object) -> None:
    with pytest.raises(DPError):
        DPRecord.make(1, dtype, value)  # type: ignore[arg-type]


def test_truncated_record_keeps_earlier_records() -> None:
    payload = encode_records([DPRecord.make(101, DPType.VALUE, 5), DPRecord.make(102, DPType.ENUM, 1)])
    res = decode_records(payload[:-1])
    assert [r.dp for r in res.records] == [101]
    assert res.error and "dp102" in res.error
    bad_len = bytes((1, DPType.VALUE, 0, 3, 0, 0, 1))
    assert decode_records(bad_len).error


def test_long_payload_uses_full_16_bit_length() -> None:
    # Over 255 bytes: a decoder that shifts the high length byte the wrong way mis-frames this.
    recs = [DPRecord.make(i, DPType.VALUE, i * 1000) for i in range(1, 41)]
    frame = m.mcu_report_frame(recs)
    assert len(frame.payload) == 320
    wire = frame.encode()
    assert wire[4:6] == b"\x01\x40"
    dec = FrameDecoder()
    out = dec.feed(wire[:100], 0.0) + dec.feed(wire[100:], 0.01)
    assert out == [frame]
    msg = m.parse(frame, m.Direction.FROM_MCU)
    assert isinstance(msg, m.DPReport) and len(msg.records) == 40


def test_frame_validation() -> None:
    with pytest.raises(ValueError):
        Frame(256)
    with pytest.raises(ValueError):
        Frame(1, b"", 300)
    assert "HEARTBEAT" in str(Frame(0))
    assert json.dumps(str(Frame(0x99, b"\x01")))
