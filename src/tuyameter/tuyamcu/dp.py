"""DP (data point) records: ``dp_id | type | len(16 bit BE) | data``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from tuyameter.tuyamcu.constants import DPType

DPValue = bool | int | str | bytes


class DPError(ValueError):
    """A DP record or value that cannot be encoded or decoded."""


class DPRecord(NamedTuple):
    """One record as it travels: an immutable tuple (a report makes one per DP, and a tuple costs
    a third of a frozen dataclass)."""

    dp: int
    type: DPType
    data: bytes

    @property
    def value(self) -> DPValue:
        return decode_value(self.type, self.data)

    def encode(self) -> bytes:
        n = len(self.data)
        return bytes((self.dp, int(self.type), n >> 8, n & 0xFF)) + self.data

    @classmethod
    def make(cls, dp: int, type_: DPType | int, value: DPValue) -> DPRecord:
        t = DPType(type_)
        if not 0 <= dp <= 0xFF:
            raise DPError(f"dp id {dp} out of 0..255")
        return cls(dp, t, encode_value(t, value))

    def __str__(self) -> str:
        v = self.value
        shown = v.hex() if isinstance(v, bytes) else repr(v)
        return f"dp{self.dp} {self.type.name.lower()}={shown}"


def encode_value(t: DPType, value: DPValue) -> bytes:
    if t is DPType.RAW:
        if not isinstance(value, bytes | bytearray):
            raise DPError("raw DP needs bytes")
        return bytes(value)
    if t is DPType.STRING:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        return str(value).encode("utf-8")
    if isinstance(value, str | bytes | bytearray):
        raise DPError(f"{t.name.lower()} DP needs a number, got {value!r}")
    v = int(value)
    if t is DPType.BOOL:
        if v not in (0, 1):
            raise DPError(f"bool DP needs 0 or 1, got {v}")
        return bytes((v,))
    if t is DPType.VALUE:
        if not -(2**31) <= v < 2**31:
            raise DPError(f"value {v} does not fit a signed 32-bit DP")
        return v.to_bytes(4, "big", signed=True)
    if t is DPType.ENUM:
        if not 0 <= v <= 0xFF:
            raise DPError(f"enum {v} does not fit one byte")
        return bytes((v,))
    # bitmap
    if not 0 <= v < 2**32:
        raise DPError(f"bitmap {v} does not fit 32 bits")
    size = 1 if v < 0x100 else 2 if v < 0x10000 else 4
    return v.to_bytes(size, "big")


def decode_value(t: DPType, data: bytes) -> DPValue:
    if t is DPType.RAW:
        return data
    if t is DPType.STRING:
        return data.decode("utf-8", errors="replace")
    if t is DPType.BOOL:
        return bool(data[0]) if data else False
    if t is DPType.VALUE:
        return int.from_bytes(data[-4:], "big", signed=True) if data else 0
    return int.from_bytes(data, "big") if data else 0


_EXPECTED_LEN = {DPType.BOOL: (1,), DPType.VALUE: (4,), DPType.ENUM: (1,), DPType.BITMAP: (1, 2, 4)}
#: type byte → (DPType, the lengths it may have or None): looked up per record, cheaper than DPType(t)
_TYPE_BYTE = {int(t): (t, _EXPECTED_LEN.get(t)) for t in DPType}


@dataclass(frozen=True, slots=True)
class RecordsResult:
    records: list[DPRecord]
    error: str | None = None


def decode_records(payload: bytes) -> RecordsResult:
    """Parse all DP records; a truncated or malformed record ends the parse."""
    records, error = parse_records(payload)
    return RecordsResult(records, error)


def parse_records(payload: bytes) -> tuple[list[DPRecord], str | None]:
    """:func:`decode_records` as a plain pair (the session's path for every report frame)."""
    if type(payload) is not bytes:
        payload = bytes(payload)  # records hold bytes: immutable, hashable
    records: list[DPRecord] = []
    i = 0
    n = len(payload)
    types = _TYPE_BYTE
    while i < n:
        if n - i < 4:
            return records, f"truncated DP header at byte {i}"
        dp, t, length = payload[i], payload[i + 1], (payload[i + 2] << 8) | payload[i + 3]
        known = types.get(t)
        if known is None:
            return records, f"unknown DP type {t} for dp{dp} at byte {i}"
        dtype, expected = known
        end = i + 4 + length
        if end > n:
            return records, f"dp{dp} claims {length} bytes, {n - i - 4} left"
        if expected is not None and length not in expected:
            return records, f"dp{dp} {dtype.name.lower()} has length {length}"
        records.append(_new_tuple(DPRecord, (dp, dtype, payload[i + 4 : end])))
        i = end
    return records, None


_new_tuple = tuple.__new__


def encode_records(records: list[DPRecord] | tuple[DPRecord, ...]) -> bytes:
    return b"".join(r.encode() for r in records)
