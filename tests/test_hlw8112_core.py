"""The HLW8112 core against the datasheet's own vectors (shared/reference/hlw8112.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyameter.hlw8112 import convert as cv
from tuyameter.hlw8112.frames import AnswerError, Op, spi_answer, spi_request, uart_answer, uart_request
from tuyameter.hlw8112.registers import (
    BY_NAME,
    CHANNEL_A,
    CHANNEL_B,
    REGISTERS,
    RESET,
    WRITE_ENABLE,
    WRITE_PROTECT,
    emustatus_checksum,
    from_signed,
    pga_code,
    pga_gain,
    to_signed,
)


def test_uart_vectors_of_the_datasheet_and_libmcu() -> None:
    assert uart_request(Op.write(0x02, 0x1234)).hex(" ") == "a5 82 12 34 92"  # HFConst = 0x1234
    assert uart_request(Op.command(WRITE_ENABLE)).hex(" ") == "a5 ea e5 8b"
    assert uart_request(Op.command(WRITE_PROTECT)).hex(" ") == "a5 ea dc 94"
    assert uart_request(Op.command(RESET)).hex(" ") == "a5 ea 96 da"
    assert uart_request(Op.command(CHANNEL_A)).hex(" ") == "a5 ea 5a 16"
    assert uart_request(Op.command(CHANNEL_B)).hex(" ") == "a5 ea a5 cb"
    assert uart_request(Op.write(0x00, 0x0A49)).hex(" ") == "a5 80 0a 49 87"
    read = Op.read(0x00)
    assert uart_request(read).hex(" ") == "a5 00"
    assert uart_answer(read, bytes.fromhex("0a 04 4c")) == 0x0A04


def test_a_wrong_answer_is_refused_saying_why() -> None:
    read = Op.read(0x00)
    with pytest.raises(AnswerError, match="checksum 4D, 4C expected"):
        uart_answer(read, bytes.fromhex("0a 04 4d"))
    with pytest.raises(AnswerError, match="2 bytes back, 3 expected"):
        uart_answer(read, bytes.fromhex("0a 04"))
    with pytest.raises(ValueError, match="does not fit"):
        Op.write(0x07, 0x100)  # PhaseA is one byte
    with pytest.raises(ValueError, match="not a special command"):
        Op.command(0x11)
    with pytest.raises(ValueError, match="no register at 0x09"):
        Op.read(0x09)


@given(st.sampled_from(REGISTERS), st.binary(max_size=8))
def test_any_uart_answer_is_a_value_or_an_answer_error(reg: object, data: bytes) -> None:
    op = Op.read(reg.addr)  # type: ignore[attr-defined]
    try:
        v = uart_answer(op, data)
    except AnswerError:
        return
    assert 0 <= v < 1 << (8 * op.size) and len(data) == op.size + 1


def test_spi_frames() -> None:
    assert spi_request(Op.read(0x24)) == bytes((0x24, 0, 0, 0))
    assert spi_request(Op.write(0x02, 0x1234)) == bytes((0x82, 0x12, 0x34))
    assert spi_request(Op.command(WRITE_ENABLE)) == bytes((0xEA, 0xE5))
    assert spi_answer(Op.read(0x24), bytes((0xFF, 0x12, 0x34, 0x56))) == 0x123456


def test_checksums_of_the_datasheet() -> None:
    assert cv.SAMPLE.checksum() == 0xF032
    defaults = {r.addr: r.reset for r in REGISTERS if r.addr < 0x20 and r.reset is not None}
    assert emustatus_checksum(defaults) == 0xB32E


def test_signed_values_and_pga_codes() -> None:
    assert to_signed(0xFFFFFFFF, 4) == -1 and to_signed(0x7FFFFF, 3) == 0x7FFFFF
    assert from_signed(-1, 2) == 0xFFFF
    with pytest.raises(ValueError):
        from_signed(40000, 2)
    assert [pga_gain(pga_code(g)) for g in (1, 2, 4, 8, 16)] == [1, 2, 4, 8, 16]
    assert pga_gain(0b111) == 16  # 1xx is ×16
    assert BY_NAME["SYSCON"].reset == 0x0A04 and BY_NAME["EMUCON2"].reset == 0x0001


def test_conversions_with_the_reference_board() -> None:
    board = cv.Board()  # 1 mΩ shunt at ×16, 1k/1M divider at ×1: what the coefficients assume
    c = cv.SAMPLE
    # a register that reads 2^23 / coefficient × 5000 mA is 5 A
    raw = round(5000 * 2**23 / c.rms_ia)
    assert cv.current(raw, c.rms_ia, board, "a") == pytest.approx(5.0, rel=1e-6)
    raw_u = round(23000 * 2**22 / c.rms_u)
    assert cv.voltage(raw_u, c.rms_u, board) == pytest.approx(230.0, rel=1e-6)
    assert cv.current(0x800001, c.rms_ia, board, "a") == 0.0  # bit 23: no current
    p = round(-1150 * 2**31 / c.power_pa)
    assert cv.power(from_signed(p, 4), c.power_pa, board, "a") == pytest.approx(-1150, rel=1e-6)
    # energy: pulses × coefficient × HFConst / (2^29 × 4096)
    pulses = round(2**29 / c.energy_a)  # one kWh at HFConst 4096
    assert cv.energy_kwh(pulses, c.energy_a, 0x1000, board, "a") == pytest.approx(1.0, rel=1e-4)
    assert cv.frequency(8948) == pytest.approx(50.0, rel=1e-3) and cv.frequency(0) is None
    assert cv.power_factor(0x7FFFFF) == 1.0 and cv.power_factor(from_signed(-0x400000, 3)) == pytest.approx(-0.5)
    # a current transformer on B read at ×1: K1 and the PGA scale the same register value
    ct = cv.Board(k1_b=10.0, pga_b=1)
    assert cv.current(raw, c.rms_ib, ct, "b") == pytest.approx(5.0 * c.rms_ib / c.rms_ia * 16 / 10, rel=1e-6)
