"""History as a table, shaped like IoTaWatt's query API: pick the series, group them from a minute to
a year, get JSON or CSV.

``select=[time.iso,power_total.mean,power_total.max,energy_forward_total]&begin=2026-12-01&end=2026-12-05&group=1h``

- **series**: ``time`` (``.iso`` local with its offset, ``.utc``, ``.unix``); a power quantity with
  ``.mean`` (the default), ``.min`` or ``.max``; an energy counter or a ``net_*`` value in kWh (the
  default, or ``.kwh``) or ``.wh``.
- **group**: ``Nm`` or ``Nh`` — fixed steps from the epoch (energy in multiples of 15 minutes, the
  store's buckets); ``d``, ``M``, ``y`` — local days, months and years (DST-correct, as the CLI's);
  ``auto`` — the finest that gives at most :data:`AUTO_ROWS` rows.
- **begin** / **end**: epoch seconds, a local date or a local ISO date and time (an end that is a
  date includes that day); with a calendar group they widen to whole periods. At most
  :data:`MAX_ROWS` rows.

A row per period, periods without data included (their values null).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tuyameter.energy.report import next_start, period_start, query_step
from tuyameter.store.base import BUCKET_S, Store
from tuyameter.web.history import EnergyQuery, HistoryError, energy

MAX_ROWS = 10_000
AUTO_ROWS = 600
AUTO_STEPS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)
CALENDAR = {"d": "day", "M": "month", "y": "year"}
TIME_FORMATS = ("iso", "utc", "unix")
POWER_STATS = ("mean", "min", "max")
ENERGY_UNITS = ("kwh", "wh")
_GROUP = re.compile(r"^(\d{1,6})?([mhdMy])$")


@dataclass(frozen=True)
class Column:
    name: str  # "time", a power quantity, an energy counter or net value
    kind: str  # time, power, energy
    stat: str  # a time format, a power statistic or an energy unit

    @property
    def label(self) -> str:
        return f"{self.name}.{self.stat}"


@dataclass(frozen=True)
class Group:
    step: int | None = None  # fixed steps of this many seconds
    calendar: str | None = None  # day, month, year

    @property
    def text(self) -> str:
        if self.calendar is not None:
            return next(k for k, v in CALENDAR.items() if v == self.calendar)
        assert self.step is not None
        return f"{self.step // 3600}h" if self.step % 3600 == 0 else f"{self.step // 60}m"


@dataclass(frozen=True)
class Table:
    meter: str
    group: Group
    begin: float
    end: float
    columns: list[Column]
    rows: list[list[Any]]

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([c.label for c in self.columns])
        w.writerows(["" if v is None else v for v in row] for row in self.rows)
        return buf.getvalue()

    def json(self) -> dict[str, Any]:
        return {"meter": self.meter, "group": self.group.text, "begin": self.begin, "end": self.end,
                "columns": [c.label for c in self.columns], "rows": self.rows}  # fmt: skip


def parse_select(text: str, power: Iterable[str], counters: Iterable[str]) -> list[Column]:
    """``[time.iso,power_a.max,energy_forward_total]`` → columns; HistoryError naming what is known."""
    powers, energies = list(power), list(counters)
    energies += [f"net{n[len('energy_forward') :]}" for n in energies if n.startswith("energy_forward")]
    items = [x.strip() for x in text.strip().removeprefix("[").removesuffix("]").split(",")]
    if not any(items):
        raise HistoryError("select names no series")
    out = []
    for item in items:
        name, _, stat = item.partition(".")
        if name == "time":
            stat = stat or "iso"
            if stat not in TIME_FORMATS:
                raise HistoryError(f"time.{stat}: the time is {', '.join('time.' + f for f in TIME_FORMATS)}")
            out.append(Column(name, "time", stat))
        elif name in powers:
            stat = {"": "mean", "avg": "mean"}.get(stat, stat)
            if stat not in POWER_STATS:
                raise HistoryError(f"{item}: power series are {', '.join(POWER_STATS)}")
            out.append(Column(name, "power", stat))
        elif name in energies:
            stat = stat.lower() or "kwh"
            if stat not in ENERGY_UNITS:
                raise HistoryError(f"{item}: energy series are in {' or '.join(ENERGY_UNITS)}")
            out.append(Column(name, "energy", stat))
        else:
            known = ", ".join(["time", *powers, *energies])
            raise HistoryError(f"no series {item[:64]!r}; known: {known}")
    if len(out) > 32:
        raise HistoryError("at most 32 series at once")
    return out


def parse_group(text: str) -> Group | None:
    """``15m``, ``1h``, ``d``, ``M``, ``y`` → a group; ``auto`` → None (chosen from the range)."""
    if text == "auto":
        return None
    m = _GROUP.match(text)
    if m is None:
        raise HistoryError(f"group {text[:32]!r}: Nm or Nh (fixed steps), d, M or y (local periods), or auto")
    n, unit = int(m.group(1) or 1), m.group(2)
    if unit in CALENDAR:
        if n != 1:
            raise HistoryError(f"group {text}: days, months and years go one at a time ({unit})")
        return Group(calendar=CALENDAR[unit])
    step = n * (60 if unit == "m" else 3600)
    if not 60 <= step <= 7 * 86400:
        raise HistoryError(f"group {text}: fixed steps run from 1m to 168h")
    return Group(step=step)


def parse_time(text: str, zone: dt.tzinfo, *, end: bool = False) -> float:
    """Epoch seconds, a local date or an ISO date and time (local unless it has an offset). A date is its
    local midnight, or as an ``end`` the midnight after it: the day is included, as in the CLI's ``--to``."""
    try:
        v = float(text)
    except ValueError:
        pass
    else:
        if not (math.isfinite(v) and 0 <= v <= 4e9):
            raise HistoryError(f"{text[:32]!r}: epoch seconds between 0 and 4e9")
        return v
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if end:
            day += dt.timedelta(days=1)
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HistoryError(f"{text[:32]!r} is neither epoch seconds nor an ISO date or date and time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.timestamp()


def choose(group: Group | None, begin: float, end: float, columns: list[Column]) -> Group:
    """The group asked for, or for auto the finest that keeps the rows within :data:`AUTO_ROWS` (energy
    never finer than its 15-minute buckets)."""
    if group is not None:
        return group
    least = BUCKET_S if any(c.kind == "energy" for c in columns) else 60
    for step in AUTO_STEPS:
        if step >= least and (end - begin) / step <= AUTO_ROWS:
            return Group(step=step)
    if (end - begin) / 86400 <= AUTO_ROWS:
        return Group(calendar="day")
    return Group(calendar="month")


def periods(group: Group, begin: float, end: float, zone: dt.tzinfo) -> list[tuple[float, float]]:
    """[start, end) of each period of the group that meets [begin, end)."""
    out: list[tuple[float, float]] = []
    if group.step is not None:
        step = group.step
        t = begin - begin % step
        if (end - t) / step > MAX_ROWS:
            raise HistoryError(f"more than {MAX_ROWS} rows: a coarser group, or a shorter range")
        while t < end:
            out.append((t, t + step))
            t += step
        return out
    assert group.calendar is not None
    local = period_start(dt.datetime.fromtimestamp(begin, zone), "day" if group.calendar == "day" else "month")
    if group.calendar == "year":
        local = local.replace(month=1)
    start = dt.datetime(local.year, local.month, local.day, tzinfo=zone)  # a fresh local midnight: DST offset right
    while start.timestamp() < end:
        nxt = _next(start, group.calendar, zone)
        out.append((start.timestamp(), nxt.timestamp()))
        start = nxt
        if len(out) > MAX_ROWS:
            raise HistoryError(f"more than {MAX_ROWS} rows: a coarser group, or a shorter range")
    return out


def _next(start: dt.datetime, calendar: str, zone: dt.tzinfo) -> dt.datetime:
    if calendar == "year":
        return dt.datetime(start.year + 1, 1, 1, tzinfo=zone)
    return next_start(start, calendar, zone)


@dataclass(frozen=True)
class Plan:
    """A query worked out before the store is asked: what, of which meter, per which periods."""

    meter: str
    columns: list[Column]
    group: Group
    span: list[tuple[float, float]]  # [start, end) of each period (:func:`periods`)
    zone: dt.tzinfo

    @property
    def at(self) -> dict[float, int]:
        """A period's start → its row."""
        return {a: i for i, (a, _) in enumerate(self.span)}


def run(store: Store, plan: Plan) -> list[list[Any]]:
    """The rows: one per period of the plan, a value per column (None: no data)."""
    span, columns = plan.span, plan.columns
    if not span:
        return []
    values: dict[str, list[Any]] = {}
    if any(c.kind == "power" for c in columns):
        values |= _power(store, plan)
    if any(c.kind == "energy" for c in columns):
        values |= _energy(store, plan)
    rows = []
    for i, (a, _) in enumerate(span):
        row: list[Any] = []
        for c in columns:
            if c.kind == "time":
                row.append(_time(a, c.stat, plan.zone))
            elif c.kind == "power":
                row.append(values.get(f"{c.name}.{c.stat}", [None] * len(span))[i])
            else:
                kwh = values.get(c.name, [None] * len(span))[i]
                row.append(kwh if kwh is None or c.stat == "kwh" else round(kwh * 1000.0, 3))
        rows.append(row)
    return rows


def _time(t: float, fmt: str, zone: dt.tzinfo) -> Any:
    if fmt == "unix":
        return t
    if fmt == "utc":
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")
    return dt.datetime.fromtimestamp(t, zone).isoformat()


def _power(store: Store, plan: Plan) -> dict[str, list[Any]]:
    """name.stat → a value per period: the per-minute statistics combined in the database, and (for
    local periods) steps that fall on local hours combined here, the mean weighted by samples."""
    span, group, zone = plan.span, plan.group, plan.zone
    lo, hi = span[0][0], span[-1][1]
    index: dict[float, int]
    if group.step is not None:
        step = group.step
        index = plan.at
    else:
        step = query_step(zone, dt.datetime.fromtimestamp(lo, dt.UTC), dt.datetime.fromtimestamp(hi, dt.UTC))
        bounds = [a for a, _ in span]
        index = {}
        j = 0
        for at_step in range(int(lo), int(hi), step):  # each step's period (steps never cross a local period)
            while j + 1 < len(bounds) and at_step >= bounds[j + 1]:
                j += 1
            index[float(at_step)] = j
    acc: dict[str, list[list[float] | None]] = {}  # name → per period [min, max, sum, samples]
    for name, t, mn, avg, mx, n in store.power_steps(plan.meter, lo, hi, step):
        i = index.get(t)
        if i is None:
            continue
        cells = acc.get(name)
        if cells is None:
            cells = acc[name] = [None] * len(span)
        c = cells[i]
        if c is None:
            cells[i] = [mn, mx, avg * n, float(n)]
        else:
            c[0], c[1], c[2], c[3] = min(c[0], mn), max(c[1], mx), c[2] + avg * n, c[3] + n
    out: dict[str, list[Any]] = {}
    for name, cells in acc.items():
        stats: dict[str, list[float | None]] = {"min": [], "mean": [], "max": []}
        for c in cells:
            if c is None:
                for col in stats.values():
                    col.append(None)
                continue
            mean = min(max(c[2] / c[3], c[0]), c[1])  # the division may miss [min, max] by a last bit
            stats["min"].append(round(c[0], 3))
            stats["mean"].append(round(mean, 3))
            stats["max"].append(round(c[1], 3))
        out |= {f"{name}.{k}": col for k, col in stats.items()}
    return out


def _energy(store: Store, plan: Plan) -> dict[str, list[Any]]:
    """name → kWh per period (6 decimals, nets included, as the energy endpoint and the CLI give them)."""
    meter, group, span, zone, at = plan.meter, plan.group, plan.span, plan.zone, plan.at
    if group.calendar is not None:
        first = dt.datetime.fromtimestamp(span[0][0], zone).date()
        last = dt.datetime.fromtimestamp(span[-1][1], zone).date() - dt.timedelta(days=1)
        found = energy(store, EnergyQuery(meter, group.calendar, first, last), zone)
        if found is None:
            return {}
        out: dict[str, list[Any]] = {n: [None] * len(span) for n in found.kwh}
        for k, start in enumerate(found.starts):
            i = at.get(start.timestamp())
            if i is not None:
                for n, col in found.kwh.items():
                    out[n][i] = col[k]
        return out
    assert group.step is not None
    if group.step % BUCKET_S:
        raise HistoryError("energy is kept per 15 minutes: a group of 15m or a multiple of it")
    lo, hi = span[0][0], span[-1][1]
    sums: dict[str, list[float | None]] = {}
    for r in store.energy_rows(meter, lo, hi, group.step):
        i = at.get(r.bucket_start)
        if i is None:
            continue
        col = sums.setdefault(r.name, [None] * len(span))
        col[i] = (col[i] or 0.0) + r.wh / 1000.0
    for n in [n for n in sums if n.startswith("energy_forward")]:
        rev = sums.get(n.replace("energy_forward", "energy_reverse", 1), [None] * len(span))
        sums[f"net{n[len('energy_forward') :]}"] = [
            None if f is None else f - (r or 0.0) for f, r in zip(sums[n], rev, strict=True)
        ]
    return {n: [None if v is None else round(v, 6) for v in col] for n, col in sums.items()}
