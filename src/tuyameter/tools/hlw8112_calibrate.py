"""``tuyameter calibrate`` — an HLW8112 board against a reference, then checked by reading again.

Readings are taken with the profile's board while a steady load runs; the solver
(hlw8112/calibrate.py) gives new K1, K2 and power gains; the chip is set up again with them (the
gains written to PAGain / PBGain and read back by the session) and read again, and the errors
against the reference are what the result reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tuyameter.hlw8112.calibrate import Board, CalibrationError, Outcome, Reference, mean_of, solve
from tuyameter.hlw8112.session import ChipConfig, ChipFailed, ChipReading, ChipSession, Event
from tuyameter.profiles.model import Profile
from tuyameter.sources.hlw8112.bus import BusError, open_bus
from tuyameter.sources.hlw8112.drive import drive
from tuyameter.sources.hlw8112.source import chip_config

#: the check after calibration passes when every figure is within this of the reference
GOOD = 0.005


@dataclass
class CalibrationRun:
    outcome: Outcome
    #: figure → (read after calibration, reference, relative error)
    after: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(abs(e) <= GOOD for _, _, e in self.after.values())

    def json(self) -> dict[str, object]:
        b = self.outcome.board
        after = {k: {"read": v[0], "reference": v[1], "error": v[2]} for k, v in self.after.items()}
        board = {"k1_a": b.k1_a, "k1_b": b.k1_b, "k2": b.k2, "pa_gain": b.pa_gain, "pb_gain": b.pb_gain}
        return {"ok": self.ok, "board": board, "notes": self.outcome.notes, "after": after}


async def collect(url: str, config: ChipConfig, samples: int, timeout: float,
                  progress: Callable[[str], None]) -> list[dict[str, float | bool | None]]:  # fmt: skip
    """``samples`` readings of the chip set up with ``config`` (CalibrationError if it fails)."""
    try:
        bus = await open_bus(url)
    except BusError as e:
        raise CalibrationError(f"cannot open the bus: {e}") from None
    readings: list[dict[str, float | bool | None]] = []
    failed: list[str] = []

    def handle(e: Event) -> bool:
        if isinstance(e, ChipFailed):
            failed.append(e.reason)
            return True
        if isinstance(e, ChipReading):
            readings.append(e.values)
            progress(f"reading {len(readings)}/{samples}: {e.values.get('voltage')} V, A {e.values.get('power_a')} W, "
                     f"B {e.values.get('power_b')} W")  # fmt: skip
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


def _config(base: ChipConfig, b: Board) -> ChipConfig:
    board = replace(base.board, k1_a=b.k1_a, k1_b=b.k1_b, k2=b.k2)
    return replace(base, board=board, pa_gain=b.pa_gain, pb_gain=b.pb_gain)


async def calibrate(url: str, profile: Profile, ref: Reference, *, samples: int = 10, timeout: float = 120.0,
                    progress: Callable[[str], None] = lambda s: None) -> CalibrationRun:  # fmt: skip
    base = chip_config(profile)
    settings = profile.hlw8112
    assert settings is not None
    before = Board(settings.k1_a, settings.k1_b, settings.k2, settings.pa_gain, settings.pb_gain)
    progress(f"reading {samples} times with the profile's board (K1 {before.k1_a:g}/{before.k1_b:g}, K2 {before.k2:g})")
    readings = await collect(url, _config(base, before), samples, timeout, progress)
    outcome = solve(before, readings, ref)
    progress("checking: the chip set up with the new figures, read again")
    again = await collect(url, _config(base, outcome.board), samples, timeout, progress)
    run = CalibrationRun(outcome)
    figures: list[tuple[str, float | None]] = [("voltage", ref.volts)]
    for ch in ("a", "b"):
        amps, watts = ref.amps.get(ch), ref.watts.get(ch)
        if amps is None and watts is not None:
            amps = abs(watts) / ref.volts
        figures += [(f"current_{ch}", amps), (f"power_{ch}", abs(watts) if watts is not None else None)]
    for name, want in figures:
        got = mean_of(again, name)
        if want is not None and got is not None:
            got = abs(got)
            run.after[name] = (round(got, 4), round(want, 4), (got - want) / want)
    return run
