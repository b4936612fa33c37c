"""``tuyameter calibrate URL --profile P [--step zero|gain|offset|phase] --volts V --watts-a W … -o OUT.yaml``
— one step of an HLW8112 board's calibration against a reference, written to a profile and checked by
reading again."""

from __future__ import annotations

import argparse
import asyncio

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, DeviceError, emit_json, load_profile_arg, progress, write_profile_file
from tuyameter.cli.options import json_option
from tuyameter.hlw8112.calibrate import STEPS, CalibrationError, Reference
from tuyameter.profiles.model import Profile
from tuyameter.tools.hlw8112_calibrate import CalibrationRun, calibrate

#: what each step needs on the clamps, and the step after it
GUIDE = {
    "zero": ("nothing through the clamps (loads off, or the clamps off the cables), the mains on", "gain"),
    "gain": ("a steady resistive load (a kettle, a heater) near the rated current, PF 1", "offset"),
    "offset": ("a small resistive load, about 5 % of the rated current (a 40–100 W bulb)", "phase"),
    "phase": ("an inductive load with a power factor of 0.3–0.8 (0.5 is best), steady", None),
}


def number_arg(lo: float, hi: float, what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in {lo:g}..{hi:g}, not {v:g}")
        return v

    return parse


def power_factor_arg(what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> tuple[float, bool]:
        t = text.strip().upper()
        lagging = not t.endswith("C")
        number = number_arg(0.01, 1.0, what)(t.rstrip("LC"))
        return number, lagging

    return parse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate",
        parents=[json_option()],
        help=summary("calibrate"),
        description="Calibrate in the datasheet's four steps, each with its own load, each run taking the "
        "profile the step before wrote: --step zero (nothing flowing: the current offsets), gain (a resistive "
        "load near the rated current: K1, K2 and the chip's power gains), offset (a small resistive load: the "
        "power offsets), phase (an inductive load, PF 0.3-0.8, with --pf-a/--pf-b: the phase correction). Read "
        "the reference figures off a trusted meter; watts of a clamp that exports are given as they read, "
        "negative. The result is written to a copy of the profile and checked by setting the chip up with it "
        "and reading again.",
    )
    p.add_argument("url", help="spi://… or a serial URL with ?proto=hlw8112")
    p.add_argument("--profile", required=True, help="the board's profile (name or .yaml) with its hlw8112: section")
    p.add_argument("--profile-dir", action="append", default=[], metavar="DIR", help="extra profile directory")
    p.add_argument("--step", choices=STEPS, default="gain", help="which calibration (default gain)")
    p.add_argument("--guided", action="store_true",
                   help="all four steps in one go, asking on the terminal for each load and its reference "
                   "figures")  # fmt: skip
    p.add_argument("--volts", type=number_arg(80, 300, "--volts"), help="reference voltage (all steps but zero)")
    for ch in ("a", "b"):
        p.add_argument(f"--watts-{ch}", type=number_arg(-30000, 30000, f"--watts-{ch}"),
                       help=f"reference active power on clamp {ch.upper()}")  # fmt: skip
        p.add_argument(f"--amps-{ch}", type=number_arg(0, 200, f"--amps-{ch}"),
                       help=f"reference current on clamp {ch.upper()} (default: watts / volts)")  # fmt: skip
        p.add_argument(f"--pf-{ch}", type=power_factor_arg(f"--pf-{ch}"), metavar="PF[L|C]",
                       help=f"phase step: the power factor of clamp {ch.upper()}'s load, L lagging (inductive, "
                       "the default) or C leading")  # fmt: skip
    p.add_argument("--samples", type=int, default=10, choices=range(3, 101), metavar="N",
                   help="readings to average, before and after (default 10)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="FILE.yaml", help="where the calibrated profile goes")
    p.set_defaults(func=cmd_calibrate)


def _reference(args: argparse.Namespace) -> Reference:
    watts = {ch: getattr(args, f"watts_{ch}") for ch in ("a", "b")}
    amps = {ch: getattr(args, f"amps_{ch}") for ch in ("a", "b")}
    pf = {ch: getattr(args, f"pf_{ch}") for ch in ("a", "b")}
    given = [ch for ch in ("a", "b") if watts[ch] is not None or amps[ch] is not None]
    if args.step != "zero":
        if args.volts is None:
            raise CliError(f"the {args.step} step needs the reference voltage: --volts")
        if not given:
            raise CliError("give the reference of at least one clamp: --watts-a / --amps-a, --watts-b / --amps-b")
    if args.step in ("offset", "phase") and any(watts[ch] is None for ch in given):
        raise CliError(f"the {args.step} step needs the reference watts of each clamp: --watts-a / --watts-b")
    if args.step != "phase" and any(v is not None for v in pf.values()):
        raise CliError(f"--pf-a / --pf-b belong to the phase step; the {args.step} step's load is resistive")
    if args.step == "phase" and any(pf[ch] is None for ch in given):
        raise CliError("the phase step needs the load's power factor as the reference shows it: --pf-a / --pf-b")
    return Reference(args.volts, watts, amps, pf)


def cmd_calibrate(args: argparse.Namespace) -> int:
    profile = load_profile_arg(args.profile, args.profile_dir)
    if profile.hlw8112 is None:
        raise CliError(f"profile {profile.name!r} has no hlw8112: section (the board); start from hlw8112_clamps")
    if args.guided:
        from tuyameter.cli.calibrate_guided import run_guided

        if args.json:
            raise CliError("--guided asks its questions on the terminal: leave out --json")
        return run_guided(args.url, profile, args.output, samples=args.samples)
    ref = _reference(args)
    run = run_step(args.url, profile, ref, args.step, args.samples, quiet=args.json)
    write_calibrated(profile, run, ref, args.output)
    if args.json:
        emit_json(run.json() | {"profile": args.output})
    else:
        print_run(run, args.output)
    return 0 if run.ok else 1


def run_step(url: str, profile: Profile, ref: Reference, step: str, samples: int, *, quiet: bool) -> CalibrationRun:
    try:
        return asyncio.run(calibrate(url, profile, ref, step=step, samples=samples,
                                     progress=(lambda s: None) if quiet else progress))  # fmt: skip
    except (CalibrationError, ValueError) as e:
        raise DeviceError(str(e)) from None


def write_calibrated(profile: Profile, run: CalibrationRun, ref: Reference, output: str) -> Profile:
    """A copy of ``profile`` with the step's calibration, written to ``output``."""
    data = profile.to_data()
    if not data["name"].endswith("_calibrated"):
        data["name"] = f"{data['name']}_calibrated"
    fields = {k: round(v, 6) if isinstance(v, float) else v for k, v in run.outcome.calibration.fields().items()}
    data["hlw8112"] = dict(data.get("hlw8112", {})) | fields
    against = f"{ref.volts:g} V" if ref.volts else "no current"
    watts = "".join(f", {ch.upper()} {w:g} W" for ch, w in ref.watts.items() if w is not None)
    header = f"# {profile.name} calibrated by tuyameter calibrate --step {run.step} against {against}{watts}\n"
    return write_profile_file(output, data, header)


def print_run(run: CalibrationRun, out: str, *, hint: bool = True) -> None:
    for note in run.outcome.notes:
        print(f"  {note}")
    print(f"Written to {out}. Read again with it:")
    for name, c in run.after.items():
        mark = "ok  " if c.ok else "OFF "
        if run.step == "zero":
            print(f"  {mark}{name}: {c.read:g} A with no current")
        else:
            print(f"  {mark}{name}: {c.read:g} (reference {c.reference:g}, {c.error * 100:+.2f} %)")
    if not run.ok:
        print("Some figures are still off: is the load steady, the reference right, and the load what the step asks?")
        return
    print("Calibrated: every figure within 0.5 %." if run.step != "zero" else "Calibrated: the clamps read no current.")
    following = GUIDE[run.step][1]
    if following and hint:
        print(f"Next: --step {following} with --profile {out}, on {GUIDE[following][0]}.")
