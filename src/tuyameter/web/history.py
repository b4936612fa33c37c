"""The history the web API answers with, computed in the store's thread: energy per hour, day,
month or year (local periods, DST-correct) and power decimated to a few hundred points."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from tuyameter.energy.history import EnergySeries, energy_series, series_of
from tuyameter.energy.report import aggregate, query_step
from tuyameter.store.base import Store

GROUPS = ("hour", "day", "month", "year")
#: power steps, seconds: the smallest that keeps a range within the points asked for
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
MAX_HOURS = 24 * 93  # hour bars beyond three months are unreadable and slow: ask for days


class HistoryError(ValueError):
    """A history query that cannot be answered as asked (a 4xx, with this message)."""


@dataclass(frozen=True)
class EnergyQuery:
    meter: str
    group: str
    first: dt.date  # the first local day
    last: dt.date  # the last local day (inclusive)


def local_span(first: dt.date, last: dt.date, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight of ``first`` and the local midnight after ``last``."""
    start = dt.datetime(first.year, first.month, first.day, tzinfo=zone)
    after = last + dt.timedelta(days=1)
    return start, dt.datetime(after.year, after.month, after.day, tzinfo=zone)


def widen(q: EnergyQuery) -> EnergyQuery:
    """Months and years as whole months and years (what bars of them mean)."""
    first, last = q.first, q.last
    if q.group in ("month", "year"):
        first = first.replace(day=1) if q.group == "month" else first.replace(month=1, day=1)
        if q.group == "year":
            last = last.replace(month=12, day=31)
        else:
            nxt = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            last = nxt - dt.timedelta(days=1)
    return EnergyQuery(q.meter, q.group, first, last)


def energy(store: Store, q: EnergyQuery, zone: dt.tzinfo) -> EnergySeries | None:
    """The meter's energy per period over the query's days (None: nothing recorded)."""
    if q.group not in GROUPS:
        raise HistoryError(f"group must be one of {', '.join(GROUPS)}")
    if q.last < q.first:
        raise HistoryError("end is before start")
    start, end = local_span(q.first, q.last, zone)
    if q.group == "hour":
        if (end - start).total_seconds() > MAX_HOURS * 3600:
            raise HistoryError(f"hours over at most {MAX_HOURS // 24} days; ask for days (group=day) beyond")
        rows = store.energy_rows(q.meter, start.timestamp(), end.timestamp(), query_step(zone, start, end))
        found = series_of(aggregate(rows, "hour", zone))
    else:
        by = "day" if q.group == "day" else "month"
        found = energy_series(store, q.meter, (start.timestamp(), end.timestamp()), by, zone)
    if not found:
        return None
    return by_year(found[0]) if q.group == "year" else found[0]


def by_year(months: EnergySeries) -> EnergySeries:
    """Months summed into years (kWh to 6 decimals, as the months are; nets summed likewise)."""
    starts: list[dt.datetime] = []
    hours: list[float] = []
    kwh: dict[str, list[float | None]] = {n: [] for n in months.kwh}
    for i, s in enumerate(months.starts):
        if not starts or starts[-1].year != s.year:
            starts.append(s.replace(month=1, day=1))
            hours.append(0.0)
            for col in kwh.values():
                col.append(None)
        hours[-1] += months.hours[i]
        for n, col in kwh.items():
            v = months.kwh[n][i]
            if v is not None:
                col[-1] = round((col[-1] or 0.0) + v, 6)
    return EnergySeries(months.meter, starts, hours, kwh)


def power_step(start: float, end: float, points: int) -> int:
    """The smallest of :data:`STEPS` that draws ``[start, end)`` in at most ``points`` points."""
    want = (end - start) / max(points, 1)
    return next((s for s in STEPS if s >= want), STEPS[-1])


def power(store: Store, meter: str, start: float, end: float, points: int) -> dict[str, object]:
    """Min, mean and max of the meter's power per step, columns by name, None where a name has no value."""
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise HistoryError("the range must be start < end")
    step = power_step(start, end, points)
    rows = store.power_steps(meter, start, end, step)
    times = sorted({t for _, t, *_ in rows})
    at = {t: i for i, t in enumerate(times)}
    series: dict[str, dict[str, list[float | None]]] = {}
    for name, t, lo, avg, hi, _ in rows:
        cols = series.get(name)
        if cols is None:
            cols = series[name] = {k: [None] * len(times) for k in ("min", "avg", "max")}
        i = at[t]
        # the mean as the database divides it may miss [min, max] by a last bit (equal samples)
        cols["min"][i], cols["avg"][i], cols["max"][i] = round(lo, 3), round(min(max(avg, lo), hi), 3), round(hi, 3)
    return {"meter": meter, "step": step, "start": start, "end": end, "t": times, "series": series}
