"""The HLW8112 emulator spoken to through the codec, byte for byte, on both wires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyameter.emulator.hlw8112_bench import BenchFile, parse_bench
from tuyameter.emulator.hlw8112_chip import Hlw8112Chip, Truth
from tuyameter.emulator.hlw8112_wire import Hlw8112Wire
from tuyameter.hlw8112 import convert as cv
from tuyameter.hlw8112 import registers as r
from tuyameter.hlw8112.frames import Op, spi_answer, spi_request, uart_answer, uart_request

REG = r.BY_NAME


class Uart:
    def __init__(self, wire: Hlw8112Wire) -> None:
        self.wire = wire

    def __call__(self, op: Op) -> int | None:
        back = self.wire.uart_feed(uart_request(op))
        return uart_answer(op, back) if op.kind == "read" else None


class Spi:
    def __init__(self, wire: Hlw8112Wire, mode: int = 1, hz: int = 500_000) -> None:
        self.wire, self.mode, self.hz = wire, mode, hz

    def __call__(self, op: Op) -> int | None:
        rx = self.wire.spi_transfer(spi_request(op), self.mode, self.hz)
        return spi_answer(op, rx) if op.kind == "read" else None


def rd(io: Uart | Spi, name: str) -> int:
    v = io(Op.read(REG[name].addr))
    assert v is not None
    return v


@pytest.mark.parametrize("kind", [Uart, Spi])
def test_reset_defaults_checksums_and_write_protection(kind: type) -> None:
    io = kind(Hlw8112Wire())
    assert rd(io, "SYSCON") == 0x0A04 and rd(io, "HFConst") == 0x1000 and rd(io, "EMUCON2") == 0x0001
    assert rd(io, "Coeff_chksum") == 0xF032 == cv.Coefficients.from_registers(
        {REG[n].addr: rd(io, n) for n in ("RmsIAC", "RmsIBC", "RmsUC", "PowerPAC", "PowerPBC", "PowerSC",
                                          "EnergyAC", "EnergyBC")}).checksum()  # fmt: skip
    assert rd(io, "EMUStatus") & 0xFFFF == 0xB32E
    assert rd(io, "SysStatus") & r.SYSSTATUS_RST and not rd(io, "SysStatus") & r.SYSSTATUS_RST  # cleared on read
    io(Op.write(REG["HFConst"].addr, 0x1234))  # protected: refused …
    assert rd(io, "HFConst") == 0x1000 and rd(io, "WData") == 0x1234  # … though WData took the data
    io(Op.command(r.WRITE_ENABLE))
    assert rd(io, "SysStatus") & r.SYSSTATUS_WREN
    io(Op.write(REG["HFConst"].addr, 0x1234))
    assert rd(io, "HFConst") == 0x1234 and rd(io, "RData") == 0x1234
    assert rd(io, "EMUStatus") & 0xFFFF == (0xB32E - (0x1234 - 0x1000)) & 0xFFFF  # the checksum follows
    io(Op.command(r.WRITE_PROTECT))
    io(Op.write(REG["HFConst"].addr, 0x0100))
    assert rd(io, "HFConst") == 0x1234
    io(Op.command(r.CHANNEL_B))
    assert rd(io, "EMUStatus") & r.EMUSTATUS_CHANNEL_B
    io(Op.command(r.RESET))
    assert io.wire.uart_feed(uart_request(Op.read(0))) == b""  # deaf for 60 ms after a reset
    io.wire.advance(0.07)
    assert rd(io, "HFConst") == 0x1000 and rd(io, "SysStatus") & r.SYSSTATUS_RST


MEASURE = r.EMUCON2_PFACTOR_EN | r.EMUCON2_WAVE_EN | r.EMUCON2_ZX_EN


def _configure(io: Uart | Spi, keep_energy: bool = True, measure: int = MEASURE) -> None:
    io(Op.command(r.WRITE_ENABLE))
    io(Op.write(REG["SYSCON"].addr, 0x0A04 | r.SYSCON_ADC_IB))  # channel B's ADC on
    io(Op.write(REG["EMUCON"].addr, r.EMUCON_PARUN | r.EMUCON_PBRUN | r.EMUCON_COMP_OFF))
    bits = r.EMUCON2_CHS_IB | measure | (r.EMUCON2_EPA_CB | r.EMUCON2_EPB_CB if keep_energy else 0)
    io(Op.write(REG["EMUCON2"].addr, 0x0001 | bits))
    io(Op.command(r.WRITE_PROTECT))


@pytest.mark.parametrize("kind", [Uart, Spi])
def test_measurements_convert_back_to_the_truth(kind: type) -> None:
    wire = Hlw8112Wire(Hlw8112Chip(board=cv.Board(k1_b=2.0)))
    io = kind(wire)
    _configure(io)
    truth = Truth(volts=231.4, hz=49.97, amps_a=4.2, amps_b=6.1, watts_a=950.0, watts_b=-1380.0)
    wire.advance(1.0, truth)
    board, c = cv.Board(k1_b=2.0, pga_b=1), cv.SAMPLE  # SYSCON 0x0E04: IA ×16, U ×1, IB ×1
    assert cv.voltage(rd(io, "RmsU"), c.rms_u, board) == pytest.approx(231.4, rel=5e-3)
    assert cv.current(rd(io, "RmsIA"), c.rms_ia, board, "a") == pytest.approx(4.2, rel=5e-3)
    assert cv.current(rd(io, "RmsIB"), c.rms_ib, board, "b") == pytest.approx(6.1, rel=5e-3)
    assert cv.power(rd(io, "PowerPA"), c.power_pa, board, "a") == pytest.approx(950.0, rel=5e-3)
    assert cv.power(rd(io, "PowerPB"), c.power_pb, board, "b") == pytest.approx(-1380.0, rel=5e-3)
    assert cv.frequency(rd(io, "Ufreq")) == pytest.approx(49.97, rel=5e-3)
    status = rd(io, "EMUStatus")
    assert status & r.EMUSTATUS_REVPB and not status & r.EMUSTATUS_REVPA
    assert not status & (r.EMUSTATUS_NOPLDA | r.EMUSTATUS_NOPLDB)  # both above the creep threshold
    assert cv.power_factor(rd(io, "PowerFactor")) == pytest.approx(950.0 / (231.4 * 4.2), rel=5e-3)
    wire.advance(1.0, Truth(volts=231.4, amps_a=0.0005, watts_a=0.1))
    nopld = r.EMUSTATUS_NOPLDA | r.EMUSTATUS_NOPLDB
    assert rd(io, "EMUStatus") & nopld == nopld


def test_channel_b_reads_nothing_until_configured_for_current() -> None:
    wire = Hlw8112Wire()
    io = Uart(wire)
    wire.advance(1.0, Truth(amps_b=5.0, watts_b=1000.0))
    assert rd(io, "RmsIB") == 0 and rd(io, "PowerPB") == 0


@pytest.mark.parametrize("keep", [True, False])
def test_a_day_of_energy_within_a_watt_hour(keep: bool) -> None:
    wire = Hlw8112Wire()
    io = Spi(wire)
    _configure(io, keep_energy=keep)
    board, c = cv.Board(), cv.SAMPLE
    true_wh, total_pulses, last = 0.0, 0, 0
    for minute in range(24 * 60):
        watts = 300 + 2500 * (minute % 97 == 0) + 40 * (minute % 13)
        wire.advance(60.0, Truth(amps_a=watts / 230, watts_a=watts))
        true_wh += watts / 60
        if minute % 5 == 4:
            raw = rd(io, "Energy_PA")
            total_pulses += (raw - last) % 2**24 if keep else raw
            last = raw if keep else 0
    kwh = cv.energy_kwh(total_pulses, c.energy_a, rd(io, "HFConst"), board, "a")
    assert kwh * 1000 == pytest.approx(true_wh, abs=1.0)


def test_spi_faults_show_as_real_boards_show_them() -> None:
    def syscon(**kw: object) -> int:
        faults = kw.pop("faults", ())
        return rd(Spi(Hlw8112Wire(faults=faults), **kw), "SYSCON")  # type: ignore[arg-type]

    assert syscon() == 0x0A04
    assert syscon(faults=("spien-low",)) == 0xFFFF
    assert syscon(faults=("miso-stuck-0",)) == 0 and syscon(faults=("miso-stuck-1",)) == 0xFFFF
    assert syscon(faults=("unpowered",)) == 0
    for mode in (0, 2, 3):
        assert syscon(mode=mode) != 0x0A04  # strict to mode 1: the bits come one edge off
    assert syscon(hz=2_000_000) != 0x0A04  # too fast: bits corrupt (half of them at this speed)
    assert syscon(faults=("slow-clock",), hz=400_000) != 0x0A04
    assert syscon(faults=("slow-clock",), hz=50_000) == 0x0A04
    # SDO left open drain (SDOCmos 1) with no pull-up: zeros until a blind write clears SDOCmos (DS §9.1.3)
    wire = Hlw8112Wire(faults=("no-pullup",))
    io = Spi(wire)
    assert rd(io, "SYSCON") == 0
    io(Op.command(r.WRITE_ENABLE))
    io(Op.write(REG["EMUCON2"].addr, 0x0001))
    assert rd(io, "SYSCON") == 0x0A04
    io(Op.write(REG["EMUCON2"].addr, 0x0001 | r.EMUCON2_SDOCMOS))  # open drain again: nothing pulls SDO high
    assert rd(io, "SYSCON") == 0
    # after a reset SDO is push-pull (EMUCON2 0001): the same board reads
    wire.chip.power_on()
    assert rd(io, "SYSCON") == 0x0A04
    # chip select that never rises: the first command works, nothing after it
    io = Spi(Hlw8112Wire(faults=("no-cs",)))
    assert rd(io, "SYSCON") == 0x0A04 and rd(io, "SYSCON") == 0


def test_uart_faults() -> None:
    assert Hlw8112Wire(faults=("unpowered",)).uart_feed(uart_request(Op.read(0))) == b""
    assert Hlw8112Wire(faults=("parity",)).uart_feed(uart_request(Op.read(0))) == b""  # A5 has even parity
    wire = Hlw8112Wire(faults=("brownout",))
    io = Uart(wire)
    io(Op.command(r.WRITE_ENABLE))
    io(Op.write(REG["HFConst"].addr, 0x2000))
    wire.advance(25.0)
    assert rd(io, "HFConst") == 0x1000 and rd(io, "SysStatus") & r.SYSSTATUS_RST
    with pytest.raises(ValueError, match="unknown HLW8112 fault 'smoke'"):
        Hlw8112Wire(faults=("smoke",))


def test_a_frame_cut_by_a_pause_is_dropped_and_the_next_one_understood() -> None:
    wire = Hlw8112Wire()
    req = uart_request(Op.write(REG["HFConst"].addr, 0x1234))
    wire.uart_feed(uart_request(Op.command(r.WRITE_ENABLE)))
    assert wire.uart_feed(req[:3]) == b""
    wire.advance(0.2)
    assert uart_answer(Op.read(0), wire.uart_feed(uart_request(Op.read(0)))) == 0x0A04
    assert wire.chip.reg("HFConst") == 0x1000


@given(st.lists(st.binary(max_size=12), max_size=20))
def test_garbage_on_the_uart_never_breaks_the_emulator(chunks: list[bytes]) -> None:
    wire = Hlw8112Wire()
    for c in chunks:
        wire.uart_feed(c)
        wire.advance(0.01)
    wire.advance(1.0)  # whatever came, a pause ends it and the chip answers again
    back = wire.uart_feed(uart_request(Op.read(REG["Coeff_chksum"].addr)))
    assert back and uart_answer(Op.read(REG["Coeff_chksum"].addr), back) == 0xF032


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.dictionaries(
            st.sampled_from(["volts", "load_a", "pf_a", "hz", "other"]),
            st.one_of(st.floats(), st.integers(), st.booleans(), st.text(), st.none()),
        ).map(json.dumps),
    )
)
def test_a_bench_file_is_a_load_or_a_clear_error(text: str) -> None:
    try:
        truth = parse_bench(text, "bench.json")
    except ValueError as e:
        assert str(e).startswith("bench.json: ")
        return
    assert 80 <= truth.volts <= 300 and truth.amps_a >= abs(truth.watts_a) / truth.volts * 0.999


def test_a_bench_file_edit_switches_the_load_and_a_bad_edit_keeps_the_last(tmp_path: Path) -> None:
    f = tmp_path / "bench.json"
    f.write_text('{"volts": 230, "load_a": 1000}')
    bench = BenchFile(str(f))
    assert bench.truth.watts_a == 1000 and bench.poll() is None
    f.write_text('{"volts": 230, "load_a": 60, "pf_a": 0.5}')
    new = bench.poll()
    assert new is not None and new.watts_a == 60 and new.amps_a == pytest.approx(60 / 115)
    f.write_text('{"volts": 20}')
    assert bench.poll() is None and bench.bad_edits == 1 and bench.truth.watts_a == 60
