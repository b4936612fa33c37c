"""The gateway's side of one HLW8112, sans-IO: what to send, what came back, what it means.

The chip answers transactions (hlw8112/frames.py); the adapter runs the one :meth:`ChipSession.pending`
names — over UART it sends the bytes and waits for ``answer_size`` bytes, over SPI it clocks them
out and hands back what came in — and passes the answer (``b""`` for none) to :meth:`answer`.

setup: (SPI: EMUCON2 SDOCmos cleared, written blind, so that SDO is push-pull whatever an earlier driver
left: open drain needs a pull-up the board may not have) → SysStatus (clears the
reset flag) → the factory coefficients and their checksum → write
enable → SYSCON, EMUCON, EMUCON2 and the calibration registers (HFConst when the profile sets one), each
confirmed through WData and read back → write protect → select channel A.
running: every ``poll`` seconds the measurements, the energy counters, EMUStatus and SysStatus; a
reset flag or an EMUStatus checksum that no longer matches what was written means the chip lost
its configuration (a brown-out): set it up again and say so (:class:`ChipRestarted`).
A setup that fails names the likely cause (hlw8112/diagnose.py) and is tried again after a pause.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.hlw8112 import convert as cv
from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.cal_registers import ChipCalibration
from tuyameter.hlw8112.diagnose import SILENT_UART, diagnose_coefficients
from tuyameter.hlw8112.frames import AnswerError, Op, answer_value, request
from tuyameter.hlw8112.registers import ADDR, COEFFICIENTS

POLL_NAMES = ("RmsU", "RmsIA", "RmsIB", "PowerPA", "PowerPB", "PowerS", "PowerFactor", "Ufreq", "Energy_PA",
              "Energy_PB", "EMUStatus", "SysStatus")  # fmt: skip
#: the registers a reading also gives as read (RMS and power registers are signed: bit 23 / bit 31)
RAW_NAMES = ("RmsIA", "RmsIB", "PowerPA", "PowerPB", "PowerS")
RETRY_S = 5.0
#: EMUCON2 written blind with SDOCmos clear (SDO push-pull, the reset default), between write enable and protect
SDO_PUSH_PULL = (Op.command(r.WRITE_ENABLE), Op.write(ADDR["EMUCON2"], r.EMUCON2_VREF_SEL), Op.command(r.WRITE_PROTECT))
#: the energy a session counts, kWh: per channel and direction, and of the two channels' net flow
ENERGY_NAMES = ("forward_a", "reverse_a", "forward_b", "reverse_b", "forward_total", "reverse_total")


@dataclass(frozen=True)
class ChipConfig:
    board: cv.Board = field(default_factory=cv.Board)
    #: channel B reads a current transformer (EMUCON comp_off, EMUCON2 CHS_IB)
    ct_b: bool = True
    hfconst: int | None = None
    #: the calibration the chip applies itself (gains, phase, offsets: datasheet §11)
    calibration: ChipCalibration = field(default_factory=ChipCalibration)
    poll: float = 1.0
    #: seconds an answer may take over UART (a few bytes at 4800 baud take ~10 ms)
    answer_timeout: float = 0.2

    def syscon(self) -> int:
        b = self.board
        return (r.SYSCON_ADC_U | r.SYSCON_ADC_IA | r.SYSCON_ADC_IB | r.pga_code(b.pga_b) << 6
                | r.pga_code(b.pga_u) << 3 | r.pga_code(b.pga_a))  # fmt: skip

    def emucon(self) -> int:
        return r.EMUCON_PARUN | r.EMUCON_PBRUN | (r.EMUCON_COMP_OFF if self.ct_b else 0)

    def emucon2(self) -> int:
        """Energy kept when read, power factor and frequency measured (PfactorEN; ZxEN needs WaveEN), channel
        B on current for a CT, the internal reference, and SDO push-pull (SDOCmos 0), as after reset."""
        bits = (r.EMUCON2_VREF_SEL | r.EMUCON2_EPA_CB | r.EMUCON2_EPB_CB | r.EMUCON2_PFACTOR_EN | r.EMUCON2_WAVE_EN
                | r.EMUCON2_ZX_EN)  # fmt: skip
        if self.ct_b:
            bits |= r.EMUCON2_CHS_IB
        return bits

    def writes(self) -> list[tuple[str, int]]:
        out = [("SYSCON", self.syscon()), ("EMUCON", self.emucon()), ("EMUCON2", self.emucon2())]
        out += self.calibration.writes()
        if self.hfconst is not None:
            out.append(("HFConst", self.hfconst))
        return out


@dataclass(frozen=True)
class Transaction:
    op: Op
    data: bytes  # to send (UART) or clock out (SPI)
    answer_size: int  # bytes to wait for (UART); len(data) for SPI
    timeout: float


@dataclass(frozen=True)
class ChipReady:
    time: float
    coefficients: cv.Coefficients
    hfconst: int


@dataclass(frozen=True)
class ChipReading:
    time: float
    values: dict[str, float | bool | None]
    #: energy counted by the chip since the session started, kWh per channel and direction
    energy: dict[str, float]
    #: the measurement registers as read (signed where the register is), for calibration
    raw: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ChipRestarted:
    time: float
    reason: str


@dataclass(frozen=True)
class ChipFailed:
    time: float
    reason: str


Event = ChipReady | ChipReading | ChipRestarted | ChipFailed


@dataclass
class ChipStats:
    transactions: int = 0
    bad_answers: int = 0
    setups: int = 0
    restarts: int = 0
    polls: int = 0


class ChipSession:
    def __init__(self, config: ChipConfig | None = None, *, spi: bool = False) -> None:
        self.config = config or ChipConfig()
        self.spi = spi
        self.stats = ChipStats()
        self.coefficients: cv.Coefficients | None = None
        self.hfconst = 0x1000
        self.ready = False
        self._events: list[Event] = []
        self._queue: list[Op] = []
        self._plan: str = ""
        self._values: dict[int, int] = {}
        self._next_poll = 0.0
        self._retry_at = 0.0
        self._last_pulses: dict[str, int] = {}
        self.energy: dict[str, float] = dict.fromkeys(ENERGY_NAMES, 0.0)
        self._expected_status: int | None = None
        self._writes: dict[str, int] = {}
        self._wdata_wrong: list[str] = []
        self._last_write: Op | None = None

    # -- the adapter's side -----------------------------------------------------------------

    def start(self, now: float) -> None:
        self._setup(now)

    def pending(self, now: float) -> Transaction | None:
        """The transaction to run now, or None (then wait until :meth:`next_deadline`)."""
        if not self._queue:
            self._plan_next(now)
        if not self._queue:
            return None
        op = self._queue[0]
        data, size = request(op, self.spi)
        return Transaction(op, data, size, 0.0 if self.spi else self.config.answer_timeout)

    def answer(self, data: bytes, now: float) -> None:
        """What came back for the pending transaction (``b""``: nothing within its timeout)."""
        op = self._queue.pop(0)
        self.stats.transactions += 1
        if op.kind == "write":
            self._last_write = op
        if op.kind != "read":
            return
        try:
            value = answer_value(op, data, self.spi)
        except AnswerError as e:
            self.stats.bad_answers += 1
            self._fail(now, f"{op.describe()}: {e if data else SILENT_UART}")
            return
        self._values[op.addr] = value
        w = self._last_write
        if op.addr == ADDR["WData"] and w is not None and value != w.value & 0xFFFF:
            self._wdata_wrong.append(f"WData reads 0x{value:04X} after {w.describe()}")

    def next_deadline(self, now: float) -> float:
        if self._queue:
            return now
        due = self._next_poll if self.ready else self._retry_at
        return max(due, now)

    def events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    # -- plans ------------------------------------------------------------------------------

    def _setup(self, now: float) -> None:
        self.ready, self._plan = False, "setup"
        self.coefficients = None
        self.stats.setups += 1
        ops = [Op.read(ADDR["SysStatus"]), *(Op.read(c.addr) for c in COEFFICIENTS), Op.read(ADDR["Coeff_chksum"])]
        if self.spi:  # SDO back to push-pull before anything is read, should another driver have left it open
            ops[:0] = SDO_PUSH_PULL  # drain: a board without a pull-up on SDO reads only zeros then
        self._queue = ops
        self._values = {}

    def _plan_next(self, now: float) -> None:
        """The queue ran empty: the next step of the plan."""
        if self._plan == "setup" and ADDR["Coeff_chksum"] in self._values and self.coefficients is None:
            self._check_coefficients(now)
        elif self._plan == "configure":
            self._verify_configuration(now)
        elif self._plan == "poll":
            self._take_poll(now)
        elif self._plan == "failed" and now >= self._retry_at:
            self._setup(now)
        elif self.ready and now >= self._next_poll:
            self._plan = "poll"
            self._next_poll = max(self._next_poll + self.config.poll, now)
            self._queue = [Op.read(ADDR[n]) for n in POLL_NAMES]

    def _check_coefficients(self, now: float) -> None:
        values = {c.addr: self._values[c.addr] for c in COEFFICIENTS}
        coeff = cv.Coefficients.from_registers(values)
        got = self._values[ADDR["Coeff_chksum"]]
        if coeff.checksum() != got or not any(coeff.values()):
            self._fail(now, diagnose_coefficients(coeff, got, spi=self.spi))
            return
        self.coefficients = coeff
        self._writes = dict(self.config.writes())
        ops = [Op.command(r.WRITE_ENABLE)]
        for name, value in self._writes.items():
            ops += [Op.write(ADDR[name], value), Op.read(ADDR["WData"]), Op.read(ADDR[name])]
        ops += [Op.command(r.WRITE_PROTECT), Op.command(r.CHANNEL_A), Op.read(ADDR["SysStatus"])]
        ops += [Op.read(ADDR["HFConst"]), Op.read(ADDR["EMUStatus"])]
        self._wdata_wrong = []
        self._last_write = None
        self._queue = ops
        self._plan = "configure"

    def _verify_configuration(self, now: float) -> None:
        if self._wdata_wrong:
            self._fail(now, f"{self._wdata_wrong[0]}: the write did not reach the chip as sent (MOSI, the SPI mode "
                            "or clock, or the UART line)")  # fmt: skip
            return
        for name, value in self._writes.items():
            got = self._values.get(ADDR[name])
            if got != value:
                shown = "nothing" if got is None else f"0x{got:04X}"
                self._fail(now, f"failed to write {name} (0x{ADDR[name] | 0x80:02X}) = 0x{value:04X}: it reads back "
                                f"{shown}; the write-enable or the write did not reach the chip, or reads are "
                                "corrupted (see probe)")  # fmt: skip
                return
        status = self._values.get(ADDR["SysStatus"], 0)
        if status & r.SYSSTATUS_WREN:
            self._fail(now, "the chip stayed write-enabled after the write protect command")
            return
        self.hfconst = self._values.get(ADDR["HFConst"], 0x1000) or 0x1000
        self._expected_status = self._values.get(ADDR["EMUStatus"], 0) & 0xFFFF
        self._last_pulses = {}
        self.ready, self._plan = True, ""
        self._next_poll = now
        assert self.coefficients is not None
        self._events.append(ChipReady(now, self.coefficients, self.hfconst))

    def _take_poll(self, now: float) -> None:
        self._plan = ""
        v = self._values
        status, sys = v[ADDR["EMUStatus"]], v[ADDR["SysStatus"]]
        # a checksum still being computed (ChksumBusy, DS §9.2) says nothing yet
        settled = not status & r.EMUSTATUS_CHKSUM_BUSY
        changed = settled and self._expected_status is not None and status & 0xFFFF != self._expected_status
        if sys & r.SYSSTATUS_RST or changed:
            why = "reset flag set" if sys & r.SYSSTATUS_RST else "configuration checksum changed"
            self.stats.restarts += 1
            self._events.append(ChipRestarted(now, f"the chip lost its configuration ({why}: a brown-out?)"))
            self._setup(now)
            return
        self.stats.polls += 1
        raw = {n: r.to_signed(v[ADDR[n]], r.BY_NAME[n].size) for n in RAW_NAMES}
        self._events.append(ChipReading(now, self._convert(v, status), dict(self.energy), raw))

    def _convert(self, v: dict[int, int], status: int) -> dict[str, float | bool | None]:
        c, b = self.coefficients, self.config.board
        assert c is not None
        pa = cv.power(v[ADDR["PowerPA"]], c.power_pa, b, "a")
        pb = cv.power(v[ADDR["PowerPB"]], c.power_pb, b, "b")
        net = 0.0
        for ch, name, coeff, p in (("a", "Energy_PA", c.energy_a, pa), ("b", "Energy_PB", c.energy_b, pb)):
            pulses = v[ADDR[name]]
            last = self._last_pulses.get(ch)
            self._last_pulses[ch] = pulses
            if last is not None:
                kwh = cv.energy_kwh((pulses - last) % 2**24, coeff, self.hfconst, b, ch)
                self.energy[("reverse_" if p < 0 else "forward_") + ch] += kwh
                net += -kwh if p < 0 else kwh
        # the house's flow through both clamps, netted per poll: import when A + B draw, export when they give
        self.energy["forward_total" if net >= 0 else "reverse_total"] += abs(net)
        return {
            "voltage": round(cv.voltage(v[ADDR["RmsU"]], c.rms_u, b), 2),
            "current_a": round(cv.current(v[ADDR["RmsIA"]], c.rms_ia, b, "a"), 4),
            "current_b": round(cv.current(v[ADDR["RmsIB"]], c.rms_ib, b, "b"), 4),
            "power_a": round(pa, 2),
            "power_b": round(pb, 2),
            "apparent_power_a": round(cv.power(v[ADDR["PowerS"]], c.power_s, b, "a"), 2),
            "power_factor_a": round(cv.power_factor(v[ADDR["PowerFactor"]]), 4),
            "frequency": None if (f := cv.frequency(v[ADDR["Ufreq"]])) is None else round(f, 3),
            "reverse_a": bool(status & r.EMUSTATUS_REVPA),
            "reverse_b": bool(status & r.EMUSTATUS_REVPB),
        }

    def _fail(self, now: float, reason: str) -> None:
        self.ready, self._plan = False, "failed"
        self.coefficients = None
        self._queue = []
        self._retry_at = now + RETRY_S
        self._events.append(ChipFailed(now, reason))
