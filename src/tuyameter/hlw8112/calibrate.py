"""Calibration of an HLW8112 board against a reference (pure arithmetic, no I/O).

With a steady load on the clamps and a reference's figures (a reference meter's volts and, per
channel, watts or amperes; a resistive load's watts are its amperes × volts):

- voltage reads ∝ 1 / K2: K2' = K2 × shown / reference;
- current reads ∝ 1 / K1: K1' = K1 × shown / reference (the reference current of a resistive load
  is its watts ÷ the reference volts);
- power reads ∝ 1 / (K1 K2), and what is left once K1 and K2 are right is the chip's own power
  error, which its gain register corrects: PxGain' such that (1 + PxGain' / 2^15) =
  (1 + PxGain / 2^15) × reference / power predicted with K1' and K2'.

A correction beyond :data:`MAX_CORRECTION` is refused: a wrong reference, the wrong clamp or a
reversed CT is likelier than a sensor that far off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean

MAX_CORRECTION = 0.25
MIN_WATTS = 50.0  # below this a load's error is lost in the noise and the creep threshold
MIN_AMPS = 0.2


class CalibrationError(ValueError):
    """The readings or the reference cannot give a calibration (the message says why)."""


@dataclass(frozen=True)
class Reference:
    volts: float
    watts: dict[str, float | None] = field(default_factory=dict)  # per channel "a", "b"
    amps: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    """What calibration changes in a profile's ``hlw8112:`` section."""

    k1_a: float
    k1_b: float
    k2: float
    pa_gain: int = 0
    pb_gain: int = 0

    def k1(self, ch: str) -> float:
        return self.k1_a if ch == "a" else self.k1_b

    def gain(self, ch: str) -> int:
        return self.pa_gain if ch == "a" else self.pb_gain


@dataclass(frozen=True)
class Outcome:
    board: Board
    #: what changed and by how much, in words
    notes: list[str]


def mean_of(readings: list[dict[str, float | bool | None]], name: str) -> float | None:
    values = [float(v) for r in readings if isinstance(v := r.get(name), int | float) and not isinstance(v, bool)]
    return fmean(values) if values else None


def _ratio(shown: float, ref: float, what: str) -> float:
    ratio = shown / ref
    if not 1 - MAX_CORRECTION <= ratio <= 1 + MAX_CORRECTION:
        raise CalibrationError(
            f"{what} reads {shown:.4g} against the reference {ref:.4g} ({(ratio - 1) * 100:+.1f} %): more than "
            f"{MAX_CORRECTION:.0%} off. Check the reference, that the load is on this clamp, and the CT's direction"
        )
    return ratio


def solve(board: Board, readings: list[dict[str, float | bool | None]], ref: Reference) -> Outcome:
    """The calibrated board from readings taken with ``board`` while the reference load ran."""
    if not 80 <= ref.volts <= 300:
        raise CalibrationError(f"reference voltage {ref.volts} V is not a mains voltage (80–300 V)")
    volts = mean_of(readings, "voltage")
    if volts is None:
        raise CalibrationError("no voltage was read")
    k2 = board.k2 * _ratio(volts, ref.volts, "the voltage")
    notes = [f"k2 {board.k2:.5g} → {k2:.5g} (voltage {volts:.2f} V, reference {ref.volts:.2f} V)"]
    k1 = {"a": board.k1_a, "b": board.k1_b}
    gains = {"a": board.pa_gain, "b": board.pb_gain}
    for ch in ("a", "b"):
        watts, amps = ref.watts.get(ch), ref.amps.get(ch)
        if watts is None and amps is None:
            continue
        if watts is not None and abs(watts) < MIN_WATTS:
            raise CalibrationError(f"clamp {ch.upper()}: {watts} W is too small a load to calibrate with "
                                   f"(at least {MIN_WATTS:.0f} W)")  # fmt: skip
        ref_amps = amps if amps is not None else abs(watts or 0.0) / ref.volts
        if ref_amps < MIN_AMPS:
            raise CalibrationError(f"clamp {ch.upper()}: {ref_amps:.3f} A is too small a current to calibrate with")
        shown_amps = mean_of(readings, f"current_{ch}")
        if shown_amps is None:
            raise CalibrationError(f"clamp {ch.upper()}: no current was read")
        k1_new = board.k1(ch) * _ratio(shown_amps, ref_amps, f"clamp {ch.upper()}'s current")
        notes.append(f"k1_{ch} {board.k1(ch):.5g} → {k1_new:.5g} (current {shown_amps:.4f} A, reference "
                     f"{ref_amps:.4f} A)")  # fmt: skip
        k1[ch] = k1_new
        shown_watts = mean_of(readings, f"power_{ch}")
        if watts is not None and shown_watts is not None:
            predicted = abs(shown_watts) * (board.k1(ch) * board.k2) / (k1_new * k2)
            m = (1 + board.gain(ch) / 32768) / _ratio(predicted, abs(watts), f"clamp {ch.upper()}'s power")
            gains[ch] = max(-32768, min(32767, round((m - 1) * 32768)))
            notes.append(f"P{ch.upper()}Gain {board.gain(ch)} → {gains[ch]} (power {abs(shown_watts):.1f} W, "
                         f"{predicted:.1f} W with the new K, reference {abs(watts):.1f} W)")  # fmt: skip
    return Outcome(Board(k1["a"], k1["b"], k2, gains["a"], gains["b"]), notes)
