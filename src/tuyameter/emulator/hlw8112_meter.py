"""An HLW8112-based two-clamp meter: the demo's house on clamp A and solar inverter on clamp B, measured
by the emulated chip (hlw8112_chip.py) behind its wires (hlw8112_wire.py).

Clock-free like the other emulators: :meth:`EmulatedHlw8112.sync` is told the real time and moves the
simulated time ``speed`` times faster, feeding the chip the physics in steps of at most a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tuyameter.emulator.factory import local_epoch
from tuyameter.emulator.hlw8112_chip import Hlw8112Chip, Truth
from tuyameter.emulator.hlw8112_wire import Hlw8112Wire
from tuyameter.emulator.physics import Grid, HouseLoad, SolarInverter
from tuyameter.hlw8112.convert import Board

#: the board of profile hlw8112_clamps: two 100 A : 50 mA transformers on 10 Ω (K1 = 5), 1k/1M divider
CLAMPS = Board(k1_a=5.0, k1_b=5.0, k2=1.0)
STEP_S = 1.0


@dataclass
class TrueEnergy:
    """Wh that really flowed, per channel and direction (what the driver's energy is checked against)."""

    wh: dict[str, float] = field(
        default_factory=lambda: {"forward_a": 0.0, "reverse_a": 0.0, "forward_b": 0.0, "reverse_b": 0.0}
    )


class EmulatedHlw8112:
    """``steady``: a constant load instead of the house and the sun (a calibration bench);
    ``board``: the board as it really is (its sensors may differ from what a profile says);
    ``power_error`` … ``power_offset``: the board's and chip's flaws (Hlw8112Chip's fields of those names)."""

    def __init__(self, *, seed: int = 0, speed: float = 1.0, faults: tuple[str, ...] = (), start: str | None = None,
                 board: Board = CLAMPS, steady: Truth | None = None, power_error: dict[str, float] | None = None,
                 apparent_error: float = 0.0, phase_error: dict[str, float] | None = None,
                 rms_offset: dict[str, int] | None = None,
                 power_offset: dict[str, int] | None = None) -> None:  # fmt: skip
        self.speed = speed
        self.steady = steady
        chip = Hlw8112Chip(board=board, power_error=dict(power_error or {}), apparent_error=apparent_error,
                           phase_error=dict(phase_error or {}), rms_offset=dict(rms_offset or {}),
                           power_offset=dict(power_offset or {}))  # fmt: skip
        self.wire = Hlw8112Wire(chip, faults, seed)
        self.house = HouseLoad(random.Random(seed + 1))
        self.solar = SolarInverter(random.Random(seed + 2))
        self.grid = Grid(random.Random(seed + 3))
        self.sim_start = local_epoch(start)
        self.sim_t = self.sim_start
        self._t0: float | None = None
        self.energy = TrueEnergy()
        self.truth = Truth()
        self._step(0.0)

    def sync(self, now: float) -> None:
        """Bring the simulation to real time ``now`` (the chip sees everything up to it)."""
        if self._t0 is None:
            self._t0 = now
        target = self.sim_start + (now - self._t0) * self.speed
        while self.sim_t < target:
            dt = min(STEP_S, target - self.sim_t)
            self._step(dt)

    def _step(self, dt: float) -> None:
        t = self.sim_t + dt
        if self.steady is not None:
            self._flow(self.steady, dt)
            self.sim_t = t
            return
        a = self.house.step(t, dt)
        b = self.solar.step(t, (t % 86400.0) / 3600.0, dt)
        volts, hz = self.grid.voltage(t), self.grid.frequency(t)
        amps_a, amps_b = abs(a.power) / (volts * a.pf), abs(b.power) / (volts * b.pf)
        self._flow(Truth(volts=volts, hz=hz, amps_a=amps_a, amps_b=amps_b, watts_a=a.power, watts_b=b.power), dt)
        self.sim_t = t

    def _flow(self, truth: Truth, dt: float) -> None:
        self.truth = truth
        for ch, p in (("a", truth.watts_a), ("b", truth.watts_b)):
            self.energy.wh[("reverse_" if p < 0 else "forward_") + ch] += abs(p) * dt / 3600.0
        self.wire.advance(dt, truth)


def steady_load(volts: float, watts_a: float, watts_b: float, hz: float = 50.0, *, pf_a: float = 1.0,
                pf_b: float = 1.0) -> Truth:  # fmt: skip
    """Steady loads on both clamps, resistive unless a (lagging) power factor is given: a calibration bench."""
    return Truth(volts=volts, hz=hz, amps_a=abs(watts_a) / (volts * pf_a), amps_b=abs(watts_b) / (volts * pf_b),
                 watts_a=watts_a, watts_b=watts_b)  # fmt: skip
