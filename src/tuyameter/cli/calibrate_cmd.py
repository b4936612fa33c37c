"""``tuyameter calibrate URL --profile P --volts V --watts-a W [--watts-b W] -o OUT.yaml`` — an HLW8112
board against a reference, written to a profile and checked by reading again."""

from __future__ import annotations

import argparse
import asyncio

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, DeviceError, emit_json, load_profile_arg, progress, write_profile_file
from tuyameter.cli.options import json_option
from tuyameter.hlw8112.calibrate import CalibrationError, Reference
from tuyameter.tools.hlw8112_calibrate import GOOD, CalibrationRun, calibrate


def _number(lo: float, hi: float, what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in {lo:g}..{hi:g}, not {v:g}")
        return v

    return parse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate",
        parents=[json_option()],
        help=summary("calibrate"),
        description="Run a steady load (a kettle, a heater: resistive) through the clamps, read the reference "
        "figures off a trusted meter, and give them here. The board's K1, K2 and the chip's power gains are "
        "worked out, written to a copy of the profile, and checked by setting the chip up with them and reading "
        "again. Watts of a clamp that exports are given as they read, negative.",
    )
    p.add_argument("url", help="spi://… or a serial URL with ?proto=hlw8112")
    p.add_argument("--profile", required=True, help="the board's profile (name or .yaml) with its hlw8112: section")
    p.add_argument("--profile-dir", action="append", default=[], metavar="DIR", help="extra profile directory")
    p.add_argument("--volts", type=_number(80, 300, "--volts"), required=True, help="reference voltage")
    for ch in ("a", "b"):
        p.add_argument(f"--watts-{ch}", type=_number(-30000, 30000, f"--watts-{ch}"),
                       help=f"reference active power on clamp {ch.upper()}")  # fmt: skip
        p.add_argument(f"--amps-{ch}", type=_number(0, 200, f"--amps-{ch}"),
                       help=f"reference current on clamp {ch.upper()} (default: watts / volts)")  # fmt: skip
    p.add_argument("--samples", type=int, default=10, choices=range(3, 101), metavar="N",
                   help="readings to average, before and after (default 10)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="FILE.yaml", help="where the calibrated profile goes")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    profile = load_profile_arg(args.profile, args.profile_dir)
    if profile.hlw8112 is None:
        raise CliError(f"profile {profile.name!r} has no hlw8112: section (the board); start from hlw8112_clamps")
    if all(getattr(args, f"{k}_{ch}") is None for k in ("watts", "amps") for ch in ("a", "b")):
        raise CliError("give the reference of at least one clamp: --watts-a / --amps-a, --watts-b / --amps-b")
    ref = Reference(args.volts, {"a": args.watts_a, "b": args.watts_b}, {"a": args.amps_a, "b": args.amps_b})
    try:
        run = asyncio.run(calibrate(args.url, profile, ref, samples=args.samples,
                                    progress=(lambda s: None) if args.json else progress))  # fmt: skip
    except (CalibrationError, ValueError) as e:
        raise DeviceError(str(e)) from None
    b = run.outcome.board
    data = profile.to_data()
    if not data["name"].endswith("_calibrated"):
        data["name"] = f"{data['name']}_calibrated"
    board = {"k1_a": round(b.k1_a, 6), "k1_b": round(b.k1_b, 6), "k2": round(b.k2, 6), "pa_gain": b.pa_gain,
             "pb_gain": b.pb_gain}  # fmt: skip
    data["hlw8112"] = dict(data.get("hlw8112", {})) | board
    header = (f"# {profile.name} calibrated by tuyameter calibrate against {args.volts:g} V"
              + "".join(f", {k} {v:g}" for k, v in (("A", args.watts_a), ("B", args.watts_b)) if v is not None)
              + " W\n")  # fmt: skip
    write_profile_file(args.output, data, header)
    if args.json:
        emit_json(run.json() | {"profile": args.output})
    else:
        _print(run, args.output)
    return 0 if run.ok else 1


def _print(run: CalibrationRun, out: str) -> None:
    for note in run.outcome.notes:
        print(f"  {note}")
    print(f"Written to {out}. Read again with it:")
    for name, (got, want, err) in run.after.items():
        mark = "ok  " if abs(err) <= GOOD else "OFF "
        print(f"  {mark}{name}: {got:g} (reference {want:g}, {err * 100:+.2f} %)")
    print("Calibrated: every figure within 0.5 %." if run.ok else "Some figures are still more than 0.5 % off: "
          "is the load steady and the reference right?")  # fmt: skip
