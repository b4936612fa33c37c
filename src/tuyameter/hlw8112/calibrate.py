"""Calibration of an HLW8112 board against a reference (pure arithmetic, no I/O), in the datasheet's
steps (§11), each with its own load on the clamps:

1. **zero** — nothing flows through the clamps: what the current registers still read is the board's
   noise, and RmsIAOS / RmsIBOS take it out (§11.5);
2. **gain** — a steady resistive load (PF 1), the reference meter's volts and, per channel, watts or
   amperes: voltage reads ∝ 1 / K2, so K2' = K2 × shown / reference; current reads ∝ 1 / K1, so
   K1' = K1 × shown / reference; what is left of the power's error once K1 and K2 are right is the
   chip's own, which PAGain / PBGain correct (P × (1 + gain / 2^15)), and PSGain makes the apparent
   power read as the active power does at PF 1 (§11.4, §11.6);
3. **offset** — a small resistive load (about 5 % of the rated current): the power's remaining error
   there is an offset, which PAOS / PBOS take out (§11.4);
4. **phase** — an inductive load (PF 0.5L is the datasheet's; anything up to 0.8 works), the
   reference's watts and power factor: the power's error there is the current sensor's phase shift,
   which PhaseA / PhaseB undo (§11.4).

Each step starts from the calibration the last one left. A correction beyond :data:`MAX_CORRECTION`
is refused: a wrong reference, the wrong clamp or a reversed CT is likelier than a board that far off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import fmean

from tuyameter.hlw8112 import cal_registers as cr

MAX_CORRECTION = 0.25
MIN_WATTS = 50.0  # below this a load's error is lost in the noise and the creep threshold
MIN_AMPS = 0.2
#: the offset step's load: small enough that an offset shows, large enough to be above the creep
OFFSET_WATTS = (5.0, 500.0)
MAX_OFFSET_ERROR = 0.5
#: the phase step's load: below PF 0.3 a power reading is mostly noise, above 0.8 a phase error barely shows
PHASE_PF = (0.3, 0.8)
#: the zero step: what may still flow through a clamp that is meant to carry nothing
ZERO_AMPS = 0.5
STEPS = ("zero", "gain", "offset", "phase")
CHANNELS = ("a", "b")

Readings = list[dict[str, float | bool | None]]


class CalibrationError(ValueError):
    """The readings or the reference cannot give a calibration (the message says why)."""


@dataclass(frozen=True)
class Reference:
    volts: float | None = None
    watts: dict[str, float | None] = field(default_factory=dict)  # per channel "a", "b"
    amps: dict[str, float | None] = field(default_factory=dict)
    #: per channel, the load's power factor and whether its current lags (inductive) or leads
    pf: dict[str, tuple[float, bool] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    """What calibration changes in a profile's ``hlw8112:`` section (register values signed)."""

    k1_a: float
    k1_b: float
    k2: float
    chip: cr.ChipCalibration = field(default_factory=cr.ChipCalibration)

    def k1(self, ch: str) -> float:
        return self.k1_a if ch == "a" else self.k1_b

    def get(self, name: str, ch: str) -> int:
        value: int = getattr(self.chip, name.format(ch=ch))
        return value

    def with_chip(self, **changes: int) -> Calibration:
        return replace(self, chip=replace(self.chip, **changes))

    def fields(self) -> dict[str, float | int]:
        """As a profile's ``hlw8112:`` fields."""
        return {"k1_a": self.k1_a, "k1_b": self.k1_b, "k2": self.k2} | self.chip.values()


@dataclass(frozen=True)
class Outcome:
    calibration: Calibration
    #: what changed and by how much, in words
    notes: list[str]


def mean_of(readings: Readings, name: str, skip_first: bool = False) -> float | None:
    values = [float(v) for r in readings if isinstance(v := r.get(name), int | float) and not isinstance(v, bool)]
    if skip_first and len(values) > 1:
        values = values[1:]  # the datasheet drops the first: it may predate the load's last change
    values = [v for v in values if math.isfinite(v)]  # a reading that is not a number is not a reading
    try:
        mean = fmean(values) if values else None
    except OverflowError:
        return None
    return mean if mean is not None and math.isfinite(mean) else None


def _ratio(shown: float, ref: float, what: str, limit: float = MAX_CORRECTION) -> float:
    if not (math.isfinite(ref) and ref > 0):
        raise CalibrationError(f"{what}: the reference {ref:g} cannot be calibrated against")
    ratio = shown / ref
    if not 1 - limit <= ratio <= 1 + limit:
        raise CalibrationError(
            f"{what} reads {shown:.4g} against the reference {ref:.4g} ({(ratio - 1) * 100:+.1f} %): more than "
            f"{limit:.0%} off. Check the reference, that the load is on this clamp, and the CT's direction"
        )
    return ratio


def _volts(ref: Reference) -> float:
    if ref.volts is None or not 80 <= ref.volts <= 300:
        raise CalibrationError(f"reference voltage {ref.volts} V is not a mains voltage (80–300 V)")
    return ref.volts


def _fit(value: int, lo: int, hi: int, what: str) -> int:
    if not lo <= value <= hi:
        raise CalibrationError(f"{what} would be {value}, beyond the register's {lo}…{hi}: the reading is too far "
                               "off for this correction (is the load what the step asks for?)")  # fmt: skip
    return value


def _gain(old: int, shown: float, ref: float, what: str, register: str) -> int:
    """A gain register (reading × (1 + gain / 2^15)) that makes ``shown``, read with ``old``, read ``ref``."""
    factor = (1 + old / 32768) / _ratio(shown, ref, what)
    return _fit(cr.gain_register(factor), *cr.SIGNED16, register)


def solve_zero(cal: Calibration, readings: Readings) -> Outcome:
    """Step 1: RmsIAOS / RmsIBOS from what the current registers read with nothing flowing."""
    changes: dict[str, int] = {}
    notes = []
    for ch, reg in (("a", "RmsIA"), ("b", "RmsIB")):
        iave = mean_of(readings, f"raw_{reg}", skip_first=True)
        amps = mean_of(readings, f"current_{ch}", skip_first=True)
        if iave is None:
            raise CalibrationError(f"clamp {ch.upper()}: no current was read")
        if amps is not None and amps > ZERO_AMPS:
            raise CalibrationError(f"clamp {ch.upper()} reads {amps:.3f} A: something is switched on. This step "
                                   "needs no current at all through the clamps")  # fmt: skip
        old = cal.get("rms_i{ch}_os", ch)
        try:
            new = old + cr.rms_offset_register(iave)
        except ValueError as e:
            raise CalibrationError(f"clamp {ch.upper()}: {e}; is a current flowing?") from None
        changes[f"rms_i{ch}_os"] = _fit(new, *cr.SIGNED16, f"RmsI{ch.upper()}OS")
        notes.append(f"RmsI{ch.upper()}OS {old} → {new} (RmsI{ch.upper()} read {iave:.0f} counts with no current)")
    return Outcome(cal.with_chip(**changes), notes)


def solve_gain(cal: Calibration, readings: Readings, ref: Reference) -> Outcome:
    """Step 2: K2, K1 per channel, the power gains and the apparent power's, at a resistive load."""
    ref_volts = _volts(ref)
    volts = mean_of(readings, "voltage")
    if volts is None:
        raise CalibrationError("no voltage was read")
    k2 = cal.k2 * _ratio(volts, ref_volts, "the voltage")
    notes = [f"k2 {cal.k2:.5g} → {k2:.5g} (voltage {volts:.2f} V, reference {ref_volts:.2f} V)"]
    k1 = {"a": cal.k1_a, "b": cal.k1_b}
    regs: dict[str, int] = {}
    for ch in CHANNELS:
        watts, amps = ref.watts.get(ch), ref.amps.get(ch)
        if watts is None and amps is None:
            continue
        if watts is not None and abs(watts) < MIN_WATTS:
            raise CalibrationError(f"clamp {ch.upper()}: {watts} W is too small a load to calibrate with "
                                   f"(at least {MIN_WATTS:.0f} W)")  # fmt: skip
        ref_amps = amps if amps is not None else abs(watts or 0.0) / ref_volts
        if ref_amps < MIN_AMPS:
            raise CalibrationError(f"clamp {ch.upper()}: {ref_amps:.3f} A is too small a current to calibrate with")
        shown_amps = mean_of(readings, f"current_{ch}")
        if shown_amps is None:
            raise CalibrationError(f"clamp {ch.upper()}: no current was read")
        k1_new = cal.k1(ch) * _ratio(shown_amps, ref_amps, f"clamp {ch.upper()}'s current")
        notes.append(f"k1_{ch} {cal.k1(ch):.5g} → {k1_new:.5g} (current {shown_amps:.4f} A, reference "
                     f"{ref_amps:.4f} A)")  # fmt: skip
        k1[ch] = k1_new
        scale = (cal.k1(ch) * cal.k2) / (k1_new * k2)  # what the new K alone does to a power reading
        shown_watts = mean_of(readings, f"power_{ch}")
        if watts is None or shown_watts is None:
            continue
        predicted = abs(shown_watts) * scale
        old = cal.get("p{ch}_gain", ch)
        regs[f"p{ch}_gain"] = gain = _gain(
            old, predicted, abs(watts), f"clamp {ch.upper()}'s power", f"P{ch.upper()}Gain"
        )
        notes.append(f"P{ch.upper()}Gain {old} → {gain} (power {abs(shown_watts):.1f} W, {predicted:.1f} W with the "
                     f"new K, reference {abs(watts):.1f} W)")  # fmt: skip
        apparent = mean_of(readings, "apparent_power_a")
        if ch == "a" and apparent:  # PowerS follows channel A: at PF 1 it should read what P does
            s_pred = apparent * scale
            regs["ps_gain"] = _gain(cal.chip.ps_gain, s_pred, abs(watts), "the apparent power", "PSGain")
            notes.append(f"PSGain {cal.chip.ps_gain} → {regs['ps_gain']} (apparent power {apparent:.1f} VA, "
                         f"{s_pred:.1f} with the new K)")  # fmt: skip
    return Outcome(replace(cal.with_chip(**regs), k1_a=k1["a"], k1_b=k1["b"], k2=k2), notes)


def solve_offset(cal: Calibration, readings: Readings, ref: Reference) -> Outcome:
    """Step 3: PAOS / PBOS from the power's error at a small resistive load."""
    changes: dict[str, int] = {}
    notes = []
    for ch in CHANNELS:
        watts = ref.watts.get(ch)
        if watts is None:
            continue
        if not OFFSET_WATTS[0] <= abs(watts) <= OFFSET_WATTS[1]:
            raise CalibrationError(f"clamp {ch.upper()}: the offset step wants a small load, "
                                   f"{OFFSET_WATTS[0]:g}–{OFFSET_WATTS[1]:g} W (about 5 % of the rated "
                                   f"current), not {abs(watts):g} W")  # fmt: skip
        shown = mean_of(readings, f"power_{ch}")
        pa = mean_of(readings, f"raw_Power{'PA' if ch == 'a' else 'PB'}")
        if shown is None or pa is None:
            raise CalibrationError(f"clamp {ch.upper()}: no power was read")
        err = _ratio(abs(shown), abs(watts), f"clamp {ch.upper()}'s power", MAX_OFFSET_ERROR) - 1
        # the datasheet's INT[-(PA × err)] with err taken against the reading, which makes it exact
        old = cal.get("p{ch}_os", ch)
        new = _fit(old + cr.power_offset_register(pa, err / (1 + err)), *cr.SIGNED16, f"P{ch.upper()}OS")
        changes[f"p{ch}_os"] = new
        notes.append(f"P{ch.upper()}OS {old} → {new} (power {abs(shown):.2f} W, reference {abs(watts):.2f} W, "
                     f"{err * 100:+.2f} %)")  # fmt: skip
    if not changes:
        raise CalibrationError("give the reference watts of the small load on at least one clamp")
    return Outcome(cal.with_chip(**changes), notes)


def solve_phase(cal: Calibration, readings: Readings, ref: Reference) -> Outcome:
    """Step 4: PhaseA / PhaseB from the power's error at an inductive (or capacitive) load."""
    hz = mean_of(readings, "frequency") or 50.0
    changes: dict[str, int] = {}
    notes = []
    for ch in CHANNELS:
        watts, pf = ref.watts.get(ch), ref.pf.get(ch)
        if watts is None:
            continue
        if pf is None:
            raise CalibrationError(f"clamp {ch.upper()}: give the load's power factor as the reference shows it")
        factor, lagging = pf
        if abs(watts) < MIN_WATTS:
            raise CalibrationError(f"clamp {ch.upper()}: {watts} W is too small a load to calibrate the phase with "
                                   f"(at least {MIN_WATTS:.0f} W)")  # fmt: skip
        if not PHASE_PF[0] <= factor <= PHASE_PF[1]:
            raise CalibrationError(f"clamp {ch.upper()}: the phase step wants a load of power factor "
                                   f"{PHASE_PF[0]:g}–{PHASE_PF[1]:g} (0.5 is best), not {factor:g}")  # fmt: skip
        shown = mean_of(readings, f"power_{ch}")
        if shown is None:
            raise CalibrationError(f"clamp {ch.upper()}: no power was read")
        err = _ratio(abs(shown), abs(watts), f"clamp {ch.upper()}'s power") - 1
        theta = cr.phase_correction(err, factor, lagging)
        old = cal.get("phase_{ch}", ch)
        try:
            new = cr.phase_register(theta + old * cr.phase_step_degrees(hz), hz)
        except ValueError as e:
            raise CalibrationError(f"clamp {ch.upper()}: {e}") from None
        changes[f"phase_{ch}"] = new
        kind = "L" if lagging else "C"
        notes.append(f"Phase{ch.upper()} {old} → {new} ({theta:+.3f}°: power {abs(shown):.1f} W, reference "
                     f"{abs(watts):.1f} W at PF {factor:g}{kind}, {err * 100:+.2f} %)")  # fmt: skip
    if not changes:
        raise CalibrationError("give the reference watts and power factor of the load on at least one clamp")
    return Outcome(cal.with_chip(**changes), notes)


def solve(step: str, cal: Calibration, readings: Readings, ref: Reference) -> Outcome:
    if step == "zero":
        return solve_zero(cal, readings)
    if step == "gain":
        return solve_gain(cal, readings, ref)
    if step == "offset":
        return solve_offset(cal, readings, ref)
    if step == "phase":
        return solve_phase(cal, readings, ref)
    raise ValueError(f"no calibration step {step!r} ({', '.join(STEPS)})")
