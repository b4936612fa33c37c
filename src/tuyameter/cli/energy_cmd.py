"""``tuyameter energy`` — forward, reverse and net energy per hour, day or month."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tuyameter.cli.common import CliError, emit_json
from tuyameter.energy.report import PERIODS, aggregate
from tuyameter.store import default_db_path, is_postgres, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("energy", help="energy per hour, day or month from the store")
    p.add_argument("--db", help=f"SQLite file or postgresql:// URL (default {default_db_path()})")
    p.add_argument("--meter", help="one meter (default: all)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 7 days ago)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)")
    p.add_argument("--by", choices=PERIODS, default="day")
    p.add_argument("--tz", help="time zone, e.g. Europe/Berlin (default: this machine's)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_energy)


def _zone(name: str | None) -> dt.tzinfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CliError(f"unknown time zone {name!r}") from None
    local = dt.datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def _day(text: str | None, default: dt.date, zone: dt.tzinfo) -> dt.datetime:
    try:
        d = dt.date.fromisoformat(text) if text else default
    except ValueError:
        raise CliError(f"dates are YYYY-MM-DD, got {text!r}") from None
    return dt.datetime(d.year, d.month, d.day, tzinfo=zone)


def cmd_energy(args: argparse.Namespace) -> int:
    zone = _zone(args.tz)
    target = args.db or str(default_db_path())
    if not is_postgres(target) and not Path(target).exists():
        raise CliError(f"no store at {target} (the gateway creates it; see --db)")
    today = dt.datetime.now(zone).date()
    start = _day(args.start, today - dt.timedelta(days=7), zone)
    end = _day(args.end, today, zone) + dt.timedelta(days=1)
    end = end.replace(tzinfo=None).replace(tzinfo=zone)  # local midnight after the last day
    try:
        store = open_store(target)
    except Exception as e:
        raise CliError(f"cannot open the store {target}: {e}") from None
    try:
        rows = store.energy_rows(args.meter, start.timestamp(), end.timestamp())
    finally:
        store.close()
    periods = aggregate(rows, args.by, zone)
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
