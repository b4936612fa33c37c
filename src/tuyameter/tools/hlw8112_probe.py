"""``tuyameter probe spi://… | URL?proto=hlw8112`` — a self-test of an HLW8112 and its wiring.

It reads what needs no configuration and proves the read path: the factory coefficients against
their checksum, every configuration register against EMUStatus's checksum of them, RData after a
read; then a harmless write (PStartPA with the value it holds) confirmed through WData and a
read-back, as the seed's "Failed to write reg 80 val A04" never was. When something fails it
changes one thing at a time — SPI mode, a slower clock, SDO set to push-pull; over a serial port
the other baud rates — and says which change made the chip answer, or what the symptom points to.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.convert import Coefficients
from tuyameter.hlw8112.diagnose import SILENT_UART, diagnose_coefficients
from tuyameter.hlw8112.frames import AnswerError, Op, answer_value, request
from tuyameter.hlw8112.registers import ADDR, COEFFICIENTS, emustatus_checksum
from tuyameter.hlw8112.session import SDO_PUSH_PULL, Transaction
from tuyameter.sources.hlw8112.bus import BusError, ChipBus, open_bus

UART_BAUDS = (9600, 4800, 19200, 38400)
SLOWER_HZ = (200_000, 100_000, 50_000)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ChipProbe:
    url: str
    spi: bool = False
    checks: list[Check] = field(default_factory=list)
    #: what made it work when the URL as given did not (a mode, a clock, SDOCmos, a baud), or None
    fix: str | None = None
    #: the likely cause when nothing worked
    cause: str | None = None
    coefficients: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cause is None and all(c.ok for c in self.checks)

    def json(self) -> dict[str, object]:
        return {"url": self.url, "wire": "spi" if self.spi else "uart", "ok": self.ok, "fix": self.fix,
                "cause": self.cause, "coefficients": [f"{c:04X}" for c in self.coefficients],
                "checks": [c.__dict__ for c in self.checks]}  # fmt: skip


async def _do(bus: ChipBus, op: Op, timeout: float = 0.3) -> int | None:
    """One transaction; a read's value (AnswerError when it is not one)."""
    data, size = request(op, bus.spi)
    rx = await bus.transact(Transaction(op, data, size, 0.0 if bus.spi else timeout))
    return answer_value(op, rx, bus.spi) if op.kind == "read" else None


async def _coefficients(bus: ChipBus) -> tuple[Coefficients, int] | str:
    """The coefficients and their checksum as read, or what went wrong reading them."""
    try:
        values = [await _do(bus, Op.read(c.addr)) for c in COEFFICIENTS]
        check = await _do(bus, Op.read(ADDR["Coeff_chksum"]))
    except AnswerError as e:
        return str(e)
    assert check is not None
    return Coefficients(*(v or 0 for v in values)), check


def _good(found: tuple[Coefficients, int] | str) -> bool:
    return not isinstance(found, str) and found[0].checksum() == found[1] and any(found[0].values())


async def probe_chip(url: str) -> ChipProbe:
    try:
        bus = await open_bus(url)
    except BusError as e:
        return ChipProbe(url, cause=f"cannot open the bus: {e}")
    res = ChipProbe(url, spi=bus.spi)
    try:
        found = await _coefficients(bus)
        if not _good(found):
            bus, found = await _find_a_way(url, bus, found, res)
        if not _good(found):
            return res
        assert not isinstance(found, str)
        coeff, check = found
        res.coefficients = list(coeff.values())
        res.checks.append(Check("factory coefficients", True, f"checksum {check:04X} agrees"))
        await _read_path(bus, res)
        await _write_path(bus, res)
    finally:
        await bus.close()
    return res


async def _find_a_way(url: str, bus: ChipBus, found: tuple[Coefficients, int] | str,
                      res: ChipProbe) -> tuple[ChipBus, tuple[Coefficients, int] | str]:  # fmt: skip
    """Change one thing at a time until the coefficients read right; say which change did it."""
    first = found
    for label, variant in _variants(url, bus.spi):
        await bus.close()
        try:
            bus = await open_bus(variant)
        except BusError:
            continue
        if label.startswith(SDO_FIX):
            await _sdo_push_pull(bus)
        found = await _coefficients(bus)
        if _good(found):
            res.fix = label
            res.checks.append(Check("as given", False, _symptom(first, bus.spi)))
            return bus, found
    await bus.close()
    bus = await open_bus(url)
    res.checks.append(Check("factory coefficients", False, _symptom(first, bus.spi)))
    res.cause = _narrowed(first, bus.spi) if _variants(url, bus.spi) else _symptom(first, bus.spi)
    return bus, first


SDO_FIX = "SDO set back to push-pull"


def _variants(url: str, spi: bool) -> list[tuple[str, str]]:
    parts = urlsplit(url)
    q = parse_qs(parts.query)

    def with_(**kw: object) -> str:
        qq = {k: v[-1] for k, v in q.items()} | {k: str(v) for k, v in kw.items()}
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(qq), parts.fragment))

    if spi:
        mode = int((q.get("mode") or ["1"])[-1])
        out = [
            (
                f"{SDO_FIX} (EMUCON2 SDOCmos cleared: an earlier driver had left SDO open drain and the board "
                "has no pull-up on it; the gateway does this by itself)",
                url,
            )
        ]
        out += [(f"SPI mode {m}", with_(mode=m)) for m in (1, 3, 0, 2) if m != mode]
        out += [(f"a {hz // 1000} kHz clock", with_(mode=1, speed=hz)) for hz in SLOWER_HZ]
        return out
    if parts.scheme in ("socket", "rfc2217"):
        return []  # the bridge sets the line: nothing to try from here
    baud = int((q.get("baud") or ["9600"])[-1])
    return [(f"{b} baud", with_(baud=b)) for b in UART_BAUDS if b != baud]


async def _sdo_push_pull(bus: ChipBus) -> None:
    """Clear EMUCON2 SDOCmos without reading first: SDO push-pull needs no pull-up."""
    with contextlib.suppress(AnswerError):
        for op in SDO_PUSH_PULL:
            await _do(bus, op)


def _narrowed(found: tuple[Coefficients, int] | str, spi: bool) -> str:
    """The cause once the usual fixes were tried and none helped."""
    if not spi:
        return ("no valid answer at any baud rate: the chip unpowered, TX and RX swapped, parity not even (8E1), "
                "or SPIEN strapped high (the chip in SPI mode)")  # fmt: skip
    tried = "in every SPI mode, at slower clocks and with SDO set to push-pull"
    if isinstance(found, str):
        return f"{found} {tried}"
    values = found[0].values()
    if values[0] and not any(values[1:]) and not found[1]:
        return ("only the first command after power-up is answered: chip select does not rise between "
                "commands (it must toggle for each one)")  # fmt: skip
    if not any(values) and not found[1]:
        return f"every bit reads 0 {tried}: MISO (SDO) stuck low or not connected, or the chip unpowered (VDD)"
    if all(v == 0xFFFF for v in values) and found[1] == 0xFFFF:
        return (f"every bit reads 1 {tried}: SPIEN strapped low (the chip is in UART mode; SPIEN must be high "
                "for SPI), MISO stuck high, or chip select not reaching the chip")  # fmt: skip
    return f"the bits stay corrupted {tried}: noise on the lines, or a damaged chip"


def _symptom(found: tuple[Coefficients, int] | str, spi: bool) -> str:
    if isinstance(found, str):
        return f"{found}: {SILENT_UART}" if "0 bytes back" in found else found
    return diagnose_coefficients(found[0], found[1], spi=spi)


async def _read_path(bus: ChipBus, res: ChipProbe) -> None:
    try:
        config = {a: await _do(bus, Op.read(a)) or 0 for a in range(0x20) if a in r.BY_ADDR}
        status = await _do(bus, Op.read(ADDR["EMUStatus"])) or 0
        rdata = await _do(bus, Op.read(ADDR["RData"]))
        sys = await _do(bus, Op.read(ADDR["SysStatus"])) or 0
    except AnswerError as e:
        res.checks.append(Check("registers", False, str(e)))
        res.cause = str(e)
        return
    want = emustatus_checksum(config)
    ok = status & 0xFFFF == want
    res.checks.append(Check("configuration checksum", ok, f"EMUStatus {status & 0xFFFF:04X}, registers 00–1F give "
                            f"{want:04X}" + ("" if ok else ": some reads are corrupted")))  # fmt: skip
    res.checks.append(Check("RData", rdata == status, f"{rdata:08X} after reading EMUStatus {status:06X}"
                            if rdata is not None else "no value"))  # fmt: skip
    flags = [t for bit, t in ((r.SYSSTATUS_RST, "reset since the last look"), (r.SYSSTATUS_WREN, "write-enabled"))
             if sys & bit]  # fmt: skip
    res.checks.append(Check("SysStatus", True, f"{sys:02X}" + (f" ({', '.join(flags)})" if flags else "")))
    syscon = config.get(0, 0)
    res.checks.append(Check("SYSCON", True, f"{syscon:04X}" + (" (reset default)" if syscon == 0x0A04 else "")))


async def _write_path(bus: ChipBus, res: ChipProbe) -> None:
    """Write PStartPA with the value it holds: harmless, and proves the write path."""
    addr = ADDR["PStartPA"]
    try:
        value = await _do(bus, Op.read(addr)) or 0
        await _do(bus, Op.command(r.WRITE_ENABLE))
        await _do(bus, Op.write(addr, value))
        wdata = await _do(bus, Op.read(ADDR["WData"]))
        back = await _do(bus, Op.read(addr))
        await _do(bus, Op.command(r.WRITE_PROTECT))
        sys = await _do(bus, Op.read(ADDR["SysStatus"])) or 0
    except AnswerError as e:
        res.checks.append(Check("write and read back", False, str(e)))
        res.cause = str(e)
        return
    ok = wdata == value and back == value and not sys & r.SYSSTATUS_WREN
    detail = "no value"
    if wdata is not None and back is not None:
        detail = f"PStartPA = {value:04X}: WData {wdata:04X}, read back {back:04X}"
    if not ok:
        detail += "; the write did not arrive as sent (MOSI, the clock or the write enable)"
    res.checks.append(Check("write and read back", ok, detail))
    if not ok:
        res.cause = detail
