"""The store interface every backend implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Energy is aggregated in 15-minute buckets (UTC), so local days, hours and months
#: come out right in every time zone, half-hour offsets and DST changes included.
BUCKET_S = 900


@dataclass(frozen=True)
class EnergyRow:
    meter: str
    name: str  # e.g. energy_forward_a
    bucket_start: float  # epoch seconds, UTC, a multiple of BUCKET_S
    wh: float


@dataclass(frozen=True)
class Record:
    """One reading as the store keeps it: values, energy totals (Wh) and accountant state."""

    meter: str
    ts: float  # wall-clock epoch seconds
    values: Mapping[str, object]
    totals_wh: Mapping[str, float]
    state: Mapping[str, Any]
    #: the reading's signed power values (the profile's power quantities), for per-minute statistics
    power: Mapping[str, float] = field(default_factory=dict)
    #: what happened to the meter's data with this reading: (wall time, kind, text), see pipeline.MeterEvent
    events: Sequence[tuple[float, str, str]] = ()


class StoreError(Exception):
    """The store cannot be opened or used (the message says why)."""


class NoStore(StoreError):
    """There is no store to read (a gateway run with ``--no-store``)."""


class Store(Protocol):
    def load_state(self, meter: str) -> dict[str, Any] | None: ...

    def record(
        self,
        meter: str,
        ts: float,
        values: Mapping[str, object],
        totals_wh: Mapping[str, float],
        state: Mapping[str, Any],
        *,
        power: Mapping[str, float] | None = None,
    ) -> None: ...

    def record_many(self, records: Sequence[Record]) -> None: ...

    def energy_rows(self, meter: str | None, start: float, end: float, step: int = BUCKET_S) -> list[EnergyRow]: ...

    def last_record(self, meter: str) -> tuple[float, dict[str, float]] | None: ...

    def meters(self) -> list[str]: ...

    def purge_readings(self, before: float) -> int: ...

    def power_minutes(self, meter: str | None, start: float, end: float) -> list[PowerMinute]: ...

    def power_steps(
        self, meter: str, start: float, end: float, step: int
    ) -> list[tuple[str, float, float, float, float, int]]:
        """(name, step start, min, mean, max, samples) of one meter's power in steps of ``step`` seconds."""
        ...

    def meter_events(self, meter: str, start: float, end: float, limit: int) -> list[tuple[float, str, str]]:
        """The last ``limit`` events of a meter in [start, end): (time, kind, text), oldest first."""
        ...

    def energy_days(
        self, meter: str | None, start: float, end: float, segments: list[tuple[float, int]]
    ) -> list[tuple[str, str, int, float]]: ...

    @property
    def rollup_zone(self) -> str | None:
        """The zone whose local days and months the rollups keep (store/rollup.py), or None."""
        ...

    def rollup_rows(
        self, by: str, meter: str | None, lo: int, hi: int, *, kwh: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(names, rows of (meter, local day or month number, a value per name or None)), lo ≤ n < hi;
        Wh per counter, or kWh and net values ready for a report (store/rollup.py, RollupSql.read)."""
        ...

    def rollup_columns(
        self, by: str, meter: str | None, lo: int, hi: int
    ) -> tuple[list[str], list[tuple[str, list[int], list[list[float | None]]]]]:
        """``rollup_rows(kwh=True)`` as columns: (names, per meter (meter, period numbers, a column per name))."""
        ...

    def claim(self, meters: Sequence[str]) -> None:
        """Take the lease of these meter ids (store/lease.py); LeaseError if another gateway has one."""
        ...

    def close(self) -> None: ...


def bucket_shares(t0: float, t1: float) -> list[tuple[float, float]]:
    """(bucket, share of [t0, t1] in it): how energy that flowed evenly over [t0, t1] is spread;
    all of it in ``t1``'s bucket when the span is empty. The same for every counter of a reading."""
    if t1 <= t0:
        return [(t1 - t1 % BUCKET_S, 1.0)]
    out, t, span = [], t0, t1 - t0
    while t < t1:
        bucket = t - t % BUCKET_S
        nxt = min(bucket + BUCKET_S, t1)
        out.append((bucket, (nxt - t) / span))
        t = nxt
    return out


def split_into_buckets(t0: float, t1: float, wh: float) -> list[tuple[float, float]]:
    """Spread energy that flowed evenly over [t0, t1] across the buckets it touches."""
    if wh <= 0:
        return []
    return [(b, wh * share) for b, share in bucket_shares(t0, t1)]


@dataclass(frozen=True)
class PowerMinute:
    meter: str
    name: str
    minute: float  # epoch seconds, UTC, a multiple of 60
    min: float
    avg: float
    max: float
    samples: int


def range_where(column: str, ph: str, meter: str | None, lo: object, hi: object) -> tuple[str, list[object]]:
    """`` WHERE column >= lo AND column < hi`` (and ``meter = …``) with ``ph`` placeholders, and its arguments."""
    sql = f" WHERE {column} >= {ph} AND {column} < {ph}"
    args: list[object] = [lo, hi]
    if meter is not None:
        sql += f" AND meter = {ph}"
        args.append(meter)
    return sql, args


def local_index_sql(segments: list[tuple[float, int]], unit: int, floor: str) -> str:
    """SQL for the local period number of ``bucket``: floor((bucket + UTC offset) / unit).

    ``segments`` are ``(from_epoch, offset_s)`` pairs, one per offset in force (DST).
    """
    if len(segments) == 1:
        offset = str(segments[0][1])
    else:
        whens = " ".join(
            f"WHEN bucket < {t!r} THEN {o}" for (t, _), (_, o) in zip(segments[1:], segments, strict=False)
        )
        offset = f"CASE {whens} ELSE {segments[-1][1]} END"
    return floor.format(f"(bucket + ({offset})) / {unit}")


def offset_segments(zone: dt.tzinfo, start: float, end: float) -> list[tuple[float, int]]:
    """``[(from_epoch, utc_offset_s), …]`` covering [start, end): one per offset change (DST)."""

    def off(t: float) -> int:
        o = dt.datetime.fromtimestamp(t, zone).utcoffset()
        return int(o.total_seconds()) if o else 0

    segs = [(start, off(start))]
    t = start
    while t < end:
        nxt = min(t + 3600, end)
        if off(nxt) != segs[-1][1]:
            lo, hi = t, nxt  # transitions fall on whole minutes: narrow down to one
            while hi - lo > 60:
                mid = lo + ((hi - lo) // 120) * 60 or lo + 60
                if off(mid) == segs[-1][1]:
                    lo = mid
                else:
                    hi = mid
            segs.append((hi, off(hi)))
        t = nxt
    return segs
