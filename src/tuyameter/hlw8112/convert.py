"""Register values → volts, amperes, watts, kWh, hertz (DS p.43–53; shared/reference/hlw8112.md).

The chip's factory coefficients (0x70–0x77) assume a 1 mΩ shunt read at PGA ×16 and a
1 kΩ / 1 MΩ voltage divider read at PGA ×1. A board differs by K1 (its current sensor against the
1 mΩ shunt; for a current transformer burden Ω ÷ turns ÷ 0.001) and K2 (its divider against
1k/1M), and by the PGA gains it configures: a register reads ``gain / 16`` (currents) or
``gain`` (voltage) times what the coefficients assume, which the effective K1 and K2 include.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuyameter.hlw8112.registers import COEFFICIENTS, coeff_checksum, to_signed

MCLK_FREQ = 3579545 / 8  # Ufreq counts periods of this clock


@dataclass(frozen=True)
class Coefficients:
    """The factory coefficients, read from 0x70–0x77."""

    rms_ia: int
    rms_ib: int
    rms_u: int
    power_pa: int
    power_pb: int
    power_s: int
    energy_a: int
    energy_b: int

    def values(self) -> tuple[int, ...]:
        return (self.rms_ia, self.rms_ib, self.rms_u, self.power_pa, self.power_pb, self.power_s,
                self.energy_a, self.energy_b)  # fmt: skip

    def checksum(self) -> int:
        return coeff_checksum(self.values())

    @staticmethod
    def from_registers(regs: dict[int, int]) -> Coefficients:
        return Coefficients(*(regs[r.addr] for r in COEFFICIENTS))


#: the vendor datasheet's sample coefficients (their checksum is F032)
SAMPLE = Coefficients(0xCAD1, 0xCACF, 0xA4C3, 0xAB47, 0xAB49, 0xAB41, 0xE9CC, 0xE9CE)


@dataclass(frozen=True)
class Board:
    """How a board feeds the chip (from its profile): sensors and the PGA gains it configures."""

    k1_a: float = 1.0  # channel A's current sensor against a 1 mΩ shunt
    k1_b: float = 1.0
    k2: float = 1.0  # the voltage divider against 1 kΩ / 1 MΩ
    pga_a: int = 16
    pga_b: int = 16
    pga_u: int = 1

    def k1(self, channel: str) -> float:
        """Effective K1 of a channel: its sensor and its PGA against the ×16 the coefficients assume."""
        return (self.k1_a * self.pga_a if channel == "a" else self.k1_b * self.pga_b) / 16.0

    @property
    def k2_eff(self) -> float:
        return self.k2 * self.pga_u


def rms(raw: int) -> int:
    """An RMS register (24 bits): bit 23 set means a negative offset result, taken as 0."""
    return 0 if raw & 0x800000 else raw


def current(raw: int, coeff: int, board: Board, channel: str) -> float:
    """Amperes from RmsIA / RmsIB."""
    return rms(raw) * coeff / (board.k1(channel) * 2**23) / 1000.0


def voltage(raw: int, coeff: int, board: Board) -> float:
    """Volts from RmsU."""
    return rms(raw) * coeff / (board.k2_eff * 2**22) / 100.0


def power(raw: int, coeff: int, board: Board, channel: str) -> float:
    """Watts (signed: negative is export) from PowerPA / PowerPB / PowerS (32-bit two's complement)."""
    return to_signed(raw, 4) * coeff / (board.k1(channel) * board.k2_eff * 2**31)


def energy_kwh(pulses: int, coeff: int, hfconst: int, board: Board, channel: str) -> float:
    """kWh from an Energy_PA / Energy_PB pulse count at the HFConst in force."""
    return pulses * coeff * hfconst / (board.k1(channel) * board.k2_eff * 2**29 * 4096)


def frequency(raw: int) -> float | None:
    """Hz from Ufreq (None when the chip measured no period)."""
    return MCLK_FREQ / raw if raw else None


def power_factor(raw: int) -> float:
    """The signed 24-bit fraction of PowerFactor: 0x7FFFFF is 1.0."""
    return to_signed(raw, 3) / 0x7FFFFF
