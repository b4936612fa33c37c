"""The TuyaMCU binding of a profile: DP records ↔ named, typed, scaled readings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tuyameter.pipeline.writes import validate_write
from tuyameter.profiles.model import Profile, Quantity, Value
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord, DPValue


@dataclass
class BindingStats:
    records: int = 0
    unknown_dps: int = 0
    type_mismatches: int = 0


class DPBinding:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.stats = BindingStats()
        self._by_dp = profile.by_dp()
        self._table, self._memo = _table(profile)

    def readings(self, records: Sequence[DPRecord], *, counted: bool = True) -> list[tuple[str, Value]]:
        """Records in arrival order → (name, value); unknown DPs as ``dp<N>`` with their raw value.
        ``counted=False``: a second look at records already read (the link's last frames), not counted."""
        out: list[tuple[str, Value]] = []
        table, memo = self._table, self._memo
        stats = self.stats if counted else BindingStats()
        stats.records += len(records)
        for rec in records:
            seen = memo.get(id(rec))
            if seen is not None and seen[0] is rec:  # held there, so its id is its own
                out.append(seen[1])
                continue
            entry = table.get(rec.dp)
            if entry is None:
                stats.unknown_dps += 1
                v = rec.value
                out.append((f"dp{rec.dp}", v.hex() if isinstance(v, bytes) else v))
            elif rec.type is not entry[1]:
                stats.type_mismatches += 1
            else:
                reading = (entry[0], entry[2](rec.data))
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[id(rec)] = (rec, reading)
                out.append(reading)
        return out

    def record(self, name: str, value: Value) -> DPRecord:
        """The DP record that writes ``value`` to ``name`` (validated; raises WriteRefused)."""
        spec, raw = validate_write(self.profile, name, value)
        return DPRecord.make(spec.dp, spec.type, bool(raw) if spec.type is DPType.BOOL else raw)

    def echoed(self, echoed: dict[int, DPValue]) -> dict[str, Value]:
        return {self._by_dp[dp].name: self._by_dp[dp].to_value(v) for dp, v in echoed.items() if dp in self._by_dp}


_Entry = tuple[str, DPType, Callable[[bytes], Value]]
#: id(record) → (the record, its reading): the session hands the same record object again for a
#: payload seen before (tuyamcu/reports.py), and its reading is then the same
_Memo = dict[int, tuple[DPRecord, tuple[str, Value]]]
_MEMO_MAX = 4096
#: id(profile) → (profile, its table, its memo): a fleet of one model shares them (at thousands of
#: meters the converters per binding were the largest share of a meter's memory)
_TABLES: dict[int, tuple[Profile, dict[int, _Entry], _Memo]] = {}
_TABLES_MAX = 64


def _table(profile: Profile) -> tuple[dict[int, _Entry], _Memo]:
    """DP id → (name, type, bytes → value), worked out once per profile: this runs for every DP of
    every report, and equals ``spec.to_value(record.value)`` (tests compare the two); and the
    profile's memo of readings."""
    found = _TABLES.get(id(profile))
    if found is not None and found[0] is profile:
        return found[1], found[2]
    table = {dp: (q.name, q.type, data_converter(q)) for dp, q in profile.by_dp().items()}
    if len(_TABLES) >= _TABLES_MAX:
        _TABLES.clear()
    memo: _Memo = {}
    _TABLES[id(profile)] = (profile, table, memo)
    return table, memo


def data_converter(spec: Quantity) -> Callable[[bytes], Value]:
    """A DP record's bytes → the quantity's typed, scaled value, with the type's decoding and the
    scale's rounding decided once (``int.from_bytes`` of no bytes is 0, as ``decode_value`` says)."""
    t = spec.type
    if t is DPType.RAW:
        return bytes.hex
    if t is DPType.STRING:
        return lambda d: d.decode("utf-8", errors="replace")
    if t is DPType.BOOL:
        return lambda d: bool(d[0]) if d else False
    if t is DPType.ENUM and spec.options:
        options = dict(spec.options)

        def enum(d: bytes) -> Value:
            r = int.from_bytes(d, "big")
            return options.get(r, str(r))

        return enum
    signed = t is DPType.VALUE  # a value is the last 4 bytes, signed; an enum or bitmap all, unsigned
    scale, digits = spec.scale, spec.decimals
    if scale == 1:
        if signed:
            return lambda d: int.from_bytes(d[-4:], "big", signed=True)
        return lambda d: int.from_bytes(d, "big")
    if scale == 10.0**-digits:
        # A power of ten (0.1, 0.01, …: nearly every scale): dividing by it is the same value as
        # rounding the product to its decimals (both are the double nearest raw / 10**digits; a
        # hypothesis test compares them), at a fraction of round()'s cost.
        divisor = 10**digits
        if signed:
            return lambda d: int.from_bytes(d[-4:], "big", signed=True) / divisor
        return lambda d: int.from_bytes(d, "big") / divisor
    if signed:
        return lambda d: round(int.from_bytes(d[-4:], "big", signed=True) * scale, digits)
    return lambda d: round(int.from_bytes(d, "big") * scale, digits)
