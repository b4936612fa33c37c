"""``tuyameter energy`` — forward, reverse and net energy per hour, day or month."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json
from tuyameter.cli.options import MINUTES
from tuyameter.energy.history import energy_periods
from tuyameter.energy.periods import PERIOD_SUFFIXES, local_zone, summarize, window_start
from tuyameter.energy.report import PERIODS, aggregate, query_step
from tuyameter.store import Store, default_db_path, is_postgres, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("energy", help=summary("energy"))
    p.add_argument("--db", help=f"SQLite file or postgresql:// URL (default {default_db_path()})")
    p.add_argument("--meter", help="one meter (default: all)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 7 days ago)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)")
    p.add_argument("--by", choices=PERIODS, default="day")
    p.add_argument("--tz", help="time zone, e.g. Europe/Berlin (default: this machine's)")
    p.add_argument("--summary", action="store_true", help="today, yesterday and this month per meter")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_energy)

    w = sub.add_parser("power", help=summary("power"))
    w.add_argument("--db", help=f"SQLite file or postgresql:// URL (default {default_db_path()})")
    w.add_argument("--meter", help="one meter (default: all)")
    w.add_argument("--minutes", type=MINUTES, default=60, help="the last N minutes (default 60)")
    w.add_argument("--name", default="power_total", help="power_a, power_b or power_total (default)")
    w.add_argument("--tz", help="time zone for the times shown (default: this machine's)")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_power)


def _zone(name: str | None) -> dt.tzinfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CliError(f"unknown time zone {name!r}") from None
    return local_zone()  # with its DST rules, not today's fixed offset


def _day(text: str | None, default: dt.date, zone: dt.tzinfo) -> dt.datetime:
    try:
        d = dt.date.fromisoformat(text) if text else default
    except ValueError:
        raise CliError(f"dates are YYYY-MM-DD, got {text!r}") from None
    return dt.datetime(d.year, d.month, d.day, tzinfo=zone)


def _open(db: str | None) -> Store:
    target = db or str(default_db_path())
    if not is_postgres(target) and not Path(target).exists():
        raise CliError(f"no store at {target} (the gateway creates it; see --db)")
    try:
        return open_store(target)
    except Exception as e:
        raise CliError(f"cannot open the store {target}: {e}") from None


def cmd_power(args: argparse.Namespace) -> int:
    zone = _zone(args.tz)
    store = _open(args.db)
    end = dt.datetime.now(zone).timestamp()
    try:
        rows = [r for r in store.power_minutes(args.meter, end - args.minutes * 60, end + 60) if r.name == args.name]
    finally:
        store.close()
    for r in rows:
        when = dt.datetime.fromtimestamp(r.minute, zone)
        if args.json:
            avg = round(r.avg, 1)
            emit_json({"meter": r.meter, "name": r.name, "minute": when.isoformat(), "min": r.min, "avg": avg,
                       "max": r.max, "samples": r.samples})  # fmt: skip
        else:
            print(f"{r.meter:<10} {when:%Y-%m-%d %H:%M}  min {r.min:>9.1f} W  avg {r.avg:>9.1f} W  max {r.max:>9.1f} W")
    if not rows and not args.json:
        print("no power recorded in that range")
    return 0


def _summary(args: argparse.Namespace, zone: dt.tzinfo) -> int:
    now = dt.datetime.now(zone)
    store = _open(args.db)
    try:
        meters = [args.meter] if args.meter else store.meters()
        for m in meters:
            s = summarize(store.energy_rows(m, window_start(now).timestamp(), now.timestamp() + 1), now)
            if args.json:
                emit_json({"meter": m, "kwh": s})
                continue
            print(f"{m}:")
            for period in PERIOD_SUFFIXES:
                parts = [
                    f"{k[len('energy_') : -len(period) - 1]} {v:.3f}"
                    for k, v in sorted(s.items())
                    if k.endswith(period)
                ]
                print(f"  {period.replace('_', ' '):<11} " + ("  ".join(parts) or "-") + " kWh")
    finally:
        store.close()
    return 0


def cmd_energy(args: argparse.Namespace) -> int:
    zone = _zone(args.tz)
    if args.summary:
        return _summary(args, zone)
    today = dt.datetime.now(zone).date()
    start = _day(args.start, today - dt.timedelta(days=7), zone)
    end = _day(args.end, today, zone) + dt.timedelta(days=1)
    end = end.replace(tzinfo=None).replace(tzinfo=zone)  # local midnight after the last day
    store = _open(args.db)
    try:
        t0, t1 = start.timestamp(), end.timestamp()
        if args.by == "hour":
            periods = aggregate(store.energy_rows(args.meter, t0, t1, query_step(zone, start, end)), "hour", zone)
        else:  # days and months: the store's rollups, or its buckets summed in local days
            periods = energy_periods(store, args.meter, (t0, t1), args.by, zone)
    finally:
        store.close()
    names = sorted({k for p in periods for k in p.kwh})
    if args.json:
        for p in periods:
            emit_json({"meter": p.meter, "period": p.label, "start": p.start.isoformat(), "hours": p.hours,
                       "kwh": p.kwh})  # fmt: skip
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["meter", "period", "start", "hours", *names])
        for p in periods:
            w.writerow([p.meter, p.label, p.start.isoformat(), p.hours, *(p.kwh.get(n, "") for n in names)])
    else:
        if not periods:
            print("no energy recorded in that range")
            return 0
        short = [n.replace("energy_", "") for n in names]
        print(f"{'meter':<10} {'period':<22} " + " ".join(f"{s:>16}" for s in short) + "   (kWh)")
        for p in periods:
            print(f"{p.meter:<10} {p.label:<22} " + " ".join(f"{p.kwh.get(n, 0.0):>16.3f}" for n in names))
    return 0
