"""Energy per hour, day or month in a time zone, from the store's 15-minute buckets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tuyameter.store.base import EnergyRow

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


def next_start(start: dt.datetime, by: str, tz: dt.tzinfo) -> dt.datetime:
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
            end = next_start(start, by, zone)
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

EPOCH = dt.datetime(1970, 1, 1)


def local_period(d: dt.date, by: str, zone: dt.tzinfo) -> tuple[dt.datetime, float]:
    """The local start of the day or month that begins on ``d``, and its length in hours."""
    start = dt.datetime(d.year, d.month, d.day, tzinfo=zone)
    return start, (next_start(start, by, zone).timestamp() - start.timestamp()) / 3600


def aggregate_days(rows: Iterable[tuple[str, str, int, float]], by: str, tz: dt.tzinfo | str) -> list[Period]:
    """Rows of (meter, name, local day number, Wh) → day or month periods with net values."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    periods: dict[tuple[str, dt.date], Period] = {}
    for meter, name, day_no, wh in rows:
        d = (EPOCH + dt.timedelta(days=int(day_no))).date()
        if by == "month":
            d = d.replace(day=1)
        key = (meter, d)
        p = periods.get(key)
        if p is None:
            start, hours = local_period(d, by, zone)
            p = periods[key] = Period(meter, start, hours=hours)
        p.kwh[name] = p.kwh.get(name, 0.0) + wh / 1000.0
    return _finish([periods[k] for k in sorted(periods)])
