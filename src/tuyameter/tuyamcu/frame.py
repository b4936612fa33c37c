"""TuyaMCU frame: ``55 AA | ver | cmd | len(16 bit BE) | payload | sum``."""

from __future__ import annotations

from typing import NamedTuple

from mypy_extensions import mypyc_attr

from tuyameter.tuyamcu.constants import HEADER, command_name

MAX_PAYLOAD = 0xFFFF
_new_tuple = tuple.__new__


def checksum(data: bytes | bytearray) -> int:
    """Sum of all bytes modulo 256."""
    return sum(data) & 0xFF


class _Fields(NamedTuple):
    command: int
    payload: bytes = b""
    version: int = 0


@mypyc_attr(native_class=False)  # compiled (see setup.py), a tuple's subclass stays a Python class
class Frame(_Fields):
    """One TuyaMCU frame. ``version`` is the sender's protocol version byte.

    An immutable tuple: the decoder makes one for nearly every few bytes received, and a tuple
    costs a third of a frozen dataclass (``trusted`` skips the checks for fields it has read
    from a frame on the wire)."""

    __slots__ = ()

    def __new__(cls, command: int, payload: bytes = b"", version: int = 0) -> Frame:
        if not 0 <= command <= 0xFF:
            raise ValueError(f"command {command} is not a byte")
        if not 0 <= version <= 0xFF:
            raise ValueError(f"version {version} is not a byte")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
        return _new_tuple(cls, (command, payload, version))

    @classmethod
    def trusted(cls, command: int, payload: bytes, version: int) -> Frame:
        """A frame from fields known to be valid (read from a frame's own bytes)."""
        return _new_tuple(cls, (command, payload, version))

    def encode(self) -> bytes:
        n = len(self.payload)
        body = HEADER + bytes((self.version, self.command, n >> 8, n & 0xFF)) + self.payload
        return body + bytes((checksum(body),))

    def __str__(self) -> str:
        return f"v{self.version} {command_name(self.command)} [{len(self.payload)}] {self.payload.hex()}"
