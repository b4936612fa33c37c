"""Numbers of the TuyaMCU serial protocol (commands, DP types, Wi-Fi states)."""

from __future__ import annotations

from enum import IntEnum

HEADER = b"\x55\xaa"
#: Smallest frame: header(2) ver(1) cmd(1) len(2) checksum(1).
MIN_FRAME = 7


class Command(IntEnum):
    HEARTBEAT = 0x00
    PRODUCT_INFO = 0x01
    WORKING_MODE = 0x02
    WIFI_STATE = 0x03
    WIFI_RESET = 0x04
    WIFI_SELECT = 0x05
    SET_DP = 0x06
    DP_REPORT = 0x07
    QUERY_STATE = 0x08
    GMT_TIME = 0x0C  # MCU asks for UTC; the answer has the layout of 0x1C
    LOCAL_TIME = 0x1C
    DP_REPORT_ACKED = 0x22
    DP_REPORT_ACK = 0x23
    RSSI = 0x24
    NETWORK_STATUS = 0x2B
    EXTENDED = 0x34


class DPType(IntEnum):
    RAW = 0
    BOOL = 1
    VALUE = 2
    STRING = 3
    ENUM = 4
    BITMAP = 5


class WifiState(IntEnum):
    SMART_CONFIG = 0
    AP_MODE = 1
    NOT_CONNECTED = 2
    ROUTER = 3
    CLOUD = 4
    LOW_POWER = 5


class ExtendedSub(IntEnum):
    TIME_NOTIFY_OPEN = 0x01  # MCU asks for time-service notifications: not supported, answered so
    RESET_NOTIFY = 0x04
    RECORD_REPORT = 0x0B


def command_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return f"CMD_{cmd:02X}"
