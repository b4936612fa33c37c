"""Energy per local day and per local month, kept up to date as readings are written.

A year of daily totals summed from 15-minute buckets reads 35,040 rows per counter and
meter; the rollups hold one row per meter and day (and per meter and month) with one
column per energy counter, so the same answer reads 365 rows per meter. The days are local
days of one time zone, the store's *rollup zone*, with its DST rules: a 15-minute bucket
never straddles a local midnight (UTC offsets are whole quarter hours), so each bucket
belongs to exactly one local day. The zone is kept in the database (``store_meta``); a
store opened with another zone rebuilds both tables from the buckets, which stay the
source of truth. Queries in another zone, or over ranges that do not start and end on
local midnights, are answered from the buckets as before.

Counter columns are named after the profile's energy quantities (``[a-z][a-z0-9_]*``,
checked again here) and added when a counter first appears.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from tuyameter.store.base import range_where

log = logging.getLogger(__name__)

COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TABLES = {"day": "energy_day", "month": "energy_month"}
_EPOCH = dt.date(1970, 1, 1)
_CACHE_MAX = 200_000

#: one meter's rollup as columns: (meter, period numbers, a column of values per name, None where absent)
Columns: TypeAlias = tuple[str, list[int], list[list[float | None]]]


def zone_key(zone: dt.tzinfo | None) -> str | None:
    """The name a zone can be opened by again, or None (a zone read from a file under no name)."""
    key = getattr(zone, "key", None)
    if not isinstance(key, str) or key == "localtime":
        return None
    return key


class Rollup:
    """Which local day and month a bucket falls in, for one zone."""

    def __init__(self, zone: str) -> None:
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        self._cache: dict[float, tuple[int, int]] = {}

    def day_and_month(self, bucket: float) -> tuple[int, int]:
        """(local day number since 1970-01-01, year * 12 + month - 1) of a bucket's start."""
        found = self._cache.get(bucket)
        if found is None:
            local = dt.datetime.fromtimestamp(bucket, self.zone)
            d = local.date()
            found = ((d - _EPOCH).days, d.year * 12 + d.month - 1)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[bucket] = found
        return found


def day_start(day: int, zone: dt.tzinfo) -> float:
    d = _EPOCH + dt.timedelta(days=day)
    return dt.datetime(d.year, d.month, d.day, tzinfo=zone).timestamp()


def local_day(t: float, zone: dt.tzinfo) -> tuple[int, bool]:
    """(local day number of ``t``, whether ``t`` is that day's midnight)."""
    local = dt.datetime.fromtimestamp(t, zone)
    n = (local.date() - _EPOCH).days
    return n, day_start(n, zone) == t


def month_of_day(day: int) -> int:
    d = _EPOCH + dt.timedelta(days=day)
    return d.year * 12 + d.month - 1


def first_day_of_month(month: int) -> int:
    return (dt.date(month // 12, month % 12 + 1, 1) - _EPOCH).days


class RollupSql:
    """The SQL of the rollup tables for one store: its placeholder, column type, and whether rows go
    as arrays (PostgreSQL's ``unnest``) rather than one statement each; ``fetch`` runs the report
    query when the store has a faster way than ``run`` to bring many rows back."""

    #: kWh to 6 decimals as Python's ``round(x, 6)`` gives them (what the bucket path does): the scaled
    #: value rounded to an integer, cheap in both databases, where SQLite's ``ROUND(x, 6)`` costs as
    #: much as the fetch and differs from Python's in about 2 values in 10,000, and PostgreSQL's
    #: rounding of a numeric takes 3× the query
    ROUND6 = "round(({}) * 1e6) / 1e6"

    def __init__(
        self,
        run: Callable[[str, list[object]], list[tuple[Any, ...]]],
        many: Callable[[str, list[tuple[Any, ...]]], None],
        columns: Callable[[str], list[str]],
        *,
        ph: str,
        real: str,
        arrays: bool = False,
        fetch: Callable[[str, list[object]], list[tuple[Any, ...]]] | None = None,
    ) -> None:
        self.ph, self.real, self.arrays = ph, real, arrays
        self._run, self._many, self._columns_of = run, many, columns
        self._fetch = fetch or run
        self._columns: dict[str, set[str]] = {}

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = set(self._columns_of(table))
        return self._columns[table]

    def forget_columns(self) -> None:
        """After a rollback: columns added in it are gone again."""
        self._columns.clear()

    def add(self, table: str, key: str, rows: Mapping[tuple[str, int], Mapping[str, float]]) -> None:
        """Add Wh to (meter, day or month) rows, column by counter name."""
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for (meter, n), by_name in rows.items():
            names = tuple(sorted(by_name))
            groups.setdefault(names, []).append((meter, n, *(by_name[x] for x in names)))
        for names, values in groups.items():
            self._ensure(table, names)
            cols = "".join(f', "{n}"' for n in names)
            phs = ", ".join([self.ph] * (2 + len(names)))
            sets = ", ".join(f'"{n}" = COALESCE({table}."{n}", 0) + excluded."{n}"' for n in names)
            upsert = (
                f"INSERT INTO {table} (meter, {key}{cols}) VALUES ({phs}) ON CONFLICT (meter, {key}) DO UPDATE SET "
            )
            self._many(upsert + sets, values)

    def _ensure(self, table: str, names: Iterable[str]) -> None:
        have = self.columns(table)
        for n in names:
            if n not in have:
                if not COLUMN.match(n):
                    raise ValueError(f"energy counter name {n!r} cannot be a column")
                self._run(f'ALTER TABLE {table} ADD COLUMN "{n}" {self.real}', [])
                have.add(n)

    def read(
        self, by: str, meter: str | None, lo: int, hi: int, *, kwh: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(names, rows of (meter, day or month, a value per name or None)) for lo ≤ n < hi, by meter and n.

        The values are Wh per counter; with ``kwh`` the database does the rest of a report's work:
        kWh rounded to 6 decimals, and ``net_<x>`` = forward − reverse for each forward counter,
        names in sorted order (what :func:`tuyameter.energy.report.aggregate_days` gives)."""
        table, key = TABLES[by], by
        names, cols = self._select(table, key, kwh=kwh)
        where, args = self._where(key, meter, lo, hi)
        return names, self._fetch(f"SELECT meter, {key}{cols} FROM {table}{where} ORDER BY meter, {key}", args)

    def read_columns(self, by: str, meter: str | None, lo: int, hi: int) -> tuple[list[str], list[Columns]]:
        """What :meth:`read` gives with ``kwh``, as columns: (names, one (meter, period numbers in order,
        a column of kWh per name with None where absent) per meter, by meter). This one transposes
        :meth:`read`'s rows; a store with a cheaper way to hand over columns overrides it."""
        names, rows = self.read(by, meter, lo, hi, kwh=True)
        out: list[Columns] = []
        for m, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            _, ns, *values = zip(*group, strict=True)
            out.append((m, list(ns), [list(v) for v in values]))
        return names, out

    def _select(self, table: str, key: str, *, kwh: bool) -> tuple[list[str], str]:
        """(names, the SQL after ``SELECT meter, key``): a column per counter, or kWh and nets."""
        names = self.counter_names(table, key)
        if not kwh:
            return names, "".join(f', "{n}"' for n in names)
        exprs = self.kwh_exprs(names)
        names = sorted(exprs)
        return names, "".join(", " + exprs[n] for n in names)

    def kwh_exprs(self, names: list[str]) -> dict[str, str]:
        """SQL per report name: each counter's kWh rounded to 6 decimals, and ``net_<x>`` = forward − reverse."""
        exprs = {n: f'"{n}" / 1000.0' for n in names}
        for n in names:
            if n.startswith("energy_forward"):
                rev = n.replace("energy_forward", "energy_reverse", 1)
                back = f'COALESCE("{rev}", 0)' if rev in exprs else "0"
                exprs["net" + n[len("energy_forward") :]] = f'("{n}" - {back}) / 1000.0'
        return {n: self.ROUND6.format(e) for n, e in exprs.items()}

    def _where(self, key: str, meter: str | None, lo: int, hi: int) -> tuple[str, list[object]]:
        return range_where(key, self.ph, meter, lo, hi)

    def counter_names(self, table: str, key: str) -> list[str]:
        """The table's counter columns, sorted."""
        return sorted(self.columns(table) - {"meter", key})

    def rebuild(self, days: Iterable[tuple[str, str, int, float]]) -> int:
        """Both tables anew from (meter, name, local day, Wh) rows summed from the buckets."""
        self._run("DELETE FROM energy_day", [])
        self._run("DELETE FROM energy_month", [])
        by_day: dict[tuple[str, int], dict[str, float]] = {}
        by_month: dict[tuple[str, int], dict[str, float]] = {}
        for meter, name, day, wh in days:
            by_day.setdefault((meter, day), {})[name] = wh
            m = by_month.setdefault((meter, month_of_day(day)), {})
            m[name] = m.get(name, 0.0) + wh
        self.add("energy_day", "day", by_day)
        self.add("energy_month", "month", by_month)
        return len(by_day)
