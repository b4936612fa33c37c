"""Meaning of every command in both directions, including the version-0 forms."""

from __future__ import annotations

import datetime as dt

import pytest

from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.dp import DPRecord, encode_records
from tuyameter.tuyamcu.frame import Frame

TO, FROM = m.Direction.TO_MCU, m.Direction.FROM_MCU
REC = encode_records([DPRecord.make(101, DPType.VALUE, 1234)])


@pytest.mark.parametrize(
    ("frame", "direction", "expected"),
    [
        (Frame(0x00), TO, m.Heartbeat()),
        (Frame(0x00, b"\x01", 3), FROM, m.Heartbeat(1)),
        (Frame(0x01), TO, m.ProductInfoQuery()),
        (Frame(0x02), TO, m.WorkingModeQuery()),
        (Frame(0x02, b"", 3), FROM, m.WorkingMode(b"")),
        (Frame(0x02, b"\x0e\x0d", 3), FROM, m.WorkingMode(b"\x0e\x0d")),
        (Frame(0x03, b"\x04"), TO, m.WifiStateMsg(4)),
        (Frame(0x03, b"", 3), FROM, m.Ack(Command.WIFI_STATE)),
        (Frame(0x04, b"", 3), FROM, m.WifiResetRequest()),
        (Frame(0x04), TO, m.Ack(Command.WIFI_RESET)),
        (Frame(0x05, b"\x01", 3), FROM, m.WifiSelectRequest(1)),
        (Frame(0x05), TO, m.Ack(Command.WIFI_SELECT)),
        (Frame(0x08), TO, m.QueryState()),
        (Frame(0x1C, b"", 3), FROM, m.TimeRequest()),
        (Frame(0x23, b"\x01"), TO, m.ReportAck(True)),
        (Frame(0x24, b"", 3), FROM, m.RssiRequest()),
        (Frame(0x24, b"\xc4"), TO, m.RssiAnswer(-60)),
        (Frame(0x2B, b"", 3), FROM, m.NetworkStatusRequest()),
        (Frame(0x2B, b"\x04"), TO, m.WifiStateMsg(4)),
        (Frame(0x34, b"\x04", 3), FROM, m.Extended(4, b"")),
        (Frame(0x34, b"\x04\x00"), TO, m.ExtendedAnswer(4, 0)),
    ],
)
def test_parse(frame: Frame, direction: m.Direction, expected: m.Message) -> None:
    assert m.parse(frame, direction) == expected
    assert expected.describe()


def test_reports_in_all_forms() -> None:
    v3 = m.parse(Frame(0x07, REC, 3), FROM)
    assert isinstance(v3, m.DPReport) and v3.records[0].value == 1234 and not v3.needs_ack
    acked = m.parse(Frame(0x22, REC, 3), FROM)
    assert isinstance(acked, m.DPReport) and acked.needs_ack
    # version 0: 0x05 is a real-time report
    v0 = m.parse(Frame(0x05, REC, 0), FROM)
    assert isinstance(v0, m.DPReport) and v0.records[0].dp == 101
    # version 0: MCU→module 0x08 carries a 7-byte date header before the records
    header = bytes((1, 26, 11, 23, 14, 5, 9))
    stamped = m.parse(Frame(0x08, header + REC, 0), FROM)
    assert isinstance(stamped, m.DPReport)
    assert stamped.time == dt.datetime(2026, 11, 23, 14, 5, 9) and stamped.records[0].value == 1234
    # 0x34 sub 0x0B: record-type report with an 8-byte date-time
    rec = m.parse(Frame(0x34, bytes((0x0B, 1, 26, 11, 23, 14, 5, 9, 0)) + REC, 3), FROM)
    assert isinstance(rec, m.DPReport) and rec.needs_ack and rec.time == dt.datetime(2026, 11, 23, 14, 5, 9)


def test_time_answer_encoding() -> None:
    when = dt.datetime(2026, 11, 23, 14, 5, 9)  # a Monday
    f = m.time_answer_frame(when)
    assert f.payload == bytes((1, 26, 11, 23, 14, 5, 9, 1))
    assert m.parse(f, TO) == m.TimeAnswer(True, when)
    assert m.time_answer_frame(None).payload == bytes(8)


@pytest.mark.parametrize(
    "frame",
    [Frame(0x00, b"\x01\x02", 3), Frame(0x03, b""), Frame(0x1C, b"\x01"), Frame(0x34, b"", 3), Frame(0x99, b"", 3)],
)
def test_malformed_never_raises(frame: Frame) -> None:
    d = FROM if frame.version else TO
    assert isinstance(m.parse(frame, d), m.Malformed)


def test_guess_direction() -> None:
    assert m.guess_direction(Frame(0x00)) is TO
    assert m.guess_direction(Frame(0x00, b"\x01", 0)) is FROM
    assert m.guess_direction(Frame(0x06, REC)) is TO
    assert m.guess_direction(Frame(0x07, REC)) is FROM
    assert m.guess_direction(Frame(0x1C, bytes(8))) is TO
    assert m.guess_direction(Frame(0x03, b"\x04")) is TO
