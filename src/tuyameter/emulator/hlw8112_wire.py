"""The HLW8112 emulator's wires: the UART byte stream and SPI transfers, with the faults real boards
show, around a :class:`~tuyameter.emulator.hlw8112_chip.Hlw8112Chip`.

The SPI side is strict to mode 1 at up to ~895 kHz (MCLK / 4): another mode shifts every bit by
one clock edge, a faster clock corrupts bits, as on a real chip. Faults (``FAULTS``):

- ``spien-low`` — the SPIEN strap holds the chip in UART mode: SPI is ignored, SDO floats high;
- ``miso-stuck-0`` / ``miso-stuck-1`` — MISO shorted low or high;
- ``no-pullup`` — the board has no pull-up on SDO and an earlier driver left it open drain (EMUCON2
  SDOCmos set; it is push-pull after reset): every bit reads 0 until a (blind) write clears SDOCmos;
- ``no-cs`` — chip select never rises: only the first command after power-on is understood;
- ``slow-clock`` — long wires: bits corrupt above 100 kHz already;
- ``unpowered`` — no answer at all (UART silent, SPI reads 0);
- ``parity`` — the host sends 8N1: the chip drops bytes whose stop bit fails its even parity check;
- ``brownout`` — the chip resets every :data:`BROWNOUT_S` seconds (registers back to defaults).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tuyameter.emulator.hlw8112_chip import Hlw8112Chip, Truth
from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.registers import BY_ADDR, SPECIAL, uart_checksum

FAULTS = ("spien-low", "miso-stuck-0", "miso-stuck-1", "no-pullup", "no-cs", "slow-clock", "unpowered",
          "parity", "brownout")  # fmt: skip
SPI_MODE = 1
MAX_HZ = 895_000
SLOW_MAX_HZ = 100_000
BROWNOUT_S = 20.0
#: a UART frame whose bytes are further apart than this is abandoned (the chip's receive timeout)
UART_GAP_S = 0.05


def check_faults(faults: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown HLW8112 fault {unknown[0]!r}; known: {', '.join(FAULTS)}")
    return tuple(faults)


@dataclass
class Hlw8112Wire:
    chip: Hlw8112Chip = field(default_factory=Hlw8112Chip)
    faults: tuple[str, ...] = ()
    seed: int = 1
    _rx: bytearray = field(default_factory=bytearray)  # UART bytes of a frame not complete yet
    _last_byte: float = 0.0
    _cs_seen: bool = False
    _next_brownout: float = BROWNOUT_S
    corrupted_bits: int = 0

    def __post_init__(self) -> None:
        self.faults = check_faults(self.faults)
        self._rng = random.Random(self.seed)
        if "no-pullup" in self.faults:  # left open drain by whatever drove the chip before (until it resets)
            self.chip.regs[r.BY_NAME["EMUCON2"].addr] |= r.EMUCON2_SDOCMOS

    def advance(self, dt: float, truth: Truth | None = None) -> None:
        self.chip.advance(dt, truth)
        if "brownout" in self.faults and self.chip.now >= self._next_brownout:
            self._next_brownout = self.chip.now + BROWNOUT_S
            self.chip.power_on()

    # -- UART --------------------------------------------------------------------------------

    def uart_feed(self, data: bytes) -> bytes:
        """Bytes from the host at the chip's current time → the chip's answer bytes (if any)."""
        if "unpowered" in self.faults:
            return b""
        now = self.chip.now
        if self._rx and now - self._last_byte > UART_GAP_S:
            self._rx.clear()
        self._last_byte = now
        out = bytearray()
        for b in data:
            if "parity" in self.faults and bin(b).count("1") % 2 == 0:
                self._rx.clear()  # a parity error: the frame is lost
                continue
            if not self._rx and b != 0xA5:
                continue  # waiting for a frame's head
            self._rx.append(b)
            out += self._uart_frame()
        return bytes(out)

    def _uart_frame(self) -> bytes:
        f = self._rx
        if len(f) < 2:
            return b""
        cmd = f[1]
        if cmd == SPECIAL:
            if len(f) < 4:
                return b""
            if f[3] == uart_checksum(f[:3]) and self.chip.ready():
                self.chip.command(f[2])
            f.clear()
            return b""
        if cmd & 0x80:
            reg = BY_ADDR.get(cmd & 0x7F)
            size = reg.size if reg else 2
            if len(f) < 2 + size + 1:
                return b""
            if f[-1] == uart_checksum(f[:-1]) and self.chip.ready():
                self.chip.write(cmd & 0x7F, int.from_bytes(f[2:-1], "big"))
            f.clear()
            return b""
        f.clear()
        if not self.chip.ready():
            return b""
        reg = BY_ADDR.get(cmd)
        size = reg.size if reg else 1
        value = self.chip.read(cmd).to_bytes(size, "big")
        return value + bytes((uart_checksum(bytes((0xA5, cmd)) + value),))

    # -- SPI ---------------------------------------------------------------------------------

    def spi_transfer(self, tx: bytes, mode: int = SPI_MODE, hz: int = 500_000) -> bytes:
        """One transaction with chip select low: what the host clocks in while it sends ``tx``."""
        n = len(tx)
        if "unpowered" in self.faults or "miso-stuck-0" in self.faults:
            return bytes(n)
        if "miso-stuck-1" in self.faults or "spien-low" in self.faults:
            return b"\xff" * n
        seen = self._shift(tx) if mode != SPI_MODE else tx
        if "no-cs" in self.faults:
            if self._cs_seen:
                return bytes(n)  # still inside the first command, as far as the chip knows
            self._cs_seen = True
        out = self._spi_command(seen) if self.chip.ready() else bytes(n)
        if mode != SPI_MODE:
            out = self._shift(out, back=True)
        limit = SLOW_MAX_HZ if "slow-clock" in self.faults else MAX_HZ
        if hz > limit:
            out = self._corrupt(out, min(0.5, 0.25 * hz / limit))
        if "no-pullup" in self.faults and self.chip.reg("EMUCON2") & r.EMUCON2_SDOCMOS:
            out = bytes(n)  # open drain with nothing to pull it high
        return out

    def _spi_command(self, tx: bytes) -> bytes:
        if not tx:
            return b""
        head = tx[0]
        if head == SPECIAL:
            if len(tx) >= 2:
                self.chip.command(tx[1])
            return bytes(len(tx))
        if head & 0x80:
            reg = BY_ADDR.get(head & 0x7F)
            size = reg.size if reg else 2
            if len(tx) >= 1 + size:
                self.chip.write(head & 0x7F, int.from_bytes(tx[1 : 1 + size], "big"))
            return bytes(len(tx))
        reg = BY_ADDR.get(head)
        size = reg.size if reg else 1
        value = self.chip.read(head).to_bytes(size, "big")
        return (b"\x00" + value + bytes(len(tx)))[: len(tx)]

    @staticmethod
    def _shift(data: bytes, back: bool = False) -> bytes:
        """The bits as seen one clock edge off: shifted by one place through the whole transfer."""
        if not data:
            return data
        v = int.from_bytes(data, "big")
        bits = 8 * len(data)
        v = (v >> 1) if back else (v << 1) & ((1 << bits) - 1)
        return v.to_bytes(len(data), "big")

    def _corrupt(self, data: bytes, p: float) -> bytes:
        out = bytearray(data)
        for i in range(len(out)):
            for bit in range(8):
                if self._rng.random() < p:
                    out[i] ^= 1 << bit
                    self.corrupted_bits += 1
        return bytes(out)
