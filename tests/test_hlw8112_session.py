"""The HLW8112 session driving the chip emulator in-process, over SPI and over UART, byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyameter.emulator.hlw8112_chip import Hlw8112Chip, Truth
from tuyameter.emulator.hlw8112_wire import Hlw8112Wire
from tuyameter.hlw8112 import convert as cv
from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.cal_registers import REGISTER_OF, ChipCalibration
from tuyameter.hlw8112.registers import BY_NAME, from_signed
from tuyameter.hlw8112.session import (
    ChipConfig,
    ChipFailed,
    ChipReading,
    ChipReady,
    ChipRestarted,
    ChipSession,
)

TRUTH = Truth(volts=229.3, hz=50.02, amps_a=4.5, amps_b=7.2, watts_a=930.0, watts_b=-1550.0)
BOARD = cv.Board(k1_a=1.0, k1_b=2.5, k2=1.0, pga_a=16, pga_b=4, pga_u=1)


def drive(session: ChipSession, wire: Hlw8112Wire, seconds: float, *, truth: Truth = TRUTH, mode: int = 1,
          hz: int = 500_000) -> list[object]:  # fmt: skip
    events: list[object] = []
    now = 0.0
    session.start(now)
    wire.advance(0.0, truth)
    while now < seconds:
        while (tx := session.pending(now)) is not None:
            if session.spi:
                rx = wire.spi_transfer(tx.data, mode, hz)
            else:
                rx = wire.uart_feed(tx.data)[: tx.answer_size]
            session.answer(rx, now)
        events += session.events()
        nxt = min(session.next_deadline(now), now + 1.0)
        wire.advance(max(nxt - now, 0.0), truth)
        now = max(nxt, now + 1e-3)
    return events + session.events()


@pytest.mark.parametrize("spi", [True, False], ids=["spi", "uart"])
def test_readings_within_half_a_percent_of_the_truth(spi: bool) -> None:
    wire = Hlw8112Wire(Hlw8112Chip(board=cv.Board(k1_a=1.0, k1_b=2.5)))
    session = ChipSession(ChipConfig(board=BOARD, poll=1.0), spi=spi)
    events = drive(session, wire, 10)
    assert isinstance(events[0], ChipReady) and events[0].coefficients == cv.SAMPLE
    readings = [e for e in events if isinstance(e, ChipReading)]
    assert len(readings) >= 9
    v = readings[-1].values
    for name, want in (("voltage", 229.3), ("frequency", 50.02), ("current_a", 4.5), ("current_b", 7.2),
                       ("power_a", 930.0), ("power_b", -1550.0)):  # fmt: skip
        assert v[name] == pytest.approx(want, rel=5e-3), name
    assert v["reverse_b"] is True and v["reverse_a"] is False
    assert v["power_factor_a"] == pytest.approx(930.0 / (229.3 * 4.5), rel=5e-3)
    assert not any(isinstance(e, ChipFailed | ChipRestarted) for e in events)
    assert session.stats.bad_answers == 0


def test_energy_over_an_emulated_day_within_a_watt_hour() -> None:
    wire = Hlw8112Wire(Hlw8112Chip(board=cv.Board(k1_b=2.5)))
    session = ChipSession(ChipConfig(board=BOARD, poll=30.0), spi=True)
    events = drive(session, wire, 86400)
    last = [e for e in events if isinstance(e, ChipReading)][-1]
    t = last.time
    assert last.energy["forward_a"] * 1000 == pytest.approx(930.0 * t / 3600, abs=1.0)
    assert last.energy["reverse_b"] * 1000 == pytest.approx(1550.0 * t / 3600, abs=1.0)
    assert last.energy["forward_b"] == 0 and last.energy["reverse_a"] == 0


def test_a_brownout_is_noticed_and_the_chip_set_up_again() -> None:
    wire = Hlw8112Wire(Hlw8112Chip(board=cv.Board(k1_b=2.5)), faults=("brownout",))
    events = drive(ChipSession(ChipConfig(board=BOARD), spi=False), wire, 50)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("ChipRestarted") >= 2 and kinds.count("ChipReady") == kinds.count("ChipRestarted") + 1
    restart = next(e for e in events if isinstance(e, ChipRestarted))
    assert "lost its configuration" in restart.reason
    assert [e for e in events if isinstance(e, ChipReading)][-1].values["current_b"] == pytest.approx(7.2, rel=5e-3)


@pytest.mark.parametrize(
    ("spi", "faults", "mode", "hz", "says"),
    [
        (True, ("spien-low",), 1, 500_000, "SPIEN strapped low"),
        (True, ("miso-stuck-1",), 1, 500_000, "MISO stuck high"),
        (True, ("miso-stuck-0",), 1, 500_000, "MISO (SDO) stuck low"),
        (True, ("unpowered",), 1, 500_000, "the chip unpowered"),
        (True, (), 3, 500_000, "the wrong SPI mode"),
        (True, (), 1, 3_000_000, "a clock too fast"),
        (True, ("slow-clock",), 1, 500_000, "a clock too fast"),
        (False, ("unpowered",), 1, 0, "no answer: the chip unpowered"),
        (False, ("parity",), 1, 0, "parity not even"),
    ],
)
def test_a_board_fault_is_named(spi: bool, faults: tuple[str, ...], mode: int, hz: int, says: str) -> None:
    wire = Hlw8112Wire(faults=faults)
    events = drive(ChipSession(spi=spi), wire, 12, mode=mode, hz=hz)
    failed = [e for e in events if isinstance(e, ChipFailed)]
    assert len(failed) == 3  # tried again every 5 s, never a storm
    assert says in failed[0].reason, failed[0].reason
    assert not any(isinstance(e, ChipReady) for e in events)


def test_no_pullup_works_because_sdo_is_driven_first() -> None:
    events = drive(ChipSession(spi=True), Hlw8112Wire(faults=("no-pullup",)), 3)
    assert isinstance(events[0], ChipReady)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=6), min_size=1, max_size=60), st.booleans())
def test_any_answers_give_events_never_a_crash(answers: list[bytes], spi: bool) -> None:
    s = ChipSession(spi=spi)
    s.start(0.0)
    now = 0.0
    for a in answers:
        tx = s.pending(now)
        if tx is None:
            now = s.next_deadline(now)
            continue
        s.answer(a, now)
    for e in s.events():
        assert isinstance(e, ChipReady | ChipReading | ChipRestarted | ChipFailed)
    assert s.next_deadline(now) >= now


@pytest.mark.parametrize("spi", [True, False], ids=["spi", "uart"])
def test_the_calibration_registers_are_written_and_confirmed(spi: bool) -> None:
    cal = {"pa_gain": -481, "pb_gain": 330, "ps_gain": -643, "phase_a": -60, "phase_b": 40, "pa_os": -2963,
           "pb_os": 2352, "rms_ia_os": -9000, "rms_ib_os": -6000}  # fmt: skip
    chip = Hlw8112Chip(board=cv.Board(k1_a=1.0, k1_b=2.5), rms_offset={"a": 9000, "b": 6000})
    session = ChipSession(ChipConfig(board=BOARD, calibration=ChipCalibration(**cal)), spi=spi)
    events = drive(session, Hlw8112Wire(chip), 3, truth=Truth(volts=230.0))
    assert any(isinstance(e, ChipReady) for e in events), events
    for name, attr in REGISTER_OF:
        assert chip.reg(name) == from_signed(cal[attr], BY_NAME[name].size), name
    # the board's noise is gone from the current registers: with no current they read nothing
    last = [e for e in events if isinstance(e, ChipReading)][-1]
    assert last.raw["RmsIA"] == last.raw["RmsIB"] == 0 and last.values["current_a"] == 0.0
    # an offset beyond the noise: RMS below zero sets bit 23, which reads as no current, not a huge one
    chip.rms_offset["a"] = 8000
    chip.advance(0.0)
    assert chip.reg("RmsIA") == 0xFFFFFF - 999 and cv.rms(chip.reg("RmsIA")) == 0


def test_a_checksum_still_being_computed_is_not_taken_for_a_brownout() -> None:
    def run(flip: int) -> ChipSession:
        """After 2 s the chip's EMUStatus reads another checksum, with ``flip`` bits set as well."""
        chip = Hlw8112Chip(board=cv.Board(k1_a=1.0, k1_b=2.5))
        settled = chip._emustatus
        chip._emustatus = lambda: settled() if chip.now < 2 else (settled() ^ 0x1234) | flip  # type: ignore[method-assign]
        session = ChipSession(ChipConfig(board=BOARD), spi=True)
        drive(session, Hlw8112Wire(chip), 6)
        assert session.stats.polls >= 4
        return session

    assert run(r.EMUSTATUS_CHKSUM_BUSY).stats.restarts == 0  # still being computed: not yet a change
    assert run(0).stats.restarts >= 1  # settled and different: the configuration was lost
