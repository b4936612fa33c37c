"""``tuyameter calibrate`` — one step of an HLW8112 board's calibration (hlw8112/calibrate.py) against a
reference, then checked by reading again.

Readings are taken with the profile's calibration while the step's load runs; the solver gives the
new figures; the chip is set up again with them (its registers written and read back by the session)
and read again, and the errors against the reference are what the result reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tuyameter.hlw8112.cal_registers import ChipCalibration
from tuyameter.hlw8112.calibrate import Calibration, CalibrationError, Outcome, Readings, Reference, mean_of, solve
from tuyameter.hlw8112.session import ChipConfig, ChipFailed, ChipReading, ChipSession, Event
from tuyameter.profiles.model import Profile
from tuyameter.sources.hlw8112.bus import BusError, open_bus
from tuyameter.sources.hlw8112.drive import drive
from tuyameter.sources.hlw8112.source import chip_config

#: the check after calibration passes when every figure is within this of the reference
GOOD = 0.005
#: ... and, after the zero step, when a clamp with nothing through it reads at most this
GOOD_ZERO_AMPS = 0.001


@dataclass(frozen=True)
class Check:
    read: float
    reference: float
    error: float  # relative; after the zero step, amperes
    ok: bool


@dataclass
class CalibrationRun:
    step: str
    outcome: Outcome
    after: dict[str, Check] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.after.values())

    def json(self) -> dict[str, object]:
        return {"step": self.step, "ok": self.ok, "calibration": self.outcome.calibration.fields(),
                "notes": self.outcome.notes, "after": {k: c.__dict__ for k, c in self.after.items()}}  # fmt: skip


async def collect(url: str, config: ChipConfig, samples: int, timeout: float,
                  progress: Callable[[str], None]) -> Readings:  # fmt: skip
    """``samples`` readings of the chip set up with ``config`` (CalibrationError if it fails), each with
    its registers as read under ``raw_NAME``."""
    try:
        bus = await open_bus(url)
    except BusError as e:
        raise CalibrationError(f"cannot open the bus: {e}") from None
    readings: Readings = []
    failed: list[str] = []

    def handle(e: Event) -> bool:
        if isinstance(e, ChipFailed):
            failed.append(e.reason)
            return True
        if isinstance(e, ChipReading):
            readings.append(e.values | {f"raw_{k}": v for k, v in e.raw.items()})
            v = e.values
            progress(f"reading {len(readings)}/{samples}: {v.get('voltage')} V, A {v.get('current_a')} A "
                     f"{v.get('power_a')} W, B {v.get('current_b')} A {v.get('power_b')} W")  # fmt: skip
        return len(readings) >= samples

    try:
        await asyncio.wait_for(drive(bus, ChipSession(config, spi=bus.spi), handle), timeout)
    except TimeoutError:
        raise CalibrationError(f"only {len(readings)} of {samples} readings in {timeout:.0f} s") from None
    finally:
        await bus.close()
    if failed:
        raise CalibrationError(f"the chip does not answer as it should: {failed[0]} (run tuyameter probe)")
    return readings


def configured(base: ChipConfig, cal: Calibration) -> ChipConfig:
    """The chip's set-up with a calibration in place of the profile's."""
    board = replace(base.board, k1_a=cal.k1_a, k1_b=cal.k1_b, k2=cal.k2)
    return replace(base, board=board, calibration=cal.chip)


def of_profile(profile: Profile) -> Calibration:
    s = profile.hlw8112
    if s is None:
        raise CalibrationError(f"profile {profile.name!r} has no hlw8112: section (the board)")
    return Calibration(s.k1_a, s.k1_b, s.k2, ChipCalibration.of(s))


def _checks(step: str, ref: Reference, again: Readings) -> dict[str, Check]:
    out: dict[str, Check] = {}
    if step == "zero":
        for ch in ("a", "b"):
            got = mean_of(again, f"current_{ch}", skip_first=True)
            if got is not None:
                out[f"current_{ch}"] = Check(round(got, 4), 0.0, got, abs(got) <= GOOD_ZERO_AMPS)
        return out
    figures: list[tuple[str, float | None]] = [("voltage", ref.volts)] if step == "gain" else []
    for ch in ("a", "b"):
        amps, watts = ref.amps.get(ch), ref.watts.get(ch)
        if step == "gain":
            if amps is None and watts is not None and ref.volts:
                amps = abs(watts) / ref.volts
            figures.append((f"current_{ch}", amps))
        figures.append((f"power_{ch}", abs(watts) if watts is not None else None))
    for name, want in figures:
        got = mean_of(again, name)
        if want is not None and got is not None:
            err = (abs(got) - want) / want
            out[name] = Check(round(abs(got), 4), round(want, 4), err, abs(err) <= GOOD)
    return out


async def calibrate(url: str, profile: Profile, ref: Reference, *, step: str = "gain", samples: int = 10,
                    timeout: float = 120.0,
                    progress: Callable[[str], None] = lambda s: None) -> CalibrationRun:  # fmt: skip
    base = chip_config(profile)
    before = of_profile(profile)
    progress(f"{step} step: reading {samples} times with the profile's calibration (K1 {before.k1_a:g}/"
             f"{before.k1_b:g}, K2 {before.k2:g})")  # fmt: skip
    readings = await collect(url, configured(base, before), samples, timeout, progress)
    outcome = solve(step, before, readings, ref)
    progress("checking: the chip set up with the new figures, read again")
    again = await collect(url, configured(base, outcome.calibration), samples, timeout, progress)
    return CalibrationRun(step, outcome, _checks(step, ref, again))
