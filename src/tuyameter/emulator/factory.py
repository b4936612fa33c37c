"""Build emulators from CLI options or ``sim://`` URL parameters (reads the wall clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.quirks import parse_quirks
from tuyameter.util.limits import BAUD_MAX, BAUD_MIN, CLOCK_RATE_MAX

EMULATORS = ("pj1103a",)


@dataclass
class EmulatorSpec:
    name: str = "pj1103a"
    seed: int = 0
    report_rate: int = 10
    quirks: list[str] = field(default_factory=list)
    speed: float = 1.0
    start: str | None = None  # "HH:MM" simulated local time of day; None = now
    version: int = 3
    baud: int = 9600
    working_mode: str = "cooperative"  # or "self" (see Pj1103aEmulator)


def local_epoch(start: str | None, now: dt.datetime | None = None) -> float:
    """Seconds since the epoch on the local wall clock ("naive local"), for the physics."""
    now = now or dt.datetime.now()
    if start:
        try:
            hh, mm = (int(x) for x in start.split(":", 1))
            now = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        except ValueError:
            raise ValueError(f"start must be HH:MM, got {start!r}") from None
    return now.replace(tzinfo=dt.UTC).timestamp()


def build_emulator(spec: EmulatorSpec) -> Pj1103aEmulator:
    if spec.name not in EMULATORS:
        raise ValueError(f"unknown emulator {spec.name!r}; available: {', '.join(EMULATORS)}")
    if not 3 <= spec.report_rate <= 60:
        raise ValueError("report rate must be 3..60 s, as on the device")
    if not 0 < spec.speed <= CLOCK_RATE_MAX:  # also NaN
        raise ValueError(f"speed {spec.speed} is not in (0, {CLOCK_RATE_MAX}]")
    if not BAUD_MIN <= spec.baud <= BAUD_MAX:
        raise ValueError(f"baud {spec.baud} is not in {BAUD_MIN}..{BAUD_MAX}")
    return Pj1103aEmulator(
        seed=spec.seed,
        report_rate=spec.report_rate,
        quirks=parse_quirks(spec.quirks),
        speed=spec.speed,
        sim_start=local_epoch(spec.start),
        version=spec.version,
        working_mode=spec.working_mode,
    )


def spec_from_params(name: str, params: dict[str, list[str]]) -> EmulatorSpec:
    """``sim://pj1103a?seed=1&speed=30&quirk=noise=0.1&report_rate=5&start=06:55``."""
    spec = EmulatorSpec(name=name)
    known = {"seed", "speed", "quirk", "report_rate", "start", "version", "working_mode"}
    for k in params:
        if k not in known:
            raise ValueError(f"unknown sim parameter {k!r}; known: {', '.join(sorted(known))}")

    def one(key: str) -> str | None:
        vals = params.get(key)
        return vals[-1] if vals else None

    try:
        if (v := one("seed")) is not None:
            spec.seed = int(v)
        if (v := one("speed")) is not None:
            spec.speed = float(v)
        if (v := one("report_rate")) is not None:
            spec.report_rate = int(v)
        if (v := one("version")) is not None:
            spec.version = int(v)
    except ValueError as e:
        raise ValueError(f"bad sim parameter: {e}") from None
    spec.start = one("start")
    spec.working_mode = one("working_mode") or spec.working_mode
    spec.quirks = list(params.get("quirk", []))
    return spec
