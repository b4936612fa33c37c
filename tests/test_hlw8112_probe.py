"""The HLW8112 self-test names each board fault of the emulator, or the change that makes it work."""

from __future__ import annotations

import asyncio
import json

import pytest

from e2e import Proc, run_cli
from tuyameter.tools.hlw8112_probe import probe_chip

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("query", "fix", "cause"),
    [
        ("", None, None),
        ("&fault=no-pullup", "SDO set back to push-pull", None),
        ("&mode=3", "SPI mode 1", None),
        ("&mode=0", "SPI mode 1", None),
        ("&speed=3000000", "a 200 kHz clock", None),
        ("&fault=slow-clock", "a 100 kHz clock", None),
        ("&fault=spien-low", None, "SPIEN strapped low"),
        ("&fault=miso-stuck-1", None, "MISO stuck high"),
        ("&fault=miso-stuck-0", None, "MISO (SDO) stuck low"),
        ("&fault=unpowered", None, "the chip unpowered"),
        ("&fault=no-cs", None, "chip select does not rise between commands"),
    ],
)
def test_each_spi_fault_is_named_or_worked_around(query: str, fix: str | None, cause: str | None) -> None:
    r = asyncio.run(probe_chip(f"spi://sim?seed=2{query}"))
    if cause is None:
        assert r.cause is None and r.ok is (fix is None), r.json()  # a fix: the URL as given does not work
        names = [c.name for c in r.checks if c.ok]
        assert {"factory coefficients", "configuration checksum", "RData", "write and read back"} <= set(names)
        assert r.coefficients and f"{r.coefficients[0]:04X}" == "CAD1"
    else:
        assert r.cause is not None and cause in r.cause, r.json()
        assert not r.ok
    assert r.fix == fix or (fix is not None and r.fix is not None and r.fix.startswith(fix)), r.fix


def test_probe_over_a_uart_finds_the_baud_and_names_a_parity_problem() -> None:
    sim = Proc("sim", "hlw8112", "--pty", "--baud", "19200", "--quiet")
    try:
        url = "serial://" + sim.wait_line(timeout=15).replace("baud=19200", "baud=9600")  # the URL form
        r = run_cli("probe", url, "--json")
        got = json.loads(r.stdout)
        assert r.returncode == 1 and got["ok"] is False and got["fix"] == "19200 baud" and got["wire"] == "uart"
        assert got["cause"] is None and all(c["ok"] for c in got["checks"] if c["name"] != "as given")
    finally:
        sim.stop()
    sim = Proc("sim", "hlw8112", "--pty", "--fault", "parity", "--quiet")
    try:
        r = run_cli("probe", sim.wait_line(timeout=15))
        assert r.returncode == 1
        assert "parity not even (8E1)" in r.stdout and "FAIL" in r.stdout
    finally:
        sim.stop()
