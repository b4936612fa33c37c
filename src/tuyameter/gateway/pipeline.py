"""One meter after its source: meter model → accountant → running periods → update and store record.

Source-agnostic and free of I/O: the gateway feeds it batches and sends what comes
out to the outputs and the store writer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from tuyameter.energy.accountant import Accountant
from tuyameter.energy.periods import PeriodTotals
from tuyameter.gateway.meter_events import MeterEvents
from tuyameter.meter import MeterOptions, MeterState
from tuyameter.pipeline.events import Batch, MeterUpdate
from tuyameter.profiles.model import Profile
from tuyameter.store.base import EnergyRow, Record
from tuyameter.util.lograte import worth_logging

log = logging.getLogger(__name__)


class MeterPipeline:
    def __init__(
        self,
        meter_id: str,
        profile: Profile,
        options: MeterOptions,
        zone: dt.tzinfo,
        *,
        saved_state: Mapping[str, Any] | None = None,
        keeps_history: bool = False,
    ) -> None:
        self.id, self.profile, self.options, self.zone = meter_id, profile, options, zone
        self.accountant = Accountant.from_dict(profile, saved_state) if saved_state else Accountant(profile)
        self.meter = MeterState(profile, options, meter_id=meter_id)
        self.keeps_history = keeps_history
        self.periods = PeriodTotals([d.name for d in profile.quantities if d.counter], zone)
        self._power_names = profile.power_names()
        self._last_wall: float | None = None
        self._last_totals: dict[str, float] = {}
        self.updates = 0
        self.events = MeterEvents()

    def resume(self, rows: list[EnergyRow], last: tuple[float, dict[str, float]] | None, now: float) -> None:
        """Continue from the store: its period sums, and the last reading it holds (so the energy of
        the time the gateway was away counts where the store counts it)."""
        self.periods.seed(rows, now)
        if last is not None:
            self._last_wall, self._last_totals = last

    def restart_model(self) -> None:
        """A new source session: the meter model starts afresh, the energy accounting goes on."""
        self.meter = MeterState(self.profile, self.options, meter_id=self.id)
        self.accountant.new_session()

    def on_batch(self, batch: Batch, wall: float) -> tuple[MeterUpdate, Record]:
        changed = self.meter.apply(batch.readings)
        return self._update(changed, batch.time, wall, batch.restarted)

    def release_held(self, source_time: float, wall: float) -> tuple[MeterUpdate, Record] | None:
        """The source went down: values held for a late direction go out with the last one."""
        if not self.meter.holding:
            return None
        return self._update(self.meter.flush_held(), source_time, wall, False)

    def _update(self, changed: set[str], t: float, wall: float, restarted: bool) -> tuple[MeterUpdate, Record]:
        values = self.meter.snapshot()
        private = {k: v for k, v in self.meter.values.items() if k not in values}
        account = self.accountant.update(t, self.meter.values, restarted, self.meter.fresh)
        for e in account:
            n = self.accountant.counts.get(e.event.name.lower(), 0)
            if worth_logging(n):  # of each kind: a hostile meter cannot flood the log
                log.warning("%s: %s %s (meter counter %.2f kWh, total kept at %.3f kWh; %d so far)",
                            self.id, e.name, e.event.value, e.counter_kwh, e.total_kwh, n)  # fmt: skip
        events = self.events.collect(wall, restarted, account) if account or restarted else ()
        # The energy names carry the accountant's monotonic totals; the meter's own
        # counters stay available as <name>_meter.
        for name, total in self.accountant.totals_kwh().items():
            if name in values:
                values[f"{name}_meter"] = values[name]
                values[name] = round(total, 3)
                changed.add(name)
        totals_wh = {n: s.total_wh for n, s in self.accountant.streams.items() if s.last_counter is not None}
        if self.keeps_history:
            if self._last_wall is not None:
                deltas = {n: wh - self._last_totals[n] for n, wh in totals_wh.items() if n in self._last_totals}
                self.periods.add(self._last_wall, wall, deltas)
            values |= self.periods.values(wall)
        self._last_wall, self._last_totals = wall, dict(totals_wh)
        when = dt.datetime.fromtimestamp(wall, self.zone)
        self.updates += 1
        update = MeterUpdate(self.id, when, values, frozenset(changed), private, events)
        power = {n: float(v) for n in self._power_names if isinstance(v := values.get(n), int | float)}
        stored = tuple((e.time, e.kind, e.text) for e in events)
        return update, Record(self.id, wall, values | private, totals_wh, self.accountant.to_dict(), power, stored)
