"""The MCU side of a PJ-1103A (DP layout 101–131) as a sans-IO state machine.

Feed it what the module sends (:meth:`receive_data`) and the time
(:meth:`tick`); read what the MCU sends from :meth:`data_to_send`. ``now`` is a
real monotonic time in seconds; the simulated wall clock runs ``speed`` times
faster from ``sim_start`` (local time, seconds since the epoch) and drives the
physics and the report period (DP 129, in simulated seconds).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, replace

from tuyameter.emulator.hostile import injection
from tuyameter.emulator.physics import ChannelSample, Grid, HouseLoad, SolarInverter
from tuyameter.emulator.quirks import Quirks
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command, DPType, WifiState
from tuyameter.tuyamcu.decoder import FrameDecoder
from tuyameter.tuyamcu.dp import DPRecord, encode_records
from tuyameter.tuyamcu.frame import Frame

PRODUCT_ID = "z95s7p3z54xbsjnl"
CAL_DPS = (116, 117, 118, 119, 122, 123, 124, 125, 127, 128)
CAL_RANGE = (800, 1200)
RATE_RANGE = (3, 60)
RESETS = {120: (116, 117, 118, 119, 127), 126: (122, 123, 124, 125, 128)}
#: Below this current a channel reports nothing flowing (no direction DP).
NO_LOAD_A = 0.010
BOOT_DELAY = 0.5
_ENERGY_CAL = {
    ("a", "fwd"): 119,
    ("a", "rev"): 127,
    ("b", "fwd"): 125,
    ("b", "rev"): 128,
}  # real seconds an MCU stays silent while restarting


@dataclass
class Counters:
    """Energy in Wh: per channel forward/reverse plus the power-cut-proof totals."""

    fwd_a: float = 0.0
    rev_a: float = 0.0
    fwd_b: float = 0.0
    rev_b: float = 0.0
    total_fwd: float = 0.0
    total_rev: float = 0.0


class Pj1103aEmulator:
    def __init__(
        self,
        *,
        seed: int = 0,
        report_rate: int = 10,
        quirks: Quirks | None = None,
        speed: float = 1.0,
        sim_start: float = 12 * 3600.0,
        version: int = 3,
        product_id: str = PRODUCT_ID,
        initial_wh: float = 0.0,
        working_mode: str = "cooperative",
        report_phase: float | None = None,
    ) -> None:
        """``report_phase``: where in its report period this meter's own timer reports (seconds of
        simulated time, modulo the rate), as a meter powered on at some moment does; None: the first
        report as soon as reporting starts (meters started together then report together).
        ``working_mode``: "cooperative" (the PJ-1103A: an empty 0x02 answer, reports only once
        told Wi-Fi state 4) or "self" (the module drives LED and button on GPIOs 14 and 0; 0x03 is
        not acknowledged and reports start once the module's heartbeat is heard)."""
        if working_mode not in ("cooperative", "self"):
            raise ValueError(f"working mode {working_mode!r} is not cooperative or self")
        self.working_mode = working_mode
        self.rng = random.Random(seed)
        self.quirks = quirks or Quirks()
        self.speed = speed
        self.version = version
        self.product_id = product_id
        self.sim_start = sim_start
        self.house = HouseLoad(random.Random(seed + 1))
        self.solar = SolarInverter(random.Random(seed + 2))
        self.grid = Grid(random.Random(seed + 3))
        self.hostile_rng = random.Random(seed + 4)
        self.hostile_sent: dict[str, int] = {}
        self.time_answers: list[m.TimeAnswer] = []  # what the module answered to 0x1C and 0x0C
        self.wifi_states_heard = 0
        self.coeff: dict[int, int] = dict.fromkeys(CAL_DPS, 1000)
        self.report_rate = report_rate
        self.report_phase = report_phase
        self.counters = Counters(initial_wh, 0.0, 0.0, initial_wh, initial_wh, initial_wh)
        self.truth = Counters()
        self.decoder = FrameDecoder()
        self._out = bytearray()
        self._t0: float | None = None
        self._last: float | None = None
        self.sample_a = ChannelSample(0.0, 1.0)
        self.sample_b = ChannelSample(0.0, 1.0)
        self.voltage = 230.0
        self.frequency = 50.0
        self.cycles = 0
        self.boots = 0
        self.power_cycles = 0
        self.last_truth: list[DPRecord] = []
        self.last_truth_energy = Counters()
        self._prev_direction: dict[str, int | None] = {"a": None, "b": None}
        self.running = True
        self._booting_until: float | None = None
        self.wifi_state: int | None = None
        self._first_heartbeat = True
        self._next_report = -math.inf
        self._boot(None)

    # -- clock -------------------------------------------------------------

    def sim_time(self, now: float) -> float:
        if self._t0 is None:
            return self.sim_start
        return self.sim_start + (now - self._t0) * self.speed

    # -- sans-IO interface ---------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        self.tick(now)
        if not self.running:
            return  # a restarting MCU hears nothing
        for item in self.decoder.feed(data, now):
            if isinstance(item, Frame):
                self._handle(item, now)

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def tick(self, now: float) -> None:
        if self._t0 is None:
            self._t0 = self._last = now
        assert self._last is not None
        dt_sim = max(0.0, (now - self._last) * self.speed)
        self._last = now
        t = self.sim_time(now)
        self._physics(t, dt_sim)
        if self._booting_until is not None:
            if now < self._booting_until:
                return
            self._booting_until = None
            self.running = True
            self._ask_time()
        q = self.quirks
        if q.reboot is not None and self._chance(dt_sim, q.reboot):
            self.power_cycle(now)
            return
        if q.reboot is None and q.counter_reset is not None and self._chance(dt_sim, q.counter_reset):
            self.power_cycle(now)
            return
        if self._next_report == -math.inf and self.report_phase is not None and self._reporting:
            self._next_report = t + (self.report_phase - t) % self.report_rate
        if self._reporting and t >= self._next_report:
            self._next_report = t + self.report_rate
            self._report_cycle()

    def next_deadline(self, now: float) -> float:
        if self._booting_until is not None:
            return self._booting_until
        if not self._reporting:
            return now + 1.0
        t = self.sim_time(now)
        return now + max(0.0, self._next_report - t) / self.speed

    @property
    def _reporting(self) -> bool:
        """Cooperative: once told Wi-Fi state 4 (cloud). Self-processing: once a heartbeat is heard."""
        if self.working_mode == "cooperative":
            return self.wifi_state == WifiState.CLOUD
        return not self._first_heartbeat

    def power_cycle(self, now: float) -> None:
        """Restart the MCU as after a power cut: handshake anew, maybe lose counters."""
        self.power_cycles += 1
        self._boot(now)

    # -- internals -----------------------------------------------------------

    def _boot(self, now: float | None) -> None:
        self.boots += 1
        self.running = now is None
        self._booting_until = None if now is None else now + BOOT_DELAY
        self.wifi_state = None
        self._first_heartbeat = True
        self._next_report = -math.inf
        self.decoder = FrameDecoder()
        self._out.clear()
        self._prev_direction = {"a": None, "b": None}
        if self.quirks.counter_reset is not None and now is not None:
            c = self.counters
            c.fwd_a = c.rev_a = c.fwd_b = c.rev_b = 0.0
        if now is None:
            self._ask_time()

    def _chance(self, dt: float, mean: float) -> bool:
        return dt > 0 and self.rng.random() < 1 - math.exp(-dt / mean)

    def _physics(self, t: float, dt: float) -> None:
        local_hour = (t % 86400.0) / 3600.0
        self.sample_a = self.house.step(t, dt)
        self.sample_b = self.solar.step(t, local_hour, dt)
        self.voltage = self.grid.voltage(t)
        self.frequency = self.grid.frequency(t)
        if dt <= 0:
            return
        c, tr, k = self.counters, self.truth, self.coeff
        for ch, s in (("a", self.sample_a), ("b", self.sample_b)):
            wh = abs(s.power) * dt / 3600.0
            way = "fwd" if s.power >= 0 else "rev"
            cal = wh * k[_ENERGY_CAL[ch, way]] / 1000
            key = f"{way}_{ch}"
            setattr(c, key, getattr(c, key) + cal)
            setattr(tr, key, getattr(tr, key) + wh)
            setattr(c, f"total_{way}", getattr(c, f"total_{way}") + cal)
            setattr(tr, f"total_{way}", getattr(tr, f"total_{way}") + wh)

    def _send(self, frame: Frame) -> None:
        data = frame.encode()
        if self.quirks.noise and self.rng.random() < self.quirks.noise:
            if self.rng.random() < 0.5:
                self._out += bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 8)))
            else:
                data = data[:-1] + bytes(((data[-1] + 1) & 0xFF,))  # bad checksum: frame lost
        self._out += data

    def _report(self, records: list[DPRecord]) -> None:
        self._send(Frame(Command.DP_REPORT, encode_records(records), self.version))

    def _channel(self, ch: str) -> tuple[float, float, float, int]:
        """Reported (magnitude W, current A, pf, direction) after calibration."""
        s = self.sample_a if ch == "a" else self.sample_b
        kp, ki = (118, 117) if ch == "a" else (124, 123)
        p = abs(s.power)
        current = p / (self.voltage * s.pf) if self.voltage > 0 and s.pf > 0 else 0.0
        if current < NO_LOAD_A:
            return 0.0, 0.0, 1.0, 0
        return p * self.coeff[kp] / 1000, current * self.coeff[ki] / 1000, s.pf, int(s.power < 0)

    def _measurements(self) -> dict[int, int]:
        v = round(self.voltage * self.coeff[116] / 1000 * 10)
        f = round(self.frequency * self.coeff[122] / 1000 * 100)
        pa, ia, pfa, da = self._channel("a")
        pb, ib, pfb, db = self._channel("b")
        c = self.counters
        return {
            101: round(pa * 10), 102: da, 104: db, 105: round(pb * 10), 110: round(pfa * 100), 111: f,
            112: v, 113: round(ia * 1000), 114: round(ib * 1000), 115: round((pa + pb) * 10),
            121: round(pfb * 100), 106: int(c.fwd_a // 10), 107: int(c.rev_a // 10),
            108: int(c.fwd_b // 10), 109: int(c.rev_b // 10), 130: int(c.total_fwd // 10),
            131: int(c.total_rev // 10),
        }  # fmt: skip

    def _report_cycle(self) -> None:
        self.cycles += 1
        meas = self._measurements()
        truth: list[DPRecord] = []
        for ch, group in (("a", (102, 112, 113, 101, 110, 111, 115)), ("b", (104, 112, 114, 105, 121, 111, 115))):
            vals = dict(meas)
            cur_dp = 113 if ch == "a" else 114
            if self.quirks.lone_zero and vals[cur_dp] and self.rng.random() < self.quirks.lone_zero:
                pw_dp = 101 if ch == "a" else 105
                vals[cur_dp] = vals[pw_dp] = 0
            flowing = vals[cur_dp] > 0
            true_dir = vals[group[0]]
            for dp in group:
                if dp == group[0]:
                    if flowing:
                        truth.append(_value_record(dp, true_dir))
                    sent: int | None = true_dir if flowing else None
                    if self.quirks.late_direction:
                        sent, self._prev_direction[ch] = self._prev_direction[ch], sent
                    if sent is not None:
                        self._report([_value_record(dp, sent)])
                    continue
                rec = _value_record(dp, vals[dp])
                truth.append(rec)
                self._report([rec])
        replaced = None
        if self.quirks.hostile and self.hostile_rng.random() < self.quirks.hostile:
            real = Frame(Command.DP_REPORT, encode_records([_value_record(106, meas[106])]), self.version)
            kind, data, replaced = injection(self.hostile_rng, self.version, meas, real.encode())
            self.hostile_sent[kind] = self.hostile_sent.get(kind, 0) + 1
            self._out += data
        for dp in (106, 107, 108, 109, 130, 131):
            rec = _value_record(dp, meas[dp])
            if dp == replaced:
                continue  # a spike in its place this cycle
            truth.append(rec)
            self._report([rec])
        self.last_truth = truth
        self.last_truth_energy = replace(self.truth)  # true energy as of this cycle

    def state_records(self) -> list[DPRecord]:
        """Every DP with its current value, as a 0x08 query answers."""
        meas = self._measurements()
        recs = [_value_record(dp, v) for dp, v in sorted(meas.items())]
        recs += [_value_record(dp, self.coeff[dp]) for dp in CAL_DPS]
        recs.append(_value_record(129, self.report_rate))
        recs.append(DPRecord.make(103, DPType.BOOL, False))
        return recs

    def _ask_time(self) -> None:
        """At boot the MCU asks for local time (0x1C) and, as Tuya's MCU SDK does, UTC (0x0C)."""
        self._send(Frame(Command.LOCAL_TIME, b"", self.version))
        self._send(Frame(Command.GMT_TIME, b"", self.version))

    def _handle(self, frame: Frame, now: float) -> None:
        msg = m.parse(frame, m.Direction.TO_MCU)
        v = self.version
        if isinstance(msg, m.Heartbeat):
            self._send(Frame(Command.HEARTBEAT, b"\x00" if self._first_heartbeat else b"\x01", v))
            self._first_heartbeat = False
        elif isinstance(msg, m.ProductInfoQuery):
            info = json.dumps({"p": self.product_id, "v": "1.0.0", "m": 0}, separators=(",", ":"))
            self._send(Frame(Command.PRODUCT_INFO, info.encode(), v))
        elif isinstance(msg, m.WorkingModeQuery):
            self._send(Frame(Command.WORKING_MODE, b"" if self.working_mode == "cooperative" else bytes((14, 0)), v))
        elif isinstance(msg, m.WifiStateMsg):
            self.wifi_state = msg.state
            self.wifi_states_heard += 1
            if self.working_mode == "cooperative":  # in self-processing mode 0x03 is not acknowledged
                self._send(Frame(Command.WIFI_STATE, b"", v))
        elif isinstance(msg, m.QueryState):
            recs = self.state_records()
            half = len(recs) // 2
            self._report(recs[:half])
            self._report(recs[half:])
        elif isinstance(msg, m.SetDP):
            for rec in msg.records:
                self._write(rec, now)
        elif isinstance(msg, m.TimeAnswer):
            self.time_answers.append(msg)

    def _write(self, rec: DPRecord, now: float) -> None:
        value = rec.value
        if rec.dp in CAL_DPS and rec.type is DPType.VALUE and isinstance(value, int):
            if CAL_RANGE[0] <= value <= CAL_RANGE[1]:
                self.coeff[rec.dp] = value
            self._report([_value_record(rec.dp, self.coeff[rec.dp])])
        elif rec.dp == 129 and rec.type is DPType.VALUE and isinstance(value, int):
            if RATE_RANGE[0] <= value <= RATE_RANGE[1]:
                self.report_rate = value
                self._next_report = self.sim_time(now) + value
            self._report([_value_record(129, self.report_rate)])
        elif rec.dp in RESETS and rec.type is DPType.BOOL:
            if value:
                for dp in RESETS[rec.dp]:
                    self.coeff[dp] = 1000
            recs = [DPRecord.make(rec.dp, DPType.BOOL, bool(value))]
            recs += [_value_record(dp, self.coeff[dp]) for dp in RESETS[rec.dp]]
            self._report(recs)
        # Anything else (read-only or unknown DPs) is ignored, as the device does.


def _value_record(dp: int, value: int) -> DPRecord:
    if dp in (102, 104):
        return DPRecord.make(dp, DPType.ENUM, value)
    return DPRecord.make(dp, DPType.VALUE, value)
