"""``tuyameter calibrate URL --profile P --guided -o OUT.yaml``: the four calibration steps in one go,
asking on the terminal for each step's load and the reference meter's figures. Each step's result is
written to OUT.yaml as soon as it is checked, so stopping half-way keeps what was done."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from tuyameter.cli.calibrate_cmd import GUIDE, number_arg, power_factor_arg, print_run, run_step, write_calibrated
from tuyameter.cli.common import DeviceError
from tuyameter.hlw8112.calibrate import STEPS, Reference
from tuyameter.profiles.model import Profile

Ask = Callable[[str], str]


class _Stop(Exception):
    """The user ended the session (end of input)."""


def _ask(ask: Ask, prompt: str, parse: Callable[[str], object] | None = None, *, optional: bool = False) -> object:
    """An answer, parsed; asked again until it parses. Empty: None when ``optional``."""
    while True:
        try:
            text = ask(prompt).strip()
        except EOFError:
            raise _Stop from None
        if not text and optional:
            return None
        if parse is None:
            return text
        try:
            return parse(text)
        except argparse.ArgumentTypeError as e:
            print(f"  {e}")


def _reference(step: str, ask: Ask) -> Reference | None:
    """The reference figures for ``step`` (None: the user skips it)."""
    if step == "zero":
        return Reference()
    volts = _ask(ask, "  Reference voltage, V (empty: skip this step): ", number_arg(80, 300, "the voltage"),
                 optional=True)  # fmt: skip
    if volts is None:
        return None
    watts: dict[str, float | None] = {}
    pf: dict[str, tuple[float, bool] | None] = {}
    while not any(w is not None for w in watts.values()):
        for ch in ("a", "b"):
            w = _ask(ask, f"  Clamp {ch.upper()}: reference watts, negative if it exports (empty: no load on it): ",
                     number_arg(-30000, 30000, "the watts"), optional=True)  # fmt: skip
            watts[ch] = w if isinstance(w, float) else None
            if step == "phase" and watts[ch] is not None:
                p = _ask(ask, f"  Clamp {ch.upper()}: the load's power factor, e.g. 0.5L (inductive) or 0.8C: ",
                         power_factor_arg("the power factor"))  # fmt: skip
                pf[ch] = p if isinstance(p, tuple) else None
        if not any(w is not None for w in watts.values()):
            print("  Give the watts of at least one clamp.")
    assert isinstance(volts, float)
    return Reference(volts, watts, {}, pf)


def run_guided(url: str, profile: Profile, output: str, *, samples: int, ask: Ask = input) -> int:
    print(f"Calibrating {url} with {profile.name}, in four steps, each with its own load on the clamps. Have a "
          "reference meter that shows volts, watts and power factor. Each step's result goes to "
          f"{output} as soon as it is checked; end the input (Ctrl-D) to stop.")  # fmt: skip
    done: list[str] = []
    failed: list[str] = []
    try:
        for i, step in enumerate(STEPS, 1):
            print(f"\nStep {i} of {len(STEPS)}, {step}: {GUIDE[step][0]}.")
            if step == "zero":
                go = _ask(ask, "  Enter when it is so (s: skip this step): ")
                ref = None if go == "s" else Reference()
            else:
                ref = _reference(step, ask)
            if ref is None:
                print(f"  {step}: skipped.")
                continue
            try:
                run = run_step(url, profile, ref, step, samples, quiet=False)
            except DeviceError as e:
                print(f"  {step}: not calibrated: {e}")
                failed.append(step)
                continue
            profile = write_calibrated(profile, run, ref, output)
            print_run(run, output, hint=False)
            (done if run.ok else failed).append(step)
    except _Stop:
        print("\nStopped.")
    print(f"\nCalibrated: {', '.join(done) or 'nothing'}"
          + (f"; not calibrated: {', '.join(failed)}" if failed else "")
          + (f". The profile is {output}." if done else "."))  # fmt: skip
    return 0 if done and not failed else 1
