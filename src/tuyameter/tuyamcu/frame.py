"""TuyaMCU frame: ``55 AA | ver | cmd | len(16 bit BE) | payload | sum``."""

from __future__ import annotations

from dataclasses import dataclass

from tuyameter.tuyamcu.constants import HEADER, command_name

MAX_PAYLOAD = 0xFFFF


def checksum(data: bytes | bytearray) -> int:
    """Sum of all bytes modulo 256."""
    return sum(data) & 0xFF


@dataclass(frozen=True, slots=True)
class Frame:
    """One TuyaMCU frame. ``version`` is the sender's protocol version byte."""

    command: int
    payload: bytes = b""
    version: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.command <= 0xFF:
            raise ValueError(f"command {self.command} is not a byte")
        if not 0 <= self.version <= 0xFF:
            raise ValueError(f"version {self.version} is not a byte")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")

    def encode(self) -> bytes:
        n = len(self.payload)
        body = HEADER + bytes((self.version, self.command, n >> 8, n & 0xFF)) + self.payload
        return body + bytes((checksum(body),))

    def __str__(self) -> str:
        return f"v{self.version} {command_name(self.command)} [{len(self.payload)}] {self.payload.hex()}"
