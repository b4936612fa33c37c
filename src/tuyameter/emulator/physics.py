"""What the clamps see: a house load on A and a solar inverter on B.

All functions are deterministic given a seeded RNG and the simulated time; no
clock is read here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

SUNRISE_H = 6.5
SUNSET_H = 19.5


@dataclass
class ChannelSample:
    """Instantaneous truth for one clamp: signed power (W), power factor."""

    power: float  # consumption positive, export negative
    pf: float


@dataclass
class Appliance:
    name: str
    watts: float
    pf: float
    until: float  # simulated epoch seconds


@dataclass
class HouseLoad:
    """Base load plus appliances that switch on at random (Poisson) times."""

    rng: random.Random
    base: float = 180.0
    running: list[Appliance] = field(default_factory=list)
    _catalogue: tuple[tuple[str, float, float, float], ...] = (
        # name, watts, power factor, mean minutes on
        ("kettle", 2000.0, 0.99, 3.0),
        ("fridge", 120.0, 0.75, 12.0),
        ("washing machine", 500.0, 0.85, 40.0),
        ("oven", 1800.0, 0.98, 25.0),
        ("tv", 90.0, 0.6, 60.0),
    )

    def step(self, t: float, dt: float) -> ChannelSample:
        self.running = [a for a in self.running if a.until > t]
        # About one appliance start every 6 simulated minutes.
        if dt > 0 and self.rng.random() < 1 - math.exp(-dt / 360.0):
            name, watts, pf, minutes = self.rng.choice(self._catalogue)
            if all(a.name != name for a in self.running):
                dur = self.rng.expovariate(1.0 / (minutes * 60.0))
                self.running.append(Appliance(name, watts * self.rng.uniform(0.9, 1.1), pf, t + dur))
        watts = self.base * (1 + 0.05 * math.sin(t / 97.0)) + sum(a.watts for a in self.running)
        watts *= 1 + self.rng.gauss(0, 0.005)
        pf_weighted = (self.base * 0.9 + sum(a.watts * a.pf for a in self.running)) / max(watts, 1.0)
        return ChannelSample(max(watts, 0.0), min(max(pf_weighted, 0.3), 1.0))


@dataclass
class SolarInverter:
    """Exports by day (negative power), draws a few watts of standby at night."""

    rng: random.Random
    peak: float = 3000.0
    standby: float = 8.0
    _cloud: float = 1.0

    def step(self, t: float, local_hour: float, dt: float) -> ChannelSample:
        if SUNRISE_H < local_hour < SUNSET_H:
            x = (local_hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H)
            # Slowly wandering clouds between 30 % and 100 % of clear sky.
            self._cloud += self.rng.gauss(0, 0.02 * math.sqrt(max(dt, 0.0)))
            self._cloud = min(1.0, max(0.3, self._cloud))
            produced = self.peak * math.sin(math.pi * x) * self._cloud
            if produced > self.standby:
                return ChannelSample(-produced, 0.99)
        return ChannelSample(self.standby * self.rng.uniform(0.8, 1.2), 0.35)


@dataclass
class Grid:
    rng: random.Random

    def voltage(self, t: float) -> float:
        return 230.0 + 3.0 * math.sin(t / 1800.0) + self.rng.gauss(0, 0.4)

    def frequency(self, t: float) -> float:
        return 50.0 + 0.02 * math.sin(t / 300.0) + self.rng.gauss(0, 0.005)
