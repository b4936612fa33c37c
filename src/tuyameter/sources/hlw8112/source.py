"""The HLW8112 source: a chip read directly over SPI or UART, with explicit connection states.

connecting (opening the bus) → handshaking (coefficients, configuration written and verified) →
ready (a batch of readings every poll) → down (the chip does not answer as it should: the reason
names the likely board fault; the session tries again every few seconds) … A chip that lost its
configuration (brown-out) is set up again and its next batch says it restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from tuyameter.hlw8112 import convert as cv
from tuyameter.hlw8112.cal_registers import ChipCalibration
from tuyameter.hlw8112.session import (
    ChipConfig,
    ChipFailed,
    ChipReading,
    ChipReady,
    ChipRestarted,
    ChipSession,
    Event,
    Transaction,
)
from tuyameter.pipeline.events import Batch, SourceState, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome, validate_write
from tuyameter.profiles.model import Profile, Value
from tuyameter.sources.base import SourceOptions
from tuyameter.sources.hlw8112.bus import BusError, ChipBus, is_spi_url, open_bus, parse_spi_url, uart_link_url
from tuyameter.sources.hlw8112.drive import drive
from tuyameter.sources.hlw8112.traffic import chip_lines
from tuyameter.sources.running import RunningSource
from tuyameter.sources.traffic import Tap, to_wall
from tuyameter.sources.tuyamcu.source import scaled_clock
from tuyameter.transport.links import LinkError, check_link_url, parse_link_url
from tuyameter.util.backoff import Backoff

log = logging.getLogger(__name__)


def chip_config(profile: Profile) -> ChipConfig:
    s = profile.hlw8112
    if s is None:
        raise ValueError(f"profile {profile.name!r} has no hlw8112 section (the board): use hlw8112_clamps or "
                         "write one (docs/hlw8112.md)")  # fmt: skip
    board = cv.Board(k1_a=s.k1_a, k1_b=s.k1_b, k2=s.k2, pga_a=s.pga_a, pga_b=s.pga_b, pga_u=s.pga_u)
    return ChipConfig(board=board, ct_b=s.ct_b, hfconst=s.hfconst, poll=s.poll, calibration=ChipCalibration.of(s))


def check_url(url: str) -> None:
    """What is wrong with an HLW8112 URL, before anything is opened (ValueError)."""
    if is_spi_url(url):
        parse_spi_url(url)
        return
    try:
        check_link_url(parse_link_url(uart_link_url(url)))
    except LinkError as e:
        raise ValueError(str(e)) from None


class Hlw8112Source(RunningSource):
    def __init__(self, url: str, profile: Profile, options: SourceOptions | None = None) -> None:
        self.url, self.profile = url, profile
        self.options = opts = options or SourceOptions()
        self.config = chip_config(profile)
        check_url(url)
        self.description = url
        self.names = {q.hlw8112.value: q.name for q in profile.quantities if q.hlw8112 is not None}
        self.session: ChipSession | None = None
        self._bus: ChipBus | None = None
        self._restarted = False
        self.opens = 0
        self.failures = 0
        self.last_failure: str | None = None
        self.batches = 0
        #: while someone looks at the link: its last transactions (sources/traffic.py)
        self._ring: deque[tuple[float, Transaction, bytes]] | None = None
        self._tap = Tap(self._tap_into, size=120)
        super().__init__(scaled_clock(opts.clock_rate) if opts.clock_rate else time.time)

    async def write(self, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome:
        validate_write(self.profile, name, value)  # WriteRefused for what the profile does not allow
        return WriteOutcome(name, value, False, "this source writes no settings to the chip yet")

    def diagnostics(self) -> dict[str, object]:
        s = self.session.stats if self.session is not None else None
        out: dict[str, object] = {"state": self._state.value, "state_detail": self.detail, "bus_opens": self.opens,
                                  "chip_failures": self.failures, "last_failure": self.last_failure,
                                  "batches": self.batches, "batches_dropped": self.batches_dropped}  # fmt: skip
        if s is not None:
            out |= {"transactions": s.transactions, "bad_answers": s.bad_answers, "setups": s.setups,
                    "chip_restarts": s.restarts, "polls": s.polls}  # fmt: skip
        return out

    def recent_traffic(self) -> list[TrafficLine]:
        spi = self._bus.spi if self._bus is not None else is_spi_url(self.url)
        return chip_lines(self._look(), spi, to_wall(asyncio.get_running_loop().time))

    def _tap_into(self, ring: deque[Any] | None) -> None:
        self._ring = ring

    def _trace(self, t: float, tx: Transaction, rx: bytes) -> None:
        if self._ring is not None:
            self._ring.append((t, tx, rx))

    async def _run(self) -> None:
        backoff = Backoff(initial=0.5, maximum=self.options.reconnect_max)
        while True:
            self._set_state(SourceState.CONNECTING, f"opening {self.url}")
            try:
                bus = await open_bus(self.url, self.options.clock_rate)
            except BusError as e:
                self._set_state(SourceState.DOWN, f"cannot open the bus: {e}")
                await asyncio.sleep(backoff.next())
                continue
            self.opens += 1
            self._bus = bus
            clock = getattr(bus, "clock", None)
            if clock is not None:
                self._clock = clock
            try:
                await self._drive(bus)
            except (BusError, LinkError, OSError) as e:
                self._set_state(SourceState.DOWN, f"bus lost: {e}")
            finally:
                self._bus = None
                await bus.close()
            await asyncio.sleep(backoff.next())

    async def _drive(self, bus: ChipBus) -> None:
        session = self.session = ChipSession(self.config, spi=bus.spi)
        self._set_state(SourceState.HANDSHAKING, f"{bus.description}: setting the chip up")
        self._restarted = True  # counters start again with every session
        await drive(bus, session, lambda e: self._on_event(e, bus), self._trace)

    def _on_event(self, e: Event, bus: ChipBus) -> bool:
        if isinstance(e, ChipReady):
            coeff = " ".join(f"{v:04X}" for v in e.coefficients.values())
            self._set_state(SourceState.READY, f"{bus.description}: ready", {"protocol": "hlw8112",
                            "coefficients": coeff, "hfconst": e.hfconst})  # fmt: skip
        elif isinstance(e, ChipReading):
            values = e.values | {f"energy_{k}": round(v, 6) for k, v in e.energy.items()}
            readings = tuple((self.names[k], v) for k, v in values.items() if k in self.names and v is not None)
            self.batches += 1
            self._emit(Batch(self.clock(), readings, self._restarted))
            self._restarted = False
        elif isinstance(e, ChipRestarted):
            log.warning("%s: %s", self.url, e.reason)
            self._restarted = True
            self._set_state(SourceState.HANDSHAKING, e.reason)
        elif isinstance(e, ChipFailed):
            self.failures += 1
            self.last_failure = e.reason
            self._set_state(SourceState.DOWN, e.reason)
        return False  # the source runs until it is stopped
