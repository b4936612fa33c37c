"""One transaction's rows, worked out in Python before any SQL runs.

The writer hands a store many readings at once (of one meter or many). Instead of a dozen
statements per reading, the batch is folded first: the energy each reading adds is summed
per 15-minute bucket (and per local day and month, see :mod:`tuyameter.store.rollup`), the
power samples per minute (min, max, sum, count), and only each meter's last state is kept.
The store then runs one ``executemany`` per table. The result is the same as writing the
readings one by one (up to the order in which floating-point Wh are added).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuyameter.store.base import Record, bucket_shares
from tuyameter.store.rollup import Rollup

#: meters → {meter: (last_ts, last_totals)} as stored, for those written before
LastOf = Callable[[list[str]], dict[str, tuple[float, Mapping[str, float]]]]


@dataclass
class Batch:
    energy: dict[tuple[str, float], dict[str, float]] = field(default_factory=dict)  # (meter, bucket) → name → Wh
    days: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)  # (meter, local day) → name → Wh
    months: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    readings: list[tuple[str, float, str]] = field(default_factory=list)  # (meter, ts, values as JSON)
    power: dict[tuple[str, float], dict[str, list[float]]] = field(default_factory=dict)  # → [min, max, sum, n]
    meters: dict[str, tuple[float, Mapping[str, float], Mapping[str, Any]]] = field(default_factory=dict)
    events: list[tuple[str, float, str, str]] = field(default_factory=list)  # (meter, ts, kind, text)

    def energy_rows(self) -> list[tuple[str, str, float, float]]:
        return [(m, n, b, wh) for (m, b), by_name in self.energy.items() for n, wh in by_name.items()]

    def power_rows(self) -> list[tuple[str, str, float, float, float, float, int]]:
        return [
            (m, n, t, lo, hi, s, int(c))
            for (m, t), by_name in self.power.items()
            for n, (lo, hi, s, c) in by_name.items()
        ]

    def meter_rows(self) -> list[tuple[str, str, float, str]]:
        return [(m, json.dumps(dict(st)), ts, json.dumps(dict(tot))) for m, (ts, tot, st) in self.meters.items()]


def plan(records: Sequence[Record], last_of: LastOf, rollup: Rollup | None) -> Batch:
    b = Batch()
    energy, power = b.energy, b.power
    last = last_of(list(dict.fromkeys(r.meter for r in records)))
    for r in records:
        meter, ts = r.meter, r.ts
        prev = last.get(meter)
        if prev is not None:  # the energy that flowed since, spread evenly over the buckets in between
            before = prev[1]
            flows = [(n, t - w) for n, t in r.totals_wh.items() if (w := before.get(n)) is not None and t > w]
            if flows:
                for bucket, share in bucket_shares(prev[0], ts):
                    acc = energy.get((meter, bucket))
                    if acc is None:
                        acc = energy[meter, bucket] = {}
                    for name, wh in flows:
                        acc[name] = acc.get(name, 0.0) + wh * share
        last[meter] = (ts, r.totals_wh)
        b.readings.append((meter, ts, json.dumps(r.values)))
        if r.power:
            minute = ts - ts % 60
            samples = power.get((meter, minute))
            if samples is None:
                samples = power[meter, minute] = {}
            for name, p in r.power.items():
                s = samples.get(name)
                if s is None:
                    samples[name] = [p, p, p, 1]
                else:
                    s[0], s[1], s[2], s[3] = min(s[0], p), max(s[1], p), s[2] + p, s[3] + 1
        b.meters[meter] = (ts, r.totals_wh, r.state)
        if r.events:
            b.events += [(meter, t, kind, text) for t, kind, text in r.events]
    if rollup is not None:
        for (meter, bucket), by_name in energy.items():
            day, month = rollup.day_and_month(bucket)
            for table, key in ((b.days, (meter, day)), (b.months, (meter, month))):
                acc = table.get(key)
                if acc is None:
                    table[key] = dict(by_name)
                else:
                    for name, wh in by_name.items():
                        acc[name] = acc.get(name, 0.0) + wh
    return b
