"""A register-accurate HLW8112: what the chip holds and does, whatever the wire (hlw8112_wire.py).

- reset defaults, write protection (0xE5 / 0xDC), the special commands, reset (registers back to
  their defaults, SysStatus RST set, nothing answered for 60 ms);
- RData / WData (the last read and written data), clear-on-read registers (energy unless
  EMUCON2 EPA_CB / EPB_CB, peaks, IF / RIF, SysStatus RST);
- the coefficient checksum and EMUStatus (the checksum of 0x00–0x1F, REVPA/REVPB, the channel);
- measurements from the truth it is given (volts, amperes, signed watts per channel): the
  register values the datasheet's formulas turn back into that truth, with the board's K1 / K2
  and the PGA gains SYSCON sets; a channel whose ADC is off reads 0; channel B reads nothing
  unless EMUCON2 CHS_IB selects current for it; the power factor only with PfactorEN, the frequency
  only with WaveEN and ZxEN, peaks only with WaveEN and PeakEN (DS §9.1.3);
- energy pulses accumulated from |P| at HFConst (24 bits, wrapping), with the creep threshold
  PStartPA/PB, counted only while EMUCON PARUN / PBRUN run;
- a real board's errors and the chip's corrections of them (datasheet §9.1, §11): a current sensor
  that leads by ``phase_error`` degrees, corrected by PhaseA/B (one step: a period of MCLK/4);
  power and RMS offsets in register counts, corrected by PAOS/PBOS and RmsIAOS/RmsIBOS (added to the
  register; an RMS result below zero sets bit 23); the power path's gain error, corrected by
  PAGain/PBGain, and the apparent power's, by PSGain.

Clock-free: the caller advances it with :meth:`Hlw8112Chip.advance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.cal_registers import phase_step_degrees
from tuyameter.hlw8112.convert import MCLK_FREQ, SAMPLE, Board, Coefficients
from tuyameter.hlw8112.registers import BY_ADDR, BY_NAME, COEFFICIENTS, coeff_checksum, emustatus_checksum, pga_gain


@dataclass
class Truth:
    """What the chip measures at one moment."""

    volts: float = 230.0
    hz: float = 50.0
    amps_a: float = 0.0
    amps_b: float = 0.0
    watts_a: float = 0.0  # signed: export is negative
    watts_b: float = 0.0
    #: the load's current leads the voltage (capacitive); otherwise it lags (inductive) or is in phase
    leading_a: bool = False
    leading_b: bool = False

    def angle(self, ch: str) -> float:
        """The load's phase angle in degrees (positive: current lags), from its watts and volt-amperes."""
        amps, watts = (self.amps_a, self.watts_a) if ch == "a" else (self.amps_b, self.watts_b)
        va = self.volts * amps
        phi = math.degrees(math.acos(min(1.0, abs(watts) / va))) if va > 0 else 0.0
        return -phi if (self.leading_a if ch == "a" else self.leading_b) else phi


@dataclass
class Hlw8112Chip:
    #: the board's real sensors (K1 per channel, K2) — the PGA gains come from SYSCON as configured
    board: Board = field(default_factory=Board)
    coefficients: Coefficients = SAMPLE
    regs: dict[int, int] = field(default_factory=dict)
    wren: bool = False
    channel_b: bool = False  # the channel PowerS, PF and Angle follow
    busy_until: float = 0.0  # after a reset: deaf for 60 ms
    now: float = 0.0
    truth: Truth = field(default_factory=Truth)
    pulses: dict[str, float] = field(default_factory=lambda: {"a": 0.0, "b": 0.0})
    #: per channel, how far this chip's active power reads off its factory coefficient (0.01: 1 % high)
    power_error: dict[str, float] = field(default_factory=dict)
    #: how far the apparent power reads off its coefficient (0.01: 1 % high)
    apparent_error: float = 0.0
    #: per channel, degrees by which the current sensor's output leads its primary current
    phase_error: dict[str, float] = field(default_factory=dict)
    #: per channel, register counts the board's noise adds to RmsIx and to PowerPx
    rms_offset: dict[str, int] = field(default_factory=dict)
    power_offset: dict[str, int] = field(default_factory=dict)
    resets: int = 0
    reads: int = 0
    writes_refused: int = 0

    def __post_init__(self) -> None:
        self.power_on()

    # -- state ------------------------------------------------------------------------------

    def power_on(self) -> None:
        """Power-on or the reset command: every register back to its default, energy to 0."""
        self.regs = {reg.addr: reg.reset for reg in r.REGISTERS if reg.reset is not None}
        for reg, c in zip(COEFFICIENTS, self.coefficients.values(), strict=True):
            self.regs[reg.addr] = c
        self.regs[BY_NAME["Coeff_chksum"].addr] = coeff_checksum(self.coefficients.values())
        self.regs[BY_NAME["SysStatus"].addr] = r.SYSSTATUS_RST
        self.wren, self.channel_b = False, False
        self.pulses = {"a": 0.0, "b": 0.0}
        self.regs[BY_NAME["Energy_PA"].addr] = self.regs[BY_NAME["Energy_PB"].addr] = 0
        self._measure()

    def ready(self) -> bool:
        return self.now >= self.busy_until

    def reg(self, name: str) -> int:
        return self.regs.get(BY_NAME[name].addr, 0)

    # -- what the wire asks -----------------------------------------------------------------

    def read(self, addr: int) -> int:
        """A register read as the chip does it: RData follows, clear-on-read registers clear."""
        reg = BY_ADDR.get(addr)
        if reg is None:
            return 0
        self.reads += 1
        if reg.name == "EMUStatus":
            value = self._emustatus()
        elif reg.name == "SysStatus":
            value = (self.regs.get(addr, 0) & ~r.SYSSTATUS_WREN) | (r.SYSSTATUS_WREN if self.wren else 0)
        else:
            value = self.regs.get(addr, 0)
        self.regs[BY_NAME["RData"].addr] = value & 0xFFFFFFFF
        if reg.clear_on_read and not self._keeps(reg.name):
            self.regs[addr] = 0
            if reg.name in ("Energy_PA", "Energy_PB"):
                self.pulses["a" if reg.name == "Energy_PA" else "b"] %= 1.0  # the fraction stays
        if reg.name == "SysStatus":
            self.regs[addr] = self.regs.get(addr, 0) & ~r.SYSSTATUS_RST
        if reg.name == "RIF":  # reading RIF clears IF as well
            self.regs[BY_NAME["IF"].addr] = 0
        return value & reg.mask

    def write(self, addr: int, value: int) -> bool:
        """A register write: WData takes the data; the register only when it may be written now."""
        self.regs[BY_NAME["WData"].addr] = value & 0xFFFF
        reg = BY_ADDR.get(addr)
        if reg is None or not reg.writable or (reg.protected and not self.wren):
            self.writes_refused += 1
            return False
        self.regs[addr] = value & reg.mask
        self._measure()
        return True

    def command(self, cmd: int) -> None:
        if cmd == r.WRITE_ENABLE:
            self.wren = True
        elif cmd == r.WRITE_PROTECT:
            self.wren = False
        elif cmd == r.CHANNEL_A:
            self.channel_b = False
        elif cmd == r.CHANNEL_B:
            self.channel_b = True
        elif cmd == r.RESET:
            self.resets += 1
            self.power_on()
            self.busy_until = self.now + r.RESET_WAIT_S
        self._measure()

    # -- time and measurement ---------------------------------------------------------------

    def advance(self, dt: float, truth: Truth | None = None) -> None:
        """``dt`` seconds pass with ``truth`` measured (the last one when None): energy accumulates."""
        if truth is not None:
            self.truth = truth
        if dt > 0:
            for ch, run_bit in (("a", r.EMUCON_PARUN), ("b", r.EMUCON_PBRUN)):
                if self.reg("EMUCON") & run_bit:
                    self._accumulate(ch, dt)
        self.now += max(dt, 0.0)
        self._measure()

    def _accumulate(self, ch: str, dt: float) -> None:
        raw = self._power_raw(ch)
        if abs(raw) >> 8 < self.reg("PStartPA" if ch == "a" else "PStartPB"):
            return  # below the creep threshold
        coeff = self.coefficients.power_pa if ch == "a" else self.coefficients.power_pb
        watts = abs(raw) * coeff / (self._k1(ch) * self._k2() * 2**31)  # what the chip measures, integrated
        kwh = watts * dt / 3.6e6
        coeff = self.coefficients.energy_a if ch == "a" else self.coefficients.energy_b
        hf = self.reg("HFConst") or 1
        per_kwh = self._k1(ch) * self._k2() * 2**29 * 4096 / (coeff * hf)
        self.pulses[ch] += kwh * per_kwh
        name = "Energy_PA" if ch == "a" else "Energy_PB"
        self.regs[BY_NAME[name].addr] = int(self.pulses[ch]) & 0xFFFFFF

    def _keeps(self, name: str) -> bool:
        emucon2 = self.reg("EMUCON2")
        if name == "Energy_PA":
            return bool(emucon2 & r.EMUCON2_EPA_CB)
        if name == "Energy_PB":
            return bool(emucon2 & r.EMUCON2_EPB_CB)
        return False

    def _k1(self, ch: str) -> float:
        syscon = self.reg("SYSCON")
        gain = pga_gain(syscon & 0b111) if ch == "a" else pga_gain((syscon >> 6) & 0b111)
        return (self.board.k1_a if ch == "a" else self.board.k1_b) * gain / 16.0

    def _k2(self) -> float:
        return self.board.k2 * pga_gain((self.reg("SYSCON") >> 3) & 0b111)

    def _on(self, ch: str) -> bool:
        syscon = self.reg("SYSCON")
        if ch == "u":
            return bool(syscon & r.SYSCON_ADC_U)
        if ch == "a":
            return bool(syscon & r.SYSCON_ADC_IA)
        return bool(syscon & r.SYSCON_ADC_IB) and bool(self.reg("EMUCON2") & r.EMUCON2_CHS_IB)

    def _power_raw(self, ch: str) -> int:
        if not (self._on(ch) and self._on("u")):
            return 0
        watts = self._sensed_watts(ch) * self._power_factor(ch)
        coeff = self.coefficients.power_pa if ch == "a" else self.coefficients.power_pb
        raw = round(watts * self._k1(ch) * self._k2() * 2**31 / coeff)
        raw += self.power_offset.get(ch, 0) + r.to_signed(self.reg("PAOS" if ch == "a" else "PBOS"), 2)
        return max(-(2**31), min(2**31 - 1, raw))

    def _sensed_watts(self, ch: str) -> float:
        """The active power the chip's multiplier sees: V × I × cos of the angle its inputs show, which the
        sensor's lead shifts and PhaseA/B shifts back."""
        t = self.truth
        watts, amps = (t.watts_a, t.amps_a) if ch == "a" else (t.watts_b, t.amps_b)
        va = t.volts * amps
        if va <= 0 or va < abs(watts) * (1 - 1e-9):
            return watts  # no current given, or a truth that is not a load: taken as it is
        hz = t.hz if t.hz > 0 else 50.0
        shift = r.to_signed(self.reg("PhaseA" if ch == "a" else "PhaseB"), 1) * phase_step_degrees(hz)
        seen = math.radians(t.angle(ch) - self.phase_error.get(ch, 0.0) - shift)
        return math.copysign(va * math.cos(seen), watts) if watts else va * math.cos(seen)

    def _rms(self, value: float, ch: str) -> int:
        """An RMS register: the board's offset and RmsIxOS added; below zero it reads as a negative 24-bit number."""
        raw = (
            round(value) + self.rms_offset.get(ch, 0) + r.to_signed(self.reg("RmsIAOS" if ch == "a" else "RmsIBOS"), 2)
        )
        return min(raw, 0x7FFFFF) if raw >= 0 else raw & 0xFFFFFF

    def _power_factor(self, ch: str) -> float:
        """What the chip's power path makes of a watt: this chip's error against its factory
        coefficient (``power_error``), corrected by PAGain / PBGain (P × (1 + gain / 2^15))."""
        gain = r.to_signed(self.reg("PAGain" if ch == "a" else "PBGain"), 2)
        return (1.0 + self.power_error.get(ch, 0.0)) * (1.0 + gain / 32768.0)

    def _measure(self) -> None:
        c, t = self.coefficients, self.truth
        set_ = self.regs.__setitem__
        u = round(t.volts * 100 * self._k2() * 2**22 / c.rms_u) if self._on("u") else 0
        ia = self._rms(t.amps_a * 1000 * self._k1("a") * 2**23 / c.rms_ia, "a") if self._on("a") else 0
        ib = self._rms(t.amps_b * 1000 * self._k1("b") * 2**23 / c.rms_ib, "b") if self._on("b") else 0
        set_(0x26, min(u, 0x7FFFFF))
        set_(0x24, ia)
        set_(0x25, ib)
        emucon2 = self.reg("EMUCON2")
        waves = bool(emucon2 & r.EMUCON2_WAVE_EN)
        zx = waves and bool(emucon2 & r.EMUCON2_ZX_EN)  # the frequency is measured on zero crossings
        set_(0x23, round(MCLK_FREQ / t.hz) & 0xFFFF if zx and self._on("u") and t.hz > 0 else 0)
        pa, pb = self._power_raw("a"), self._power_raw("b")
        set_(0x2C, pa & 0xFFFFFFFF)
        set_(0x2D, pb & 0xFFFFFFFF)
        ch = "b" if self.channel_b else "a"
        volts, amps = t.volts, (t.amps_b if ch == "b" else t.amps_a)
        s_va = volts * amps if self._on(ch) and self._on("u") else 0.0
        s_va *= (1.0 + self.apparent_error) * (1.0 + r.to_signed(self.reg("PSGain"), 2) / 32768.0)
        s_raw = round(s_va * self._k1(ch) * self._k2() * 2**31 / c.power_s)
        set_(0x2E, max(0, min(2**31 - 1, s_raw)))
        p_raw = pb if ch == "b" else pa
        p_coeff = c.power_pb if ch == "b" else c.power_pa
        # the chip's own P / S (the two coefficients differ a little; each register scaled by its own)
        pf = max(-1.0, min(1.0, p_raw * p_coeff / (s_raw * c.power_s))) if s_raw > 0 else 1.0
        if emucon2 & r.EMUCON2_PFACTOR_EN:  # otherwise it keeps its reset value, 7FFFFF (1.0)
            set_(0x27, round(pf * 0x7FFFFF) & 0xFFFFFF)
        peaks = waves and bool(emucon2 & r.EMUCON2_PEAK_EN)
        set_(0x30, _peak(ia) if peaks else 0)
        set_(0x31, _peak(ib) if peaks else 0)
        set_(0x32, _peak(u) if peaks else 0)

    def _emustatus(self) -> int:
        status = emustatus_checksum(self.regs)
        if self.reg("PowerPA") & 0x80000000:
            status |= r.EMUSTATUS_REVPA
        if self.reg("PowerPB") & 0x80000000:
            status |= r.EMUSTATUS_REVPB
        if self.channel_b:
            status |= r.EMUSTATUS_CHANNEL_B
        for ch, flag in (("a", r.EMUSTATUS_NOPLDA), ("b", r.EMUSTATUS_NOPLDB)):
            power = abs(r.to_signed(self.reg(f"PowerP{ch.upper()}"), 4))
            if power >> 8 < self.reg(f"PStartP{ch.upper()}"):
                status |= flag
        return status


def _peak(rms: int) -> int:
    """A peak register for a sine of this RMS register (0 when the RMS reads below zero)."""
    return 0 if rms & 0x800000 else min(round(rms * math.sqrt(2)), 0x7FFFFF)
