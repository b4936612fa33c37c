"""Numbers of the Tuya LAN protocol."""

from __future__ import annotations

import hashlib
from enum import IntEnum


class Command(IntEnum):
    SESS_KEY_NEG_START = 3
    SESS_KEY_NEG_RESP = 4
    SESS_KEY_NEG_FINISH = 5
    CONTROL = 7
    STATUS = 8
    HEART_BEAT = 9
    DP_QUERY = 10
    CONTROL_NEW = 13
    DP_QUERY_NEW = 16
    UPDATEDPS = 18
    UDP_NEW = 19
    BOARDCAST_LPV34 = 0x23
    REQ_DEVINFO = 0x25
    LAN_EXT_STREAM = 0x40


def command_name(cmd: int) -> str:
    try:
        return Command(cmd).name
    except ValueError:
        return f"0x{cmd:02X}"


VERSIONS = ("3.1", "3.3", "3.4", "3.5")
PREFIX_55AA = 0x000055AA
SUFFIX_55AA = 0x0000AA55
PREFIX_6699 = 0x00006699
SUFFIX_6699 = 0x00009966
#: payloads of these commands carry no clear "3.x" + 12 × 0 version header
NO_HEADER = frozenset({
    Command.DP_QUERY, Command.DP_QUERY_NEW, Command.UPDATEDPS, Command.HEART_BEAT,
    Command.SESS_KEY_NEG_START, Command.SESS_KEY_NEG_RESP, Command.SESS_KEY_NEG_FINISH, Command.LAN_EXT_STREAM,
})  # fmt: skip
#: the widely published key of the encrypted discovery broadcasts (md5 of a constant string)
UDP_KEY = hashlib.md5(b"yGAdlopoPVldABfn").digest()
#: larger claimed lengths are garbage, not frames (real messages are a few hundred bytes)
MAX_FRAME = 8192
#: bytes of a frame that has not completed for this long are not a frame (TCP delivers a frame at once)
STALL = 1.0
DEFAULT_PORT = 6668
DISCOVERY_PORTS = {"plain": 6666, "encrypted": 6667, "v35": 7000}


def version_header(version: str) -> bytes:
    return version.encode() + bytes(12)
