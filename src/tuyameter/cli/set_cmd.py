"""``tuyameter set URL NAME VALUE`` — write one setting (calibration, report rate, reset)."""

from __future__ import annotations

import argparse

import tuyameter.emulator.simlink  # noqa: F401  (sim:// links, for the URLs this command opens)
from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, DeviceError, emit_json, load_profile_arg, run_async
from tuyameter.cli.options import SECONDS, json_option, last_baud, link_options, profile_options
from tuyameter.pipeline.writes import WriteRefused, validate_write
from tuyameter.profiles.model import Value
from tuyameter.sources import SourceOptions, open_source
from tuyameter.util.redact import redact_url


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "set",
        parents=[link_options(), profile_options(), json_option()],
        help=summary("set"),
        description="Connect, write one writable DP by its profile name and report what the MCU answered. "
        "Values are in the profile's units (calibration_voltage 1.004, report_rate 5); buttons take 'press'.",
    )
    p.add_argument("name", help="e.g. report_rate, calibration_voltage, reset_coefficients_a")
    p.add_argument("value")
    p.add_argument(
        "--timeout",
        type=SECONDS,
        default=15.0,
        help="seconds to wait for the link and the answer",
    )
    p.set_defaults(func=cmd_set)


def parse_value(text: str) -> Value:
    low = text.strip().lower()
    if low in ("press", "true", "on", "yes"):
        return True
    if low in ("false", "off", "no"):
        return False
    try:
        return int(low)
    except ValueError:
        pass
    try:
        return float(low)
    except ValueError:
        return text


async def _set(args: argparse.Namespace) -> int:
    profile = load_profile_arg(args.profile, args.profile_dir)
    value = parse_value(args.value)
    try:
        validate_write(profile, args.name, value)  # refuse before touching the device
        source = open_source(args.url, profile, SourceOptions(baud=last_baud(args)))
    except (WriteRefused, ValueError) as e:
        raise CliError(f"refused: {e}" if isinstance(e, WriteRefused) else str(e)) from None
    async with source:
        if not await source.wait_ready(args.timeout):
            diag = source.diagnostics()
            # why the last attempt failed says more than the state of the attempt now under way
            detail = diag.get("last_failure") or diag.get("state_detail")
            where = redact_url(args.url)
            raise DeviceError(
                f"the meter did not answer on {source.description} ({detail}; try: tuyameter probe {where})"
            )
        res = await source.write(args.name, value, timeout=args.timeout)
    if args.json:
        emit_json({"name": args.name, "value": value, "ok": res.ok, "echoed": res.echoed, "error": res.error})
    elif res.ok:
        print(f"{args.name} = {res.echoed.get(args.name, value)} (confirmed by the meter)")
    else:
        print(f"{args.name}: not applied — {res.error}; the meter reports {res.echoed or 'nothing'}")
    return 0 if res.ok else 1


def cmd_set(args: argparse.Namespace) -> int:
    return run_async(_set(args))
