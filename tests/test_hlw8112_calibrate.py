"""Calibrating an HLW8112 board: the solver's arithmetic and refusals, and the whole command against an
emulated bench whose board and chip are off from what the profile says."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from e2e import run_cli
from tuyameter.hlw8112.calibrate import Board, CalibrationError, Reference, solve
from tuyameter.profiles.loader import load_profile
from tuyameter.sources.hlw8112.source import chip_config
from tuyameter.tools.hlw8112_calibrate import collect

pytestmark = pytest.mark.timeout(120)
BENCH = "spi://sim?volts=231.5&load_a=2000&load_b=-1500&k1_a=5.2&k1_b=4.9&k2=0.98&perr_a=0.015&perr_b=-0.01"


def test_the_solver_scales_k_by_what_is_read_and_puts_the_rest_in_the_gain() -> None:
    board = Board(5.0, 5.0, 1.0)
    # read 2 % high on volts, 4 % on A's current, A's power 1 % more than K explains
    reading = {"voltage": 234.6, "current_a": 8.0 * 1.04, "power_a": 1840.0 * 1.02 * 1.04 * 1.01}
    out = solve(board, [reading] * 3, Reference(230.0, {"a": 1840.0}, {"a": 8.0}))
    assert out.board.k2 == pytest.approx(1.02) and out.board.k1_a == pytest.approx(5.2)
    assert out.board.pa_gain == round((1 / 1.01 - 1) * 32768) and out.board.k1_b == 5.0 and out.board.pb_gain == 0
    assert any("k2 1 → 1.02" in n for n in out.notes)


@pytest.mark.parametrize(
    ("reading", "ref", "says"),
    [
        ({"voltage": 300.0, "current_a": 8.0}, Reference(230.0, amps={"a": 8.0}), "more than 25% off"),
        ({"voltage": 230.0, "current_a": 0.1}, Reference(230.0, {"a": 20.0}), "too small a load"),
        ({"voltage": 230.0, "current_a": 8.0}, Reference(50.0, {"a": 2000.0}), "not a mains voltage"),
        ({"current_a": 8.0}, Reference(230.0, {"a": 2000.0}), "no voltage was read"),
        ({"voltage": 230.0}, Reference(230.0, {"a": 2000.0}), "no current was read"),
        ({"voltage": 230.0, "current_a": 0.8}, Reference(230.0, {"a": 2000.0}), "Check the reference"),
    ],
)
def test_the_solver_refuses_what_cannot_be_a_calibration(reading: dict[str, float], ref: Reference, says: str) -> None:
    with pytest.raises(CalibrationError, match=says):
        solve(Board(5.0, 5.0, 1.0), [reading], ref)  # type: ignore[list-item]


def test_calibrate_writes_a_profile_that_reads_the_bench_within_half_a_percent(tmp_path: Path) -> None:
    out = tmp_path / "garage.yaml"
    r = run_cli("calibrate", BENCH, "--profile", "hlw8112_clamps", "--volts", "231.5", "--watts-a", "2000",
                "--watts-b", "-1500", "--samples", "4", "-o", str(out), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["ok"] is True and all(abs(v["error"]) <= 0.005 for v in got["after"].values())
    assert got["board"]["k2"] == pytest.approx(0.98, rel=1e-3) and got["board"]["k1_a"] == pytest.approx(5.2, rel=1e-3)
    profile = load_profile(out)
    assert profile.name == "hlw8112_clamps_calibrated" and profile.hlw8112 is not None
    assert profile.hlw8112.pa_gain < 0 < profile.hlw8112.pb_gain  # A's chip reads high, B's low
    # the calibrated profile, used as any profile: the chip set up with it reads the truth
    readings = asyncio.run(collect(BENCH, chip_config(profile), 3, 30, lambda s: None))
    v = readings[-1]
    assert v["voltage"] == pytest.approx(231.5, rel=5e-3)
    assert v["power_a"] == pytest.approx(2000, rel=5e-3) and v["power_b"] == pytest.approx(-1500, rel=5e-3)
    assert v["current_a"] == pytest.approx(2000 / 231.5, rel=5e-3)


def test_calibrate_refuses_without_a_reference_and_names_a_broken_board(tmp_path: Path) -> None:
    r = run_cli("calibrate", BENCH, "--profile", "hlw8112_clamps", "--volts", "231", "-o", str(tmp_path / "x.yaml"))
    assert r.returncode == 2 and "give the reference of at least one clamp" in r.stderr
    r = run_cli("calibrate", BENCH, "--profile", "pj1103a", "--volts", "231", "--watts-a", "2000",
                "-o", str(tmp_path / "x.yaml"))  # fmt: skip
    assert r.returncode == 2 and "has no hlw8112: section" in r.stderr
    r = run_cli("calibrate", "spi://sim?fault=spien-low", "--profile", "hlw8112_clamps", "--volts", "231",
                "--watts-a", "2000", "-o", str(tmp_path / "x.yaml"))  # fmt: skip
    assert r.returncode == 1 and "SPIEN strapped low" in r.stderr and not (tmp_path / "x.yaml").exists()
    r = run_cli("calibrate", BENCH, "--profile", "hlw8112_clamps", "--volts", "231.5", "--watts-a", "900",
                "-o", str(tmp_path / "x.yaml"))  # fmt: skip
    assert r.returncode == 1 and "more than 25% off" in r.stderr
