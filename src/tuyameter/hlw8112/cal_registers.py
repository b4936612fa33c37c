"""The datasheet's calibration formulas (HLW8110/HLW8112 user manual Rev 1.15, §9.1 and §11), as
numbers in and register values out. Signed registers are returned as signed ints; the session writes
them as two's complement (registers.from_signed).

- gains (PAGain, PBGain, PSGain; §11.4, §11.6): the reading is multiplied by ``1 + gain / 2^15``; the
  datasheet takes INT[x × 2^15] for x ≥ 0 and INT[2^16 + x × 2^15] for x < 0, i.e. the floor;
- phase (PhaseA/B, §9.1.7, §11.4): 8-bit two's complement, one step is one period of the 894.9 kHz
  clock (1.12 µs: 0.0201° at 50 Hz, 0.0241° at 60 Hz), range −128…127;
- active power offset (PAOS/PBOS, §11.4): PAOS = INT[−(PA × err)], PA the mean PowerPA register at a
  small load (5 % Ib, PF 1) and err the reference's error there;
- current RMS offset (RmsIAOS/RmsIBOS, §11.5): with no current, the mean RmsIx register negated, in
  16 bits (the sign into bit 15).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from tuyameter.hlw8112.registers import BY_NAME, from_signed

DELAY_CLOCK_HZ = 3579545 / 4  # one PhaseA/B step delays by one period of this clock
PHASE_STEPS = (-128, 127)
SIGNED16 = (-32768, 32767)


def gain_register(factor: float) -> int:
    """The gain register value that multiplies a reading by ``factor`` (datasheet INT: the floor)."""
    return math.floor((factor - 1.0) * 32768)


def gain_from_error(err: float) -> int:
    """PAGain from the reference's error at 100 % Ib, PF 1 (err 0.012 for a meter reading 1.2 % high)."""
    return gain_register(1.0 / (1.0 + err))


def phase_step_degrees(hz: float) -> float:
    """The phase one PhaseA/B step shifts by at the mains frequency ``hz``."""
    return 360.0 * hz / DELAY_CLOCK_HZ


def phase_correction(err: float, pf: float = 0.5, lagging: bool = True) -> float:
    """Degrees to add to PhaseA/B when active power reads ``err`` off (0.01: 1 % high) on a load of power
    factor ``pf``: the datasheet's θ = arccos((err + 1) / 2) − 60° at PF 0.5L, for any power factor."""
    phi = math.degrees(math.acos(pf))
    shown = min(1.0, max(-1.0, (1.0 + err) * pf))
    delta = math.degrees(math.acos(shown)) - phi
    return delta if lagging else -delta


def phase_register(theta: float, hz: float = 50.0) -> int:
    """PhaseA/B for a correction of ``theta`` degrees (nearest step; ValueError beyond the range)."""
    steps = round(theta / phase_step_degrees(hz))
    if not PHASE_STEPS[0] <= steps <= PHASE_STEPS[1]:
        lim = PHASE_STEPS[1] * phase_step_degrees(hz)
        raise ValueError(
            f"a phase correction of {theta:+.3f}° is beyond what the chip can do (±{lim:.2f}° at {hz:g} Hz)"
        )
    return steps


def power_offset_register(pa: float, err: float) -> int:
    """PAOS/PBOS from the mean PowerPx register ``pa`` and the reference's error ``err`` at a small load."""
    return int(-(pa * err))


def rms_offset_register(iave: float) -> int:
    """RmsIAOS/RmsIBOS from the mean RmsIx register with no current (ValueError when it does not fit)."""
    value = -round(iave)
    if not SIGNED16[0] <= value <= SIGNED16[1]:
        raise ValueError(f"an RMS offset of {iave:.0f} counts is more than the register holds (±32767)")
    return value


def apparent_gain_register(power_p: float, power_s: float) -> int:
    """PSGain from PowerPA and PowerS read at PF 1 (§11.6): S made to read as P does."""
    return gain_register(1.0 + (power_p - power_s) / power_s)


@dataclass(frozen=True)
class ChipCalibration:
    """The calibration the chip applies itself, as signed register values (a profile's ``hlw8112:``
    fields of the same names; the session writes them at every setup)."""

    pa_gain: int = 0
    pb_gain: int = 0
    ps_gain: int = 0
    phase_a: int = 0
    phase_b: int = 0
    pa_os: int = 0
    pb_os: int = 0
    rms_ia_os: int = 0
    rms_ib_os: int = 0

    def writes(self) -> list[tuple[str, int]]:
        """(register, the value to write) for each."""
        return [(name, from_signed(getattr(self, attr), BY_NAME[name].size)) for name, attr in REGISTER_OF]

    def values(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of(cls, source: object) -> ChipCalibration:
        """The same-named fields of ``source`` (a profile's settings)."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls)})


#: each calibration register and the ChipCalibration field it comes from
REGISTER_OF = (("PAGain", "pa_gain"), ("PBGain", "pb_gain"), ("PSGain", "ps_gain"), ("PhaseA", "phase_a"),
               ("PhaseB", "phase_b"), ("PAOS", "pa_os"), ("PBOS", "pb_os"), ("RmsIAOS", "rms_ia_os"),
               ("RmsIBOS", "rms_ib_os"))  # fmt: skip
