"""Energy "today", "yesterday" and "this month" (local time), like OpenBeken's energy stats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from tuyameter.store.base import EnergyRow

PERIOD_SUFFIXES = ("today", "yesterday", "this_month")


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


def summarize(rows: Iterable[EnergyRow], now: dt.datetime) -> dict[str, float]:
    """``<name>_today``, ``<name>_yesterday`` and ``<name>_this_month`` in kWh."""
    today = local_midnight(now).timestamp()
    yesterday = local_midnight(now, 1).timestamp()
    month = month_start(now).timestamp()
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
