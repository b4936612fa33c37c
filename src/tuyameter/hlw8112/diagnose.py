"""What a wrong answer from an HLW8112 says about the board, in plain words (the seed's
"Failed to write reg 80 val A04" is a read path that does not work; shared/reference/hlw8112.md)."""

from __future__ import annotations

from tuyameter.hlw8112.convert import Coefficients

ALL_ZERO_SPI = (
    "every bit reads 0: MISO (SDO) stuck low or not connected, the chip unpowered, the wrong SPI mode (a "
    "shifted address reads nothing; the HLW8112 wants mode 1), or SDO open drain with no pull-up on the board"
)
ALL_ONE_SPI = (
    "every bit reads 1: SPIEN strapped low (the chip is in UART mode), MISO stuck high or floating with a "
    "pull-up, or chip select not reaching the chip"
)
CORRUPT_SPI = (
    "the bits are corrupted: the wrong SPI mode (the HLW8112 samples as mode 1: CPOL 0, CPHA 1), a clock "
    "too fast (at most ~800 kHz, less with long wires), or chip select not toggled between commands"
)
SILENT_UART = (
    "no answer: the chip unpowered, TX and RX swapped, the wrong baud rate (4800, 9600, 19200 or 38400, "
    "strapped by SCLK/SCSN), parity not even (the HLW8112 wants 8E1), or SPIEN strapped high (SPI mode)"
)
CORRUPT_UART = "answers with bad checksums: the wrong baud rate or parity (8E1), or noise on the line"


def diagnose_coefficients(coeff: Coefficients, checksum: int, *, spi: bool) -> str:
    """Why the factory coefficients and their checksum disagree (or are all zero)."""
    values = coeff.values()
    got = " ".join(f"{v:04X}" for v in values)
    head = f"the factory coefficients ({got}) do not match their checksum {checksum:04X}: "
    if all(v == 0 for v in values) and checksum == 0:
        return head + (ALL_ZERO_SPI if spi else SILENT_UART)
    if all(v == 0xFFFF for v in values) and checksum == 0xFFFF:
        return head + (ALL_ONE_SPI if spi else CORRUPT_UART)
    return head + (CORRUPT_SPI if spi else CORRUPT_UART)
