"""Typed meaning of TuyaMCU frames in both directions.

``parse(frame, direction)`` turns a :class:`Frame` into one of the message
classes below; builders turn messages back into frames. The module (gateway)
side always sends version 0; the MCU sends its own protocol version, which
also selects the version-0 meaning of commands 0x05 and 0x08.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from tuyameter.tuyamcu.constants import Command, ExtendedSub, WifiState, command_name
from tuyameter.tuyamcu.dp import DPRecord, decode_records, encode_records
from tuyameter.tuyamcu.frame import Frame
from tuyameter.util import safejson


class Direction(Enum):
    TO_MCU = "module→mcu"
    FROM_MCU = "mcu→module"


@dataclass(frozen=True)
class Message:
    def describe(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Heartbeat(Message):
    """Module: ``status`` None. MCU: 0 first reply after boot, 1 afterwards."""

    status: int | None = None

    def describe(self) -> str:
        if self.status is None:
            return "heartbeat"
        return "heartbeat reply " + ("(first after MCU boot)" if self.status == 0 else "(running)")


@dataclass(frozen=True)
class ProductInfoQuery(Message):
    def describe(self) -> str:
        return "query product info"


@dataclass(frozen=True)
class ProductInfo(Message):
    text: str
    info: dict[str, object] = field(default_factory=dict)
    #: why ``text`` gave no info (not JSON, not an object, over the size or depth limit)
    malformed: str | None = None

    @property
    def product_id(self) -> str | None:
        p = self.info.get("p")
        return str(p) if p is not None else None

    def describe(self) -> str:
        text = self.text if len(self.text) <= 200 else f"{self.text[:200]}… ({len(self.text)} characters)"
        return f"product info {text}" + (f" (malformed: {self.malformed})" if self.malformed else "")


@dataclass(frozen=True)
class WorkingModeQuery(Message):
    def describe(self) -> str:
        return "query working mode"


@dataclass(frozen=True)
class WorkingMode(Message):
    pins: bytes = b""

    def describe(self) -> str:
        return "working mode: " + working_mode_text(self.pins)


def working_mode_text(pins: bytes | None) -> str:
    """The 0x02 answer in words. Empty: cooperative — the MCU drives the network LED and reset
    button and expects 0x03 Wi-Fi states. Two bytes: the *module's* GPIOs for LED and button,
    which the module handles itself (self-processing; the MCU then does not acknowledge 0x03)."""
    if not pins:
        return "cooperative (the MCU drives LED and button; the module reports Wi-Fi state)"
    if len(pins) >= 2:
        return f"self-processing (the module drives LED GPIO {pins[0]} and button GPIO {pins[1]})"
    return f"unknown ({pins.hex(' ')})"


@dataclass(frozen=True)
class WifiStateMsg(Message):
    state: int

    def describe(self) -> str:
        try:
            name = WifiState(self.state).name.lower()
        except ValueError:
            name = "unknown"
        return f"wifi state {self.state} ({name})"


@dataclass(frozen=True)
class Ack(Message):
    """An empty answer to ``command``."""

    command: int

    def describe(self) -> str:
        return f"ack {command_name(self.command)}"


@dataclass(frozen=True)
class WifiResetRequest(Message):
    def describe(self) -> str:
        return "MCU asks for Wi-Fi reset"


@dataclass(frozen=True)
class WifiSelectRequest(Message):
    mode: int

    def describe(self) -> str:
        return f"MCU asks for Wi-Fi reset, mode {self.mode}"


@dataclass(frozen=True)
class SetDP(Message):
    records: tuple[DPRecord, ...]
    error: str | None = None

    def describe(self) -> str:
        s = "set " + ", ".join(str(r) for r in self.records)
        return s + (f" (error: {self.error})" if self.error else "")


@dataclass(frozen=True)
class DPReport(Message):
    records: tuple[DPRecord, ...]
    error: str | None = None
    command: int = Command.DP_REPORT
    needs_ack: bool = False
    time: dt.datetime | None = None

    def describe(self) -> str:
        s = "report " + ", ".join(str(r) for r in self.records)
        if self.time is not None:
            s += f" @ {self.time.isoformat()}"
        if self.needs_ack:
            s += " (ack required)"
        return s + (f" (error: {self.error})" if self.error else "")


@dataclass(frozen=True)
class QueryState(Message):
    def describe(self) -> str:
        return "query all DPs"


@dataclass(frozen=True)
class TimeRequest(Message):
    utc: bool = False  # 0x0C (GMT/UTC) rather than 0x1C (local time)

    def describe(self) -> str:
        return "MCU asks for UTC (GMT) time" if self.utc else "MCU asks for local time"


@dataclass(frozen=True)
class TimeAnswer(Message):
    valid: bool
    time: dt.datetime | None
    utc: bool = False

    def describe(self) -> str:
        kind = "UTC time" if self.utc else "local time"
        return f"{kind} {self.time.isoformat() if self.time else '?'} valid={self.valid}"


@dataclass(frozen=True)
class ReportAck(Message):
    ok: bool

    def describe(self) -> str:
        return f"report ack ok={self.ok}"


@dataclass(frozen=True)
class RssiRequest(Message):
    def describe(self) -> str:
        return "MCU asks for RSSI"


@dataclass(frozen=True)
class RssiAnswer(Message):
    rssi: int

    def describe(self) -> str:
        return f"RSSI {self.rssi} dBm"


@dataclass(frozen=True)
class NetworkStatusRequest(Message):
    def describe(self) -> str:
        return "MCU asks for network status"


@dataclass(frozen=True)
class Extended(Message):
    """0x34 service with a sub-command we do not interpret further."""

    sub: int
    data: bytes

    def describe(self) -> str:
        return f"extended sub 0x{self.sub:02X} {self.data.hex()}"


@dataclass(frozen=True)
class ExtendedAnswer(Message):
    sub: int
    status: int

    def describe(self) -> str:
        return f"extended answer sub 0x{self.sub:02X} status {self.status}"


@dataclass(frozen=True)
class Malformed(Message):
    command: int
    payload: bytes
    reason: str

    def describe(self) -> str:
        if self.reason == "unknown command":
            return f"unknown command {command_name(self.command)}: {self.payload.hex() or '(empty)'}"
        return f"malformed {command_name(self.command)} ({self.reason}): {self.payload.hex()}"


def _date(b: bytes) -> dt.datetime | None:
    """``yy mm dd hh mi ss`` → datetime, None when not a valid date."""
    if len(b) < 6:
        return None
    try:
        return dt.datetime(2000 + b[0], b[1], b[2], b[3], b[4], b[5])
    except ValueError:
        return None


def _report(payload: bytes, command: int, *, needs_ack: bool = False, time: dt.datetime | None = None) -> DPReport:
    res = decode_records(payload)
    return DPReport(tuple(res.records), res.error, command, needs_ack, time)


def parse(frame: Frame, direction: Direction) -> Message:
    """Interpret a frame. Never raises on any payload."""
    c, p = frame.command, frame.payload
    if direction is Direction.TO_MCU:
        return _parse_to_mcu(c, p)
    return _parse_from_mcu(c, p, frame.version)


def _parse_to_mcu(c: int, p: bytes) -> Message:
    if c == Command.HEARTBEAT:
        return Heartbeat()
    if c == Command.PRODUCT_INFO:
        return ProductInfoQuery()
    if c == Command.WORKING_MODE:
        return WorkingModeQuery()
    if c == Command.WIFI_STATE:
        return WifiStateMsg(p[0]) if len(p) == 1 else Malformed(c, p, "needs 1 byte")
    if c in (Command.WIFI_RESET, Command.WIFI_SELECT):
        return Ack(c)
    if c == Command.SET_DP:
        res = decode_records(p)
        return SetDP(tuple(res.records), res.error)
    if c == Command.QUERY_STATE:
        return QueryState()
    if c in (Command.LOCAL_TIME, Command.GMT_TIME):
        if len(p) != 8:
            return Malformed(c, p, "needs 8 bytes")
        return TimeAnswer(bool(p[0]), _date(p[1:7]), utc=c == Command.GMT_TIME)
    if c == Command.DP_REPORT_ACK:
        return ReportAck(bool(p[0])) if p else Malformed(c, p, "needs 1 byte")
    if c == Command.RSSI:
        return RssiAnswer(int.from_bytes(p[:1], "big", signed=True)) if p else Malformed(c, p, "needs 1 byte")
    if c == Command.NETWORK_STATUS:
        return WifiStateMsg(p[0]) if p else Malformed(c, p, "needs 1 byte")
    if c == Command.EXTENDED:
        if len(p) < 2:
            return Malformed(c, p, "needs sub-command and status")
        return ExtendedAnswer(p[0], p[1])
    return Malformed(c, p, "unknown command")


#: the command byte of nearly every frame a running meter sends (a plain int: compared per frame)
DP_REPORT = int(Command.DP_REPORT)


def _parse_from_mcu(c: int, p: bytes, version: int) -> Message:
    if c == DP_REPORT:  # nearly every frame of a running meter: looked at first
        return _report(p, c)
    if c == Command.HEARTBEAT:
        return Heartbeat(p[0]) if len(p) == 1 else Malformed(c, p, "needs 1 byte")
    if c == Command.PRODUCT_INFO:
        text = p.decode("utf-8", errors="replace")
        try:
            obj = safejson.loads(text)
        except ValueError as e:
            return ProductInfo(text, {}, str(e))
        if not isinstance(obj, dict):
            return ProductInfo(text, {}, f"JSON {type(obj).__name__}, not an object")
        return ProductInfo(text, obj)
    if c == Command.WORKING_MODE:
        return WorkingMode(p)
    if c == Command.WIFI_STATE:
        return Ack(c)
    if c == Command.WIFI_RESET:
        return WifiResetRequest()
    if c == Command.WIFI_SELECT:
        if version == 0 and len(p) != 1:
            return _report(p, c, needs_ack=True)  # version 0: real-time DP report
        return WifiSelectRequest(p[0]) if len(p) == 1 else Malformed(c, p, "needs 1 byte")
    if c == Command.QUERY_STATE:
        if version == 0 and len(p) >= 7:  # version 0: report with a 7-byte date header
            time = _date(p[1:7]) if p[0] else None
            return _report(p[7:], c, needs_ack=True, time=time)
        return _report(p, c)
    if c in (Command.LOCAL_TIME, Command.GMT_TIME):
        return TimeRequest(utc=c == Command.GMT_TIME)
    if c == Command.DP_REPORT_ACKED:
        return _report(p, c, needs_ack=True)
    if c == Command.RSSI:
        return RssiRequest()
    if c == Command.NETWORK_STATUS:
        return NetworkStatusRequest()
    if c == Command.EXTENDED:
        if not p:
            return Malformed(c, p, "missing sub-command")
        if p[0] == ExtendedSub.RECORD_REPORT:
            if len(p) < 9:
                return Malformed(c, p, "record report shorter than its date")
            time = _date(p[2:8]) if p[1] else None
            return _report(p[9:], c, needs_ack=True, time=time)
        return Extended(p[0], p[1:])
    return Malformed(c, p, "unknown command")


def guess_direction(frame: Frame) -> Direction:
    """Best guess for a frame pasted from a log without its direction."""
    c, n = frame.command, len(frame.payload)
    if frame.version != 0:
        return Direction.FROM_MCU
    mcu_only = {Command.DP_REPORT, Command.LOCAL_TIME, Command.GMT_TIME, Command.DP_REPORT_ACKED, Command.WIFI_RESET}
    if c in mcu_only:
        time_answer = c in (Command.LOCAL_TIME, Command.GMT_TIME) and n == 8
        return Direction.TO_MCU if time_answer else Direction.FROM_MCU
    if c == Command.SET_DP:
        return Direction.TO_MCU
    if c == Command.WIFI_STATE:
        return Direction.TO_MCU if n == 1 else Direction.FROM_MCU
    if c in (Command.HEARTBEAT, Command.PRODUCT_INFO, Command.QUERY_STATE, Command.WIFI_SELECT):
        return Direction.FROM_MCU if n else Direction.TO_MCU
    return Direction.FROM_MCU


# -- builders ----------------------------------------------------------------


def module_frame(command: int, payload: bytes = b"") -> Frame:
    """A frame as the module (gateway) sends it: always version 0."""
    return Frame(command, payload, 0)


def set_dp_frame(records: list[DPRecord]) -> Frame:
    return module_frame(Command.SET_DP, encode_records(records))


def time_answer_frame(now: dt.datetime | None, command: int = Command.LOCAL_TIME) -> Frame:
    """The answer to 0x1C (local time) or 0x0C (UTC): ``ok, yy, mm, dd, hh, mi, ss, weekday``; all
    zero (not valid) when the module does not know the time."""
    if now is None:
        return module_frame(command, bytes(8))
    yy = max(0, min(255, now.year - 2000))
    payload = bytes((1, yy, now.month, now.day, now.hour, now.minute, now.second, now.isoweekday()))
    return module_frame(command, payload)


def mcu_report_frame(records: list[DPRecord], version: int = 3) -> Frame:
    return Frame(Command.DP_REPORT, encode_records(records), version)
