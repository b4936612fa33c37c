"""The HLW8112's two wire formats (DS p.58–63), as bytes: no I/O.

- **UART** (SPIEN low; 8E1 at 4800–38400 baud): a write is ``A5, addr|0x80, data…, checksum``; a
  read is ``A5, addr`` and the chip answers ``data…, checksum``; a special command is
  ``A5, EA, cmd, checksum``. The checksum is the complement of the byte sum, A5 included.
- **SPI** (SPIEN high; mode 1, ≤ 800 kHz, MSB first): full duplex. A read sends ``addr`` and
  then clocks the value in (the chip's bytes arrive while we send zeros); a write sends
  ``addr|0x80, data…``; a special command ``EA, cmd``.

A transaction is an :class:`Op`; :func:`uart_request` / :func:`spi_request` give its bytes and
:func:`uart_answer` / :func:`spi_answer` read the value out of what came back.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuyameter.hlw8112.registers import BY_ADDR, COMMANDS, SPECIAL, uart_checksum

UART_HEAD = 0xA5
WRITE = 0x80


class AnswerError(ValueError):
    """What came back is not an answer to the request (length or checksum)."""


@dataclass(frozen=True)
class Op:
    """One transaction: read a register, write one, or a special command."""

    kind: str  # "read", "write", "command"
    addr: int = 0  # register address, or the command byte
    value: int = 0  # for a write
    size: int = 0  # the register's size in bytes (0: from the register map)

    @staticmethod
    def read(addr: int, size: int = 0) -> Op:
        return Op("read", addr, 0, size or size_of(addr))

    @staticmethod
    def write(addr: int, value: int, size: int = 0) -> Op:
        n = size or size_of(addr)
        if not 0 <= value < 1 << (8 * n):
            raise ValueError(f"0x{value:X} does not fit register 0x{addr:02X} ({n} bytes)")
        return Op("write", addr, value, n)

    @staticmethod
    def command(cmd: int) -> Op:
        if cmd not in COMMANDS:
            raise ValueError(f"0x{cmd:02X} is not a special command ({', '.join(f'{c:02X}' for c in COMMANDS)})")
        return Op("command", cmd)

    def describe(self) -> str:
        if self.kind == "command":
            return f"command {COMMANDS[self.addr]} (EA {self.addr:02X})"
        reg = BY_ADDR.get(self.addr)
        name = reg.name if reg else f"0x{self.addr:02X}"
        if self.kind == "write":
            return f"write {name} = 0x{self.value:0{2 * self.size}X}"
        return f"read {name}"


def size_of(addr: int) -> int:
    reg = BY_ADDR.get(addr)
    if reg is None:
        raise ValueError(f"no register at 0x{addr:02X}")
    return reg.size


def _be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


# -- UART ---------------------------------------------------------------------------------


def uart_request(op: Op) -> bytes:
    if op.kind == "read":
        return bytes((UART_HEAD, op.addr & 0x7F))
    body = bytes((UART_HEAD, SPECIAL, op.addr)) if op.kind == "command" else bytes(
        (UART_HEAD, (op.addr & 0x7F) | WRITE)) + _be(op.value, op.size)  # fmt: skip
    return body + bytes((uart_checksum(body),))


def uart_answer_size(op: Op) -> int:
    """How many bytes the chip sends back: the value and its checksum for a read, nothing otherwise."""
    return op.size + 1 if op.kind == "read" else 0


def uart_answer(op: Op, data: bytes) -> int:
    """The value of a read's answer; AnswerError when the length or the checksum is wrong."""
    if len(data) != op.size + 1:
        raise AnswerError(f"{op.describe()}: {len(data)} bytes back, {op.size + 1} expected")
    value, check = data[:-1], data[-1]
    want = uart_checksum(bytes((UART_HEAD, op.addr & 0x7F)) + value)
    if check != want:
        raise AnswerError(f"{op.describe()}: checksum {check:02X}, {want:02X} expected (answer {data.hex(' ')})")
    return int.from_bytes(value, "big")


# -- SPI ----------------------------------------------------------------------------------


def spi_request(op: Op) -> bytes:
    """The bytes to clock out; as many come back (a read's value in all but the first)."""
    if op.kind == "read":
        return bytes((op.addr & 0x7F,)) + bytes(op.size)
    if op.kind == "command":
        return bytes((SPECIAL, op.addr))
    return bytes(((op.addr & 0x7F) | WRITE,)) + _be(op.value, op.size)


def spi_answer(op: Op, rx: bytes) -> int:
    """A read's value from the bytes clocked in during its transfer."""
    if len(rx) != op.size + 1:
        raise AnswerError(f"{op.describe()}: {len(rx)} bytes clocked in, {op.size + 1} expected")
    return int.from_bytes(rx[1:], "big")


# -- either wire ----------------------------------------------------------------------------


def request(op: Op, spi: bool) -> tuple[bytes, int]:
    """The bytes to send for ``op`` and how many come back: over SPI as many as are clocked out,
    over UART a read's value and checksum (nothing for a write or a command)."""
    if spi:
        data = spi_request(op)
        return data, len(data)
    return uart_request(op), uart_answer_size(op)


def answer_value(op: Op, data: bytes, spi: bool) -> int:
    """A read's value from what came back over either wire (AnswerError when it cannot be one)."""
    return spi_answer(op, data) if spi else uart_answer(op, data)
