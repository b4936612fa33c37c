"""The read queries both SQL stores share; each store supplies its dialect."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

from tuyameter.store.base import BUCKET_S, EnergyRow, PowerMinute, local_index_sql, offset_segments, range_where
from tuyameter.store.rollup import Columns, Rollup, RollupSql

log = logging.getLogger(__name__)


class SqlQueries:
    #: placeholder, integer floor of an expression, and "a column ({0}) rounded down to a step ({1})"
    PH = "?"
    FLOOR = "CAST({} AS INTEGER)"
    STEP_DOWN = "{0} - {0} % {1}"
    rollups: RollupSql
    #: the zone whose local days and months the rollup tables hold (None: no rollups kept)
    rollup: Rollup | None = None

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    # -- rollups (store/rollup.py) ---------------------------------------------------------

    def _open_rollups(self, zone: str | None) -> None:
        rows = self._query(f"SELECT value FROM store_meta WHERE key = {self.PH}", ["rollup_zone"])
        kept = str(rows[0][0]) if rows else None
        if zone is not None and zone != kept:
            self._rebuild_rollups(zone, kept)
            kept = zone
        self.rollup = Rollup(kept) if kept else None

    def _rebuild_rollups(self, zone: str, was: str | None) -> None:
        t0 = time.monotonic()
        with self._transaction():
            span = self._query("SELECT MIN(bucket), MAX(bucket) FROM energy", [])
            lo, hi = span[0] if span else (None, None)
            days: list[tuple[str, str, int, float]] = []
            if lo is not None and hi is not None:
                from zoneinfo import ZoneInfo

                segs = offset_segments(ZoneInfo(zone), float(lo), float(hi) + BUCKET_S)
                days = self.energy_days(None, float(lo), float(hi) + BUCKET_S, segs)
            n = self.rollups.rebuild(days)
            self._query(f"DELETE FROM store_meta WHERE key = {self.PH}", ["rollup_zone"])
            self._query(f"INSERT INTO store_meta (key, value) VALUES ({self.PH}, {self.PH})", ["rollup_zone", zone])
        if n or was:
            log.info("energy per day and month rebuilt for %s (was %s): %d meter-days in %.1f s",
                     zone, was or "none", n, time.monotonic() - t0)  # fmt: skip

    @property
    def rollup_zone(self) -> str | None:
        return self.rollup.zone_name if self.rollup is not None else None

    def rollup_rows(
        self, by: str, meter: str | None, lo: int, hi: int, *, kwh: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(names, rows of (meter, local day or month number, a value per name or None)), lo ≤ n < hi;
        Wh per counter, or kWh and net values ready for a report (store/rollup.py, RollupSql.read)."""
        return self.rollups.read(by, meter, lo, hi, kwh=kwh)

    def rollup_columns(self, by: str, meter: str | None, lo: int, hi: int) -> tuple[list[str], list[Columns]]:
        """(names, per meter (meter, period numbers, a column of kWh per name, None where absent)): what
        ``rollup_rows(kwh=True)`` gives, a column per name instead of a row per period."""
        return self.rollups.read_columns(by, meter, lo, hi)

    def _filter(self, column: str, meter: str | None, start: float, end: float) -> tuple[str, list[object]]:
        return range_where(column, self.PH, meter, start, end)

    def energy_rows(self, meter: str | None, start: float, end: float, step: int = BUCKET_S) -> list[EnergyRow]:
        """Energy per bucket; ``step`` (a multiple of 900 s) sums buckets in the database first."""
        where, args = self._filter("bucket", meter, start, end)
        b = self.STEP_DOWN.format("bucket", int(step))
        sql = (
            f"SELECT meter, name, {b} AS b, SUM(wh) FROM energy{where} GROUP BY meter, name, b ORDER BY b, meter, name"
        )
        return [EnergyRow(m, n, float(bk), float(w)) for m, n, bk, w in self._query(sql, args)]

    def energy_days(
        self, meter: str | None, start: float, end: float, segments: list[tuple[float, int]]
    ) -> list[tuple[str, str, int, float]]:
        """(meter, name, local day number, Wh), summed in the database."""
        where, args = self._filter("bucket", meter, start, end)
        day = local_index_sql(segments, 86400, self.FLOOR)
        sql = f"SELECT meter, name, {day} AS d, SUM(wh) FROM energy{where} GROUP BY meter, name, d"
        return [(m, n, int(d), float(w)) for m, n, d, w in self._query(sql, args)]

    def power_minutes(self, meter: str | None, start: float, end: float) -> list[PowerMinute]:
        where, args = self._filter("minute", meter, start, end)
        sql = f"SELECT meter, name, minute, min, sum / n, max, n FROM power_minute{where} ORDER BY minute, meter, name"
        return [
            PowerMinute(m, n, float(t), float(lo), float(avg), float(hi), int(c))
            for m, n, t, lo, avg, hi, c in self._query(sql, args)
        ]

    def power_steps(
        self, meter: str, start: float, end: float, step: int
    ) -> list[tuple[str, float, float, float, float, int]]:
        """(name, step start, min, mean, max, samples) of one meter's power over steps of ``step`` s (a
        multiple of 60), the per-minute statistics combined in the database: a year of minutes in a few
        hundred points."""
        where, args = self._filter("minute", meter, start, end)
        t = self.STEP_DOWN.format("minute", int(step))
        sql = (
            f"SELECT name, {t} AS t, MIN(min), SUM(sum) / SUM(n), MAX(max), SUM(n) FROM power_minute{where} "
            "GROUP BY name, t ORDER BY t, name"
        )
        return [
            (n, float(ts), float(lo), float(avg), float(hi), int(c)) for n, ts, lo, avg, hi, c in self._query(sql, args)
        ]

    def meter_events(self, meter: str, start: float, end: float, limit: int) -> list[tuple[float, str, str]]:
        """The last ``limit`` events of a meter in [start, end): (time, kind, text), oldest first."""
        where, args = self._filter("ts", meter, start, end)
        sql = f"SELECT ts, kind, text FROM meter_event{where} ORDER BY ts DESC LIMIT {int(limit)}"
        return [(float(t), str(k), str(x)) for t, k, x in reversed(self._query(sql, args))]

    def last_record(self, meter: str) -> tuple[float, dict[str, float]] | None:
        """When the meter's last reading was written and its energy totals (Wh) then."""
        rows = self._query(f"SELECT last_ts, last_totals FROM meter WHERE id = {self.PH}", [meter])
        if not rows:
            return None
        ts, totals = rows[0]
        return float(ts), {
            str(k): float(v) for k, v in (json.loads(totals) if isinstance(totals, str) else totals).items()
        }

    def meters(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM meter ORDER BY id", [])]
