"""How the HLW8112 source reaches its chip: one transaction at a time (hlw8112/session.py says which).

- :class:`UartBus` — a serial line at 8E1 (a device, ``socket://``, ``rfc2217://`` or an emulator's
  pty): send the request, wait for the answer's bytes or the timeout;
- :class:`SpidevBus` — Linux ``spidev`` (``spi:///dev/spidev0.0?speed=500000&mode=1``), the optional
  ``spidev`` package, each transfer in a worker thread;
- :class:`FtdiBus` — a USB-SPI adapter (FT232H) through the optional ``pyftdi`` package
  (``ftdi://ftdi:232h/1?speed=500000&mode=1``);
- :class:`SimSpiBus` — the emulated chip in-process through the same interface
  (``spi://sim?speed=500000&mode=1&rate=30&seed=1&fault=no-cs``; a calibration bench with
  ``volts=230&load_a=2000&load_b=-1500&k1_a=5.1&k2=0.98&perr_a=0.01``; ``bench=FILE`` for a load that
  can be switched while it runs, emulator/hlw8112_bench.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from tuyameter.emulator.hlw8112_bench import BenchFile
from tuyameter.emulator.hlw8112_meter import CLAMPS, EmulatedHlw8112, steady_load
from tuyameter.emulator.hlw8112_wire import check_faults
from tuyameter.hlw8112.convert import Board
from tuyameter.hlw8112.session import Transaction
from tuyameter.transport.links import Link, LinkError, open_link

DEFAULT_HZ = 500_000
MAX_HZ = 10_000_000


class BusError(Exception):
    """The bus cannot be opened or used (the message says why)."""


class ChipBus(Protocol):
    spi: bool
    description: str

    async def transact(self, t: Transaction) -> bytes: ...

    async def close(self) -> None: ...


def is_spi_url(url: str) -> bool:
    """Whether ``url`` names an SPI bus (spidev, the emulator, an FTDI adapter) rather than a serial line."""
    return url.startswith(("spi:", "ftdi:"))


@dataclass(frozen=True)
class SpiUrl:
    device: str  # /dev/spidevB.C, or "sim"
    hz: int
    mode: int
    params: dict[str, list[str]]


def parse_spi_url(url: str) -> SpiUrl:
    """``spi:///dev/spidevB.C``, ``spi://sim`` or ``ftdi://ftdi:232h/1`` (the device: pyftdi's URL), with
    ``speed`` (Hz), ``mode`` (and for the emulator its bench)."""
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    if parts.scheme == "ftdi":
        device = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    else:
        device = "sim" if parts.netloc == "sim" else parts.path
    if not device:
        raise ValueError(f"{url}: name the device, spi:///dev/spidev0.0, or spi://sim for the emulator")

    def number(key: str, default: int, lo: int, hi: int) -> int:
        v = param(params, key, lo, hi, url, whole=True)
        return default if v is None else int(v)

    hz, mode = number("speed", DEFAULT_HZ, 1000, MAX_HZ), number("mode", 1, 0, 3)
    if device == "sim":
        check_faults(params.get("fault", []))
        number("seed", 0, 0, 2**31)
        number("rate", 1, 1, 10_000)
        for key, (lo, hi) in SIM_FLOATS.items():
            param(params, key, lo, hi, url)
        unknown = set(params) - {"speed", "mode", "seed", "rate", "fault", "start", "bench", *SIM_FLOATS}
    else:
        unknown = set(params) - {"speed", "mode"}
    if unknown:
        raise ValueError(f"{url}: unknown parameter {sorted(unknown)[0]!r}")
    return SpiUrl(device, hz, mode, params)


#: the emulated bench's numbers: a steady load (volts, watts and lagging power factor per clamp) instead
#: of the house and the sun; the board as it really is (K1, K2) and its flaws: the chip's power and
#: apparent power errors, each current sensor's phase lead in degrees, RMS and power offsets in counts
SIM_FLOATS = {"volts": (80.0, 300.0), "load_a": (-30000.0, 30000.0), "load_b": (-30000.0, 30000.0),
              "pf_a": (0.05, 1.0), "pf_b": (0.05, 1.0),
              "k1_a": (0.01, 1000.0), "k1_b": (0.01, 1000.0), "k2": (0.01, 1000.0), "perr_a": (-0.5, 0.5),
              "perr_b": (-0.5, 0.5), "serr": (-0.5, 0.5), "lead_a": (-5.0, 5.0), "lead_b": (-5.0, 5.0),
              "ios_a": (-1e5, 1e5), "ios_b": (-1e5, 1e5), "pos_a": (-1e7, 1e7), "pos_b": (-1e7, 1e7)}  # fmt: skip


def param(params: dict[str, list[str]], key: str, lo: float, hi: float, url: str = "", *,
          whole: bool = False) -> float | None:  # fmt: skip
    """A URL's number (its last value), checked against [lo, hi]; None when the URL has none."""
    values = params.get(key)
    if not values:
        return None
    text = values[-1]
    try:
        v = int(text) if whole else float(text)
    except ValueError:
        raise ValueError(f"{url}: {key} must be a {'whole ' if whole else ''}number, not {text!r}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{url}: {key} must be in {lo:g}..{hi:g}, not {v:g}")
    return v


def sim_meter(params: dict[str, list[str]], rate: float) -> EmulatedHlw8112:
    """The emulated chip an ``spi://sim?…`` URL describes."""
    f = {k: param(params, k, *SIM_FLOATS[k]) for k in SIM_FLOATS}
    seed, starts = int((params.get("seed") or ["0"])[-1]), params.get("start")
    board = CLAMPS
    if any(f[k] is not None for k in ("k1_a", "k1_b", "k2")):
        board = Board(k1_a=f["k1_a"] or CLAMPS.k1_a, k1_b=f["k1_b"] or CLAMPS.k1_b, k2=f["k2"] or CLAMPS.k2)
    steady = None
    if any(f[k] is not None for k in ("volts", "load_a", "load_b")):
        steady = steady_load(f["volts"] or 230.0, f["load_a"] or 0.0, f["load_b"] or 0.0, pf_a=f["pf_a"] or 1.0,
                             pf_b=f["pf_b"] or 1.0)  # fmt: skip

    def per_channel(key: str) -> dict[str, float]:
        return {ch: v for ch in ("a", "b") if (v := f[f"{key}_{ch}"]) is not None}

    return EmulatedHlw8112(seed=seed, speed=rate, faults=tuple(params.get("fault", [])),
                           start=starts[-1] if starts else None, board=board, steady=steady,
                           power_error=per_channel("perr"), apparent_error=f["serr"] or 0.0,
                           phase_error=per_channel("lead"),
                           rms_offset={k: round(v) for k, v in per_channel("ios").items()},
                           power_offset={k: round(v) for k, v in per_channel("pos").items()})  # fmt: skip


class SimSpiBus:
    spi = True

    def __init__(self, u: SpiUrl, clock_rate: float | None) -> None:
        p = u.params
        self.meter = sim_meter(p, float((p.get("rate") or [str(clock_rate or 1)])[-1]))
        self.bench: BenchFile | None = None
        if p.get("bench"):
            try:
                self.bench = BenchFile(p["bench"][-1])
            except (OSError, ValueError) as e:
                raise BusError(f"the bench file: {e}") from None
            self.meter.steady = self.bench.truth
        self.hz, self.mode = u.hz, u.mode
        self.description = f"emulated HLW8112 over SPI (mode {u.mode}, {u.hz} Hz)"

    def clock(self) -> float:
        """The emulator's simulated seconds (it may run faster than the wall clock)."""
        self.meter.sync(time.monotonic())
        return self.meter.sim_t

    async def transact(self, t: Transaction) -> bytes:
        if self.bench is not None and (load := self.bench.poll()) is not None:
            self.meter.steady = load
        self.meter.sync(time.monotonic())
        return self.meter.wire.spi_transfer(t.data, self.mode, self.hz)

    async def close(self) -> None:
        return None


class SpidevBus:
    spi = True

    def __init__(self, u: SpiUrl) -> None:
        try:
            import spidev  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError:
            raise BusError("SPI needs the spidev package: pip install 'tuyameter[spi]'") from None
        name = u.device.rsplit("/", 1)[-1]
        if not name.startswith("spidev") or "." not in name:
            raise BusError(f"{u.device}: an SPI device is /dev/spidevBUS.CS")
        bus, cs = name.removeprefix("spidev").split(".", 1)
        dev: Any = spidev.SpiDev()
        try:
            dev.open(int(bus), int(cs))
        except (OSError, ValueError) as e:
            raise BusError(f"cannot open {u.device}: {e}") from None
        dev.mode, dev.max_speed_hz, dev.bits_per_word = u.mode, u.hz, 8
        self.dev = dev
        self.description = f"{u.device} (SPI mode {u.mode}, {u.hz} Hz)"

    async def transact(self, t: Transaction) -> bytes:
        return bytes(await asyncio.to_thread(self.dev.xfer2, list(t.data)))

    async def close(self) -> None:
        self.dev.close()


class FtdiBus:
    """An FT232H (or another MPSSE FTDI chip) as an SPI master, through pyftdi: chip select 0."""

    spi = True

    def __init__(self, u: SpiUrl) -> None:
        try:
            from pyftdi.spi import SpiController  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError:
            raise BusError("an FTDI adapter needs pyftdi: pip install 'tuyameter[ftdi]'") from None
        ctrl: Any = SpiController(cs_count=1)
        try:
            ctrl.configure(u.device)
            self.port: Any = ctrl.get_port(cs=0, freq=u.hz, mode=u.mode)
        except Exception as e:  # pyftdi and pyusb raise their own kinds (no device, no libusb, busy)
            raise BusError(f"cannot open {u.device}: {e}") from None
        self.ctrl = ctrl
        self.description = f"{u.device} (SPI mode {u.mode}, {u.hz} Hz)"

    async def transact(self, t: Transaction) -> bytes:
        return bytes(await asyncio.to_thread(self.port.exchange, t.data, duplex=True))

    async def close(self) -> None:
        await asyncio.to_thread(self.ctrl.terminate)


class UartBus:
    spi = False

    def __init__(self, link: Link) -> None:
        self.link = link
        self.description = f"{getattr(link, 'description', 'serial line')} (8E1)"
        self._pending = bytearray()

    async def transact(self, t: Transaction) -> bytes:
        self._pending.clear()  # whatever arrived unasked (noise, a late answer) is not this answer
        await self.link.write(t.data)
        if not t.answer_size:
            return b""
        loop = asyncio.get_running_loop()
        end = loop.time() + t.timeout
        while len(self._pending) < t.answer_size:
            left = end - loop.time()
            if left <= 0:
                break
            try:
                self._pending += await asyncio.wait_for(self.link.read(), left)
            except TimeoutError:
                break
        out = bytes(self._pending[: t.answer_size])
        del self._pending[: t.answer_size]
        return out

    async def close(self) -> None:
        await self.link.close()


def uart_link_url(url: str) -> str:
    """The serial line's own URL: ``proto=`` is ours, not pyserial's."""
    parts = urlsplit(url)
    rest = [(k, v) for k, vs in parse_qs(parts.query).items() for v in vs if k != "proto"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))


async def open_bus(url: str, clock_rate: float | None = None) -> ChipBus:
    scheme = urlsplit(url).scheme
    if scheme == "ftdi":
        return await asyncio.to_thread(FtdiBus, parse_spi_url(url))  # USB set-up blocks: not on the loop
    if scheme == "spi":
        u = parse_spi_url(url)
        return SimSpiBus(u, clock_rate) if u.device == "sim" else SpidevBus(u)
    try:
        link = await open_link(uart_link_url(url), 9600, parity="E")
    except LinkError as e:
        raise BusError(str(e)) from None
    return UartBus(link)
