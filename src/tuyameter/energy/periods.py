"""Energy "today", "yesterday" and "this month" in a time zone, like OpenBeken's energy stats.

One implementation of the period boundaries serves both the live figures (kept as
running totals from the accountant's deltas, :class:`PeriodTotals`) and the
store-backed summary (:func:`summarize`). Boundaries are computed in a real zone
(``ZoneInfo``), so DST nights have their 23 or 25 hours.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tuyameter.store.base import EnergyRow

PERIOD_SUFFIXES = ("today", "yesterday", "this_month")


def local_zone() -> dt.tzinfo:
    """This machine's zone with its DST rules ($TZ, else /etc/localtime), not a fixed offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    lt = Path("/etc/localtime")
    try:
        target = str(lt.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        with lt.open("rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        pass
    return dt.UTC


def local_midnight(t: dt.datetime, days_back: int = 0) -> dt.datetime:
    """Local midnight ``days_back`` days before ``t``'s day (DST-safe: via the calendar date)."""
    tz = t.tzinfo
    d = t.date() - dt.timedelta(days=days_back)
    return dt.datetime(d.year, d.month, d.day, tzinfo=tz)


def month_start(t: dt.datetime) -> dt.datetime:
    return dt.datetime(t.year, t.month, 1, tzinfo=t.tzinfo)


def window_start(now: dt.datetime) -> dt.datetime:
    """The earliest instant the summary needs (start of yesterday or of this month)."""
    return min(local_midnight(now, 1), month_start(now))


def _bounds(now: dt.datetime) -> tuple[float, float, float, float]:
    """(yesterday, today, tomorrow, this month) as epoch seconds."""
    return (
        local_midnight(now, 1).timestamp(),
        local_midnight(now).timestamp(),
        local_midnight(now, -1).timestamp(),
        month_start(now).timestamp(),
    )


def summarize(rows: Iterable[EnergyRow], now: dt.datetime) -> dict[str, float]:
    """``<name>_today``, ``<name>_yesterday`` and ``<name>_this_month`` in kWh."""
    yesterday, today, _, month = _bounds(now)
    out: dict[str, float] = {}
    for r in rows:
        for suffix, start, end in (
            ("today", today, 1e18),
            ("yesterday", yesterday, today),
            ("this_month", month, 1e18),
        ):
            if start <= r.bucket_start < end:
                key = f"{r.name}_{suffix}"
                out[key] = out.get(key, 0.0) + r.wh / 1000.0
    return {k: round(v, 3) for k, v in out.items()}


@functools.lru_cache(maxsize=64)
def _names_and_keys(names: tuple[str, ...]) -> tuple[list[str], frozenset[str], tuple[str, ...]]:
    """The counters, as a set, and the keys :meth:`PeriodTotals.values` gives: one copy for a fleet
    of one profile (the names are never changed after)."""
    return list(names), frozenset(names), tuple(f"{n}_{p}" for n in names for p in PERIOD_SUFFIXES)


class PeriodTotals:
    """Today / yesterday / this month per counter, kept up to date from energy deltas.

    Seeded once from the store (:meth:`seed`), then fed every reading's new energy
    with :meth:`add`, which splits an interval across a midnight the way the store
    splits it across its buckets. No query per reading.
    """

    def __init__(self, names: Iterable[str], zone: dt.tzinfo) -> None:
        self.names, self._names, self._keys = _names_and_keys(tuple(names))
        self.zone = zone
        self.wh: dict[str, float] = {}
        self._day_start = self._day_end = self._month_start = 0.0
        self._yesterday_start = 0.0

    def _roll(self, t: float) -> None:
        """Move the periods forward so that ``t`` falls into today."""
        if self._day_start <= t < self._day_end:
            return
        now = dt.datetime.fromtimestamp(t, self.zone)
        yesterday, today, tomorrow, month = _bounds(now)
        if today == self._day_end:  # the next day: today becomes yesterday
            for n in self.names:
                self.wh[f"{n}_yesterday"] = self.wh.get(f"{n}_today", 0.0)
        elif today != self._day_start:  # a jump (or first use): nothing known for yesterday
            for n in self.names:
                self.wh[f"{n}_yesterday"] = 0.0
        if today != self._day_start:
            for n in self.names:
                self.wh[f"{n}_today"] = 0.0
        if month != self._month_start:
            for n in self.names:
                self.wh[f"{n}_this_month"] = 0.0
        self._yesterday_start, self._day_start, self._day_end, self._month_start = yesterday, today, tomorrow, month

    def seed(self, rows: Iterable[EnergyRow], now: float) -> None:
        """Start from what the store holds (rows from :func:`window_start` on)."""
        self._day_start = self._day_end = 0.0
        self._month_start = -1.0
        self._roll(now)
        for k, v in summarize(rows, dt.datetime.fromtimestamp(now, self.zone)).items():
            self.wh[k] = v * 1000.0

    def add(self, t0: float, t1: float, deltas_wh: Mapping[str, float]) -> None:
        """Energy that flowed evenly over [t0, t1] (wall-clock epoch seconds).

        Split at midnights as the store splits it into buckets; a part before
        yesterday (or before this month) is counted where it belongs, never by
        rolling the periods back.
        """
        t0 = min(t0, t1)
        if t0 >= self._day_end:
            self._roll(t0)
        a = t0
        while True:
            cut = min(t1, self._day_end)
            self._credit(a, cut, t0, t1, deltas_wh)
            if cut >= t1:
                return
            a = cut
            self._roll(cut)

    def _credit(self, a: float, b: float, t0: float, t1: float, deltas_wh: Mapping[str, float]) -> None:
        """Credit the part [a, b] of an interval [t0, t1] to the periods it overlaps."""

        def share(lo: float, hi: float) -> float:
            if t1 <= t0:  # an instant: all of it where t1 falls
                return 1.0 if lo <= t1 < hi and a <= t1 <= b else 0.0
            return max(0.0, min(b, hi) - max(a, lo)) / (t1 - t0)

        parts = (
            ("today", share(self._day_start, self._day_end)),
            ("yesterday", share(self._yesterday_start, self._day_start)),
            ("this_month", share(self._month_start, self._day_end)),
        )
        for n, wh in deltas_wh.items():
            if wh <= 0 or n not in self._names:
                continue
            for suffix, f in parts:
                if f:
                    key = f"{n}_{suffix}"
                    self.wh[key] = self.wh.get(key, 0.0) + wh * f

    def values(self, now: float) -> dict[str, float]:
        """The figures at ``now`` in kWh (rolling over at midnight even without new energy)."""
        self._roll(now)
        wh = self.wh
        return {k: round(wh.get(k, 0.0) / 1000.0, 3) for k in self._keys}
