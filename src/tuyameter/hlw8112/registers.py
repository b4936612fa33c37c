"""The HLW8112's registers and special commands (datasheet Rev 1.15, p.32–34; shared/reference/hlw8112.md).

Pure data: addresses, sizes in bytes (values go MSB first), reset values, which need the write
enable, which are signed and which clear when read. Unknown addresses read 0 and ignore writes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reg:
    addr: int
    name: str
    size: int  # bytes
    reset: int | None = 0  # None: a measurement, no meaningful reset value
    protected: bool = False  # a write needs the write enable (0xE5) first
    signed: bool = False
    clear_on_read: bool = False
    writable: bool = False

    @property
    def mask(self) -> int:
        return (1 << (8 * self.size)) - 1


def _cfg(addr: int, name: str, size: int = 2, reset: int = 0, *, signed: bool = False) -> Reg:
    """A configuration register: writable once write-enabled."""
    return Reg(addr, name, size, reset, protected=True, signed=signed, writable=True)


def _meas(
    addr: int, name: str, size: int, *, signed: bool = False, clear: bool = False, reset: int | None = None
) -> Reg:
    return Reg(addr, name, size, reset, signed=signed, clear_on_read=clear)


REGISTERS: tuple[Reg, ...] = (
    _cfg(0x00, "SYSCON", reset=0x0A04),
    _cfg(0x01, "EMUCON"),
    _cfg(0x02, "HFConst", reset=0x1000),
    _cfg(0x03, "PStartPA", reset=0x0060),
    _cfg(0x04, "PStartPB", reset=0x0060),
    _cfg(0x05, "PAGain", signed=True),
    _cfg(0x06, "PBGain", signed=True),
    _cfg(0x07, "PhaseA", size=1, signed=True),
    _cfg(0x08, "PhaseB", size=1, signed=True),
    _cfg(0x0A, "PAOS", signed=True),
    _cfg(0x0B, "PBOS", signed=True),
    _cfg(0x0E, "RmsIAOS", signed=True),
    _cfg(0x0F, "RmsIBOS", signed=True),
    _cfg(0x10, "IBGain", signed=True),
    _cfg(0x11, "PSGain", signed=True),
    _cfg(0x12, "PSOS", signed=True),
    _cfg(0x13, "EMUCON2", reset=0x0001),
    _cfg(0x14, "DCIA", signed=True),
    _cfg(0x15, "DCIB", signed=True),
    _cfg(0x16, "DCIC", signed=True),
    _cfg(0x17, "SAGCYC"),
    _cfg(0x18, "SAGLVL"),
    _cfg(0x19, "OVLVL", reset=0xFFFF),
    _cfg(0x1A, "OIALVL", reset=0xFFFF),
    _cfg(0x1B, "OIBLVL", reset=0xFFFF),
    _cfg(0x1C, "OPLVL", reset=0xFFFF),
    _cfg(0x1D, "INT", reset=0x3210),
    _cfg(0x20, "PFCntPA"),
    _cfg(0x21, "PFCntPB"),
    _meas(0x22, "Angle", 2),
    _meas(0x23, "Ufreq", 2),
    _meas(0x24, "RmsIA", 3),
    _meas(0x25, "RmsIB", 3),
    _meas(0x26, "RmsU", 3),
    _meas(0x27, "PowerFactor", 3, signed=True, reset=0x7FFFFF),
    _meas(0x28, "Energy_PA", 3, clear=True),  # cleared on read unless EMUCON2 EPA_CB
    _meas(0x29, "Energy_PB", 3, clear=True),
    _meas(0x2C, "PowerPA", 4, signed=True),
    _meas(0x2D, "PowerPB", 4, signed=True),
    _meas(0x2E, "PowerS", 4, signed=True),
    _meas(0x2F, "EMUStatus", 3),
    _meas(0x30, "PeakIA", 3, clear=True),
    _meas(0x31, "PeakIB", 3, clear=True),
    _meas(0x32, "PeakU", 3, clear=True),
    Reg(0x40, "IE", 2, 0, protected=True, writable=True),
    _meas(0x41, "IF", 2, clear=True, reset=0),
    _meas(0x42, "RIF", 2, clear=True, reset=0),
    _meas(0x43, "SysStatus", 1),
    _meas(0x44, "RData", 4),
    _meas(0x45, "WData", 2),
    _meas(0x6F, "Coeff_chksum", 2),
    _meas(0x70, "RmsIAC", 2),
    _meas(0x71, "RmsIBC", 2),
    _meas(0x72, "RmsUC", 2),
    _meas(0x73, "PowerPAC", 2),
    _meas(0x74, "PowerPBC", 2),
    _meas(0x75, "PowerSC", 2),
    _meas(0x76, "EnergyAC", 2),
    _meas(0x77, "EnergyBC", 2),
)

BY_ADDR: dict[int, Reg] = {r.addr: r for r in REGISTERS}
BY_NAME: dict[str, Reg] = {r.name: r for r in REGISTERS}
#: register name → address
ADDR: dict[str, int] = {r.name: r.addr for r in REGISTERS}
COEFFICIENTS = tuple(BY_NAME[n] for n in ("RmsIAC", "RmsIBC", "RmsUC", "PowerPAC", "PowerPBC", "PowerSC",
                                          "EnergyAC", "EnergyBC"))  # fmt: skip

#: the first byte of a special command (SPI and UART alike), and the commands
SPECIAL = 0xEA
WRITE_ENABLE = 0xE5
WRITE_PROTECT = 0xDC
CHANNEL_A = 0x5A
CHANNEL_B = 0xA5
RESET = 0x96
COMMANDS = {WRITE_ENABLE: "write enable", WRITE_PROTECT: "write protect", CHANNEL_A: "select channel A",
            CHANNEL_B: "select channel B", RESET: "reset"}  # fmt: skip
#: wait at least this long after a reset before talking to the chip again (DS p.60)
RESET_WAIT_S = 0.06

# bits
SYSCON_ADC_U, SYSCON_ADC_IB, SYSCON_ADC_IA = 1 << 11, 1 << 10, 1 << 9
EMUCON_COMP_OFF = 1 << 12
EMUCON_PBRUN, EMUCON_PARUN = 1 << 1, 1 << 0
EMUCON2_SDOCMOS = 1 << 12  # 1: SDO open drain (needs a pull-up); 0, the reset default: push-pull (DS §9.1.3)
EMUCON2_EPB_CB, EMUCON2_EPA_CB = 1 << 11, 1 << 10
EMUCON2_CHS_IB = 1 << 7
EMUCON2_PFACTOR_EN = 1 << 6  # PowerFactor is computed only with this set
EMUCON2_WAVE_EN = 1 << 5  # waveform data: zero crossing, peaks, SAG and over-limits need it
EMUCON2_ZX_EN = 1 << 2  # zero crossing, Angle and Ufreq (with WaveEN)
EMUCON2_PEAK_EN = 1 << 1
EMUCON2_VREF_SEL = 1 << 0  # the internal 1.25 V reference (the reset default)
EMUSTATUS_CHANNEL_B = 1 << 21
EMUSTATUS_NOPLDB, EMUSTATUS_NOPLDA = 1 << 20, 1 << 19  # the channel's |P| >> 8 is below its PStart
EMUSTATUS_REVPB, EMUSTATUS_REVPA = 1 << 18, 1 << 17
EMUSTATUS_CHKSUM_BUSY = 1 << 16
SYSSTATUS_WREN = 1 << 4
SYSSTATUS_RST = 1 << 0

#: PGA field codes → gain (SYSCON: IB bits 8:6, U bits 5:3, IA bits 2:0; 1xx is ×16)
PGA_GAINS = {0: 1, 1: 2, 2: 4, 3: 8, 4: 16}


def pga_code(gain: int) -> int:
    for code, g in PGA_GAINS.items():
        if g == gain:
            return code
    raise ValueError(f"a PGA gain is one of {', '.join(map(str, PGA_GAINS.values()))}, not {gain}")


def pga_gain(code: int) -> int:
    return 16 if code & 0b100 else PGA_GAINS[code & 0b11]


def to_signed(value: int, size: int) -> int:
    """A register's bytes as two's complement."""
    bits = 8 * size
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def from_signed(value: int, size: int) -> int:
    """A signed value as the register's unsigned bytes (ValueError when it does not fit)."""
    bits = 8 * size
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError(f"{value} does not fit {size} signed byte(s)")
    return value & ((1 << bits) - 1)


def coeff_checksum(coefficients: list[int] | tuple[int, ...]) -> int:
    """Coeff_chksum (0x6F) of the eight factory coefficients 0x70–0x77."""
    return ~(0xFFFF + sum(coefficients)) & 0xFFFF


def emustatus_checksum(values: dict[int, int]) -> int:
    """EMUStatus[15:0]: the complement of the sum of the 16-bit values of registers 0x00–0x1F
    (1-byte registers zero-extended; addresses with no register count as 0)."""
    return ~sum(values.get(a, 0) & 0xFFFF for a in range(0x20)) & 0xFFFF


def uart_checksum(data: bytes | bytearray) -> int:
    """The UART frames' checksum: the complement of the byte sum (A5 and the command included)."""
    return ~sum(data) & 0xFF
