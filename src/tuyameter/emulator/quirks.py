"""Switchable misbehaviours of real PJ-1103A meters, for the emulator."""

from __future__ import annotations

from dataclasses import dataclass

#: name → (default parameter, what the parameter means)
QUIRKS: dict[str, tuple[float, str]] = {
    "late-direction": (1.0, "direction DP describes the previous cycle (no parameter)"),
    "counter-reset": (900.0, "per-channel counters restart at 0 at each power cycle; "
                      "mean simulated seconds between power cycles when 'reboot' is off"),
    "lone-zero": (0.05, "probability per channel and cycle of one zero power/current reading"),
    "noise": (0.02, "probability per frame of garbage bytes or a bad checksum"),
    "reboot": (600.0, "mean simulated seconds between MCU restarts"),
    "hostile": (0.2, "probability per report cycle of one hostile injection (absurd values, counter "
                "spikes, wrong DP types, nested JSON, cut frames, garbage, unknown DPs)"),
}  # fmt: skip


@dataclass(frozen=True)
class Quirks:
    late_direction: bool = False
    counter_reset: float | None = None
    lone_zero: float = 0.0
    noise: float = 0.0
    reboot: float | None = None
    hostile: float = 0.0

    @property
    def names(self) -> list[str]:
        out = []
        if self.late_direction:
            out.append("late-direction")
        if self.counter_reset is not None:
            out.append("counter-reset")
        if self.lone_zero:
            out.append("lone-zero")
        if self.noise:
            out.append("noise")
        if self.reboot is not None:
            out.append("reboot")
        if self.hostile:
            out.append("hostile")
        return out


def parse_quirks(items: list[str]) -> Quirks:
    """``["late-direction", "noise=0.1"]`` → :class:`Quirks`. Raises ValueError with the choices."""
    values: dict[str, float] = {}
    for item in items:
        name, _, param = item.partition("=")
        name = name.strip().lower().replace("_", "-")
        if name not in QUIRKS:
            raise ValueError(f"unknown quirk {name!r}; choose from {', '.join(QUIRKS)}")
        default, _ = QUIRKS[name]
        try:
            v = float(param) if param else default
        except ValueError:
            raise ValueError(f"quirk {name}: {param!r} is not a number") from None
        if v < 0 or (name in ("lone-zero", "noise", "hostile") and v > 1):
            raise ValueError(f"quirk {name}: {v} is out of range")
        if name in ("counter-reset", "reboot") and v <= 0:
            raise ValueError(f"quirk {name}: the interval must be positive")
        values[name] = v
    return Quirks(
        late_direction="late-direction" in values,
        counter_reset=values.get("counter-reset"),
        lone_zero=values.get("lone-zero", 0.0),
        noise=values.get("noise", 0.0),
        reboot=values.get("reboot"),
        hostile=values.get("hostile", 0.0),
    )
