"""Energy per hour, day or month in a time zone, from the store's 15-minute buckets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tuyameter.store.base import EnergyRow, offset_segments
from tuyameter.store.rollup import first_day_of_month, local_day, month_of_day, zone_key

PERIODS = ("hour", "day", "month")


@dataclass(slots=True)
class Period:
    meter: str
    start: dt.datetime  # local, tz-aware
    kwh: dict[str, float] = field(default_factory=dict)  # name → kWh, plus net_* entries
    hours: float = 0.0  # length of the period in hours (23 or 25 on DST days)

    @property
    def label(self) -> str:
        if self.hours and self.hours < 2:
            return self.start.strftime("%Y-%m-%d %H:00 %Z")
        return self.start.strftime("%Y-%m-%d") if self.hours < 24 * 28 else self.start.strftime("%Y-%m")


def query_step(zone: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> int:
    """The coarsest bucket sum that still falls on local hours: 3600 s unless the zone has
    offsets that are not whole hours in the range (then 900 s)."""
    for t in (start, end):
        off = t.astimezone(zone).utcoffset()
        if off is None or off.total_seconds() % 3600:
            return 900
    return 3600


def period_start(t: dt.datetime, by: str) -> dt.datetime:
    if by == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    if by == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_start(start: dt.datetime, by: str, tz: dt.tzinfo) -> dt.datetime:
    naive = start.replace(tzinfo=None)
    if by == "hour":
        # Step in UTC so repeated/skipped local hours at DST changes stay distinct.
        return (start.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(tz)
    if by == "day":
        nxt = naive + dt.timedelta(days=1)
    else:
        nxt = (naive.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt.replace(tzinfo=tz)


def aggregate(rows: Iterable[EnergyRow], by: str, tz: dt.tzinfo | str) -> list[Period]:
    """Sum buckets into local periods; add ``net_<x>`` = forward − reverse where both exist."""
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    periods: dict[tuple[str, float], Period] = {}
    starts: dict[float, tuple[dt.datetime, float]] = {}  # bucket → (local period start, its epoch)
    for r in rows:
        found = starts.get(r.bucket_start)
        if found is None:
            local = dt.datetime.fromtimestamp(r.bucket_start, zone)
            start = period_start(local, by)
            if by == "hour":
                start = local.replace(minute=0, second=0, microsecond=0, fold=local.fold)
            found = starts[r.bucket_start] = (start, start.timestamp())
        start, epoch = found
        key = (r.meter, epoch)
        p = periods.get(key)
        if p is None:
            p = periods[key] = Period(r.meter, start)
            end = _next_start(start, by, zone)
            p.hours = (end.timestamp() - epoch) / 3600
        p.kwh[r.name] = p.kwh.get(r.name, 0.0) + r.wh / 1000.0
    return _finish([periods[k] for k in sorted(periods)])


def _finish(out: list[Period]) -> list[Period]:
    for p in out:
        for name in list(p.kwh):
            if name.startswith("energy_forward"):
                rev = name.replace("energy_forward", "energy_reverse", 1)
                p.kwh["net" + name[len("energy_forward") :]] = p.kwh[name] - p.kwh.get(rev, 0.0)
        p.kwh = {k: round(v, 6) for k, v in sorted(p.kwh.items())}
    return out


# -- days and months summed in the database -----------------------------------------

_EPOCH = dt.datetime(1970, 1, 1)


def aggregate_days(rows: Iterable[tuple[str, str, int, float]], by: str, tz: dt.tzinfo | str) -> list[Period]:
    """Rows of (meter, name, local day number, Wh) → day or month periods with net values."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    periods: dict[tuple[str, dt.date], Period] = {}
    for meter, name, day_no, wh in rows:
        d = (_EPOCH + dt.timedelta(days=int(day_no))).date()
        if by == "month":
            d = d.replace(day=1)
        key = (meter, d)
        p = periods.get(key)
        if p is None:
            start = dt.datetime(d.year, d.month, d.day, tzinfo=zone)
            p = periods[key] = Period(meter, start)
            p.hours = (_next_start(start, by, zone).timestamp() - start.timestamp()) / 3600
        p.kwh[name] = p.kwh.get(name, 0.0) + wh / 1000.0
    return _finish([periods[k] for k in sorted(periods)])


# -- days and months from the store's rollups ---------------------------------------


class RollupStore(Protocol):
    """What :func:`energy_periods` needs of a store (both SQL stores have it)."""

    @property
    def rollup_zone(self) -> str | None: ...

    def rollup_rows(
        self, by: str, meter: str | None, lo: int, hi: int, *, kwh: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def energy_days(
        self, meter: str | None, start: float, end: float, segments: list[tuple[float, int]]
    ) -> list[tuple[str, str, int, float]]: ...


def energy_periods(
    store: RollupStore, meter: str | None, span: tuple[float, float], by: str, zone: dt.tzinfo
) -> list[Period]:
    """Energy per local day or month over ``span`` = [start, end), with net values: read from the store's rollups
    when it keeps them in ``zone`` and the range runs from a local midnight to a local midnight, else
    summed from the 15-minute buckets. Both give the same periods (tests/test_store_rollup.py)."""
    if by not in ("day", "month"):
        raise ValueError("by must be day or month")
    start, end = span
    if store.rollup_zone is not None and store.rollup_zone == zone_key(zone):
        lo, lo_exact = local_day(start, zone)
        hi, hi_exact = local_day(end, zone)
        if lo_exact and hi_exact:
            m_lo, m_hi = month_of_day(lo), month_of_day(hi)
            if by == "month" and lo == first_day_of_month(m_lo) and hi == first_day_of_month(m_hi):
                return periods_from_kwh(*store.rollup_rows("month", meter, m_lo, m_hi, kwh=True), "month", zone)
            if by == "day":
                return periods_from_kwh(*store.rollup_rows("day", meter, lo, hi, kwh=True), "day", zone)
            return periods_from_totals(*store.rollup_rows("day", meter, lo, hi), "day", zone, by)
    return aggregate_days(store.energy_days(meter, start, end, offset_segments(zone, start, end)), by, zone)


def periods_from_kwh(names: list[str], rows: Iterable[tuple[Any, ...]], by: str, zone: dt.tzinfo) -> list[Period]:
    """Rows of (meter, local day or month number, kWh per name or None), names sorted, nets included
    and values rounded by the database, ordered by meter and period → periods."""
    starts: dict[int, tuple[dt.datetime, float]] = {}
    out: list[Period] = []
    append = out.append  # a year of 100 meters is 36,500 rows: this loop is most of the Python time
    for row in rows:
        values = row[2:]
        kwh = dict(zip(names, values, strict=True))
        if None in values:  # counters this meter does not have (or had nothing on that day)
            kwh = {k: v for k, v in kwh.items() if v is not None}
            if not kwh:
                continue
        n = row[1]
        found = starts.get(n)
        if found is None:
            found = starts[n] = _local_start(n if by == "day" else first_day_of_month(n), by, zone)
        append(Period(row[0], found[0], kwh, found[1]))
    return out


def _local_start(day: int, by: str, zone: dt.tzinfo) -> tuple[dt.datetime, float]:
    """A period's local start and its length in hours."""
    d = _EPOCH + dt.timedelta(days=day)
    start = dt.datetime(d.year, d.month, d.day, tzinfo=zone)
    return start, (_next_start(start, by, zone).timestamp() - start.timestamp()) / 3600


def periods_from_totals(names: list[str], rows: Iterable[tuple[Any, ...]], unit: str, zone: dt.tzinfo,
                        by: str | None = None) -> list[Period]:  # fmt: skip
    """Rows of (meter, local day or month number, Wh per name or None) → periods with net values, the
    same as :func:`aggregate_days` gives from the buckets; days are summed into months when ``by`` says."""
    by = by or unit
    nets = [("net" + n[len("energy_forward") :], n, n.replace("energy_forward", "energy_reverse", 1))
            for n in names if n.startswith("energy_forward")]  # fmt: skip
    sums: dict[tuple[str, int], dict[str, float]] = {}
    for meter, n, *whs in rows:
        key = (meter, n if by == unit else month_of_day(n))
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = {}
        for name, wh in zip(names, whs, strict=True):
            if wh is not None:
                acc[name] = acc.get(name, 0.0) + wh / 1000.0
    starts: dict[int, tuple[dt.datetime, float]] = {}
    out = []
    for (meter, n), kwh in sorted(sums.items()):
        if not kwh:
            continue
        found = starts.get(n)
        if found is None:
            found = starts[n] = _local_start(n if by == "day" else first_day_of_month(n), by, zone)
        for net, fwd, rev in nets:
            if fwd in kwh:
                kwh[net] = kwh[fwd] - kwh.get(rev, 0.0)
        out.append(Period(meter, found[0], {k: round(v, 6) for k, v in sorted(kwh.items())}, found[1]))
    return out
