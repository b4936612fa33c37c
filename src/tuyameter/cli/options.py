"""Option groups shared by the subcommands (parent parsers), so that they never drift apart."""

from __future__ import annotations

import argparse

from tuyameter.util import limits
from tuyameter.util.limits import arg_type

# argparse types for the numbers a person types (argparse names the option in its message)
SECONDS = arg_type(limits.Seconds, "seconds")
CLOCK_RATE = arg_type(limits.ClockRate, "clock rate")
DAYS = arg_type(limits.Days, "days")
BAUD = arg_type(limits.Baud, "baud rate")
INTERVAL = arg_type(limits.Interval, "interval")
METER_COUNT = arg_type(limits.MeterCount, "count")
WORKERS = arg_type(limits.Workers, "number of worker processes")
REPORT_RATE = arg_type(limits.ReportRate, "report rate")
MINUTES = arg_type(limits.Minutes, "minutes")
PORT = arg_type(limits.Port, "port")
METER_ID = arg_type(limits.MeterId, "meter id (1..64 letters, digits, '-' or '_')")


def link_options(url_required: bool = True) -> argparse.ArgumentParser:
    """URL of the meter's link and its line speed: run, monitor, set, probe."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "url",
        nargs=None if url_required else "?",
        help="device path, socket://HOST:PORT, rfc2217://…, or sim://pj1103a; ?baud=N",
    )
    p.add_argument(
        "--baud",
        type=BAUD,
        action="append",
        metavar="N",
        help="line speed (default: the profile's; probe tries each one given, else 9600 then 115200)",
    )
    return p


def profile_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--profile", default="pj1103a", help="profile name or .yaml file (default pj1103a)")
    p.add_argument("--profile-dir", action="append", default=[], metavar="DIR", help="extra profile directory")
    return p


def json_option() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="machine-readable output (errors too)")
    return p


def last_baud(args: argparse.Namespace) -> int | None:
    """The one line speed of commands that use one (the last --baud given)."""
    bauds: list[int] | None = getattr(args, "baud", None)
    return bauds[-1] if bauds else None
