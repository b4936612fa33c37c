"""HLW8112 meters in the gateway: the emulated chip over SPI in-process, beside TuyaMCU meters, into
the same meter model, energy accounting and store; a faulty board named in the meter's status."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from e2e import Proc, run_cli, wait_until
from test_gateway import Collect, fast_backoff, wait_for
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.profiles import find_profile
from tuyameter.sources import open_source
from tuyameter.sources.hlw8112 import Hlw8112Source
from tuyameter.store.sqlite import SqliteStore

CLAMPS = find_profile("hlw8112_clamps")
PJ = find_profile("pj1103a")

pytestmark = pytest.mark.timeout(120)


def test_urls_pick_the_source_and_bad_ones_are_refused_at_once() -> None:
    assert isinstance(open_source("spi://sim?rate=10", CLAMPS), Hlw8112Source)
    assert isinstance(open_source("socket://127.0.0.1:7000?proto=hlw8112", CLAMPS), Hlw8112Source)
    assert type(open_source("socket://127.0.0.1:7000", PJ)).__name__ == "TuyaMcuSource"
    for url, says in (
        ("spi://sim?fault=smoke", "unknown HLW8112 fault 'smoke'"),
        ("spi://sim?speed=fast", "speed must be a whole number"),
        ("spi://sim?mode=4", "mode must be in 0..3"),
        ("spi://sim?colour=red", "unknown parameter 'colour'"),
        ("spi://", "name the device"),
        ("socket://127.0.0.1:7000?proto=bl0942", "no protocol 'bl0942'"),
    ):
        with pytest.raises(ValueError, match=says):
            open_source(url, CLAMPS)
    with pytest.raises(ValueError, match="has no hlw8112 section"):
        open_source("spi://sim", PJ)


def test_an_emulated_chip_beside_a_tuyamcu_meter_and_a_faulty_board(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    out = Collect()
    meters = [
        MeterConfig("chip", "spi://sim?rate=60&seed=3&start=12:00"),
        MeterConfig("broken", "spi://sim?fault=spien-low"),
        MeterConfig("pj", "sim://pj1103a?speed=30&seed=1"),
    ]
    profiles = {"chip": CLAMPS, "broken": CLAMPS, "pj": PJ}

    async def main() -> None:
        gw = Gateway(meters, profiles, store=lambda: SqliteStore(db), outputs=[out], restart_backoff=fast_backoff)
        async with gw:
            await wait_for(lambda: len(out.of("chip")) >= 8 and len(out.of("pj")) >= 3, 60, "both meters reporting")
            await wait_for(lambda: any("SPIEN" in s.detail for s in out.statuses if s.meter == "broken"), 20,
                           "the broken board named")  # fmt: skip
            d = gw.diagnostics("chip")
            assert d["online"] is True and d["bad_answers"] == 0 and d["polls"] >= 8
            assert gw.diagnostics("broken")["chip_failures"] >= 1
            status = gw.status("chip")
            assert status is not None and status.info["protocol"] == "hlw8112"
            assert gw.traffic("chip") == []  # the first look starts keeping the transactions
            await wait_for(lambda: any(t.command == "read RmsU" and not t.outgoing for t in gw.traffic("chip")), 10,
                           "a poll among the last transactions")  # fmt: skip
            lines = gw.traffic("chip")
            answer = next(t for t in lines if t.command == "read RmsU" and not t.outgoing)
            assert answer.text.startswith("0x") and len(answer.raw.split()) == 4  # SPI: address byte + 3
            assert any(t.outgoing and t.raw.startswith("26") for t in lines)  # the request: RmsU is 0x26

    asyncio.run(main())
    ups = out.of("chip")
    v = ups[-1].values
    assert 200 < v["voltage"] < 260 and 49 < v["frequency"] < 51
    assert v["power_a"] > 0 and v["power_b"] < 0  # the house draws, the panels give at noon
    assert v["power_total"] == pytest.approx(v["power_a"] + v["power_b"], abs=0.2)
    fwd = [u.values["energy_forward_a"] for u in ups if "energy_forward_a" in u.values]
    assert fwd == sorted(fwd) and fwd[-1] > 0  # energy only grows
    # the chip's counters go through the same accountant and day totals as a TuyaMCU meter's
    assert "energy_forward_a_meter" in v and "energy_forward_total_today" in v and "energy_reverse_b_today" in v
    assert v["energy_reverse_total_today"] > 0
    rev = [u.values["energy_reverse_b"] for u in ups if "energy_reverse_b" in u.values]
    assert rev[-1] > rev[0]
    store = SqliteStore(db)
    assert "chip" in store.meters() and store.last_record("chip") is not None
    store.close()


def _start_chip(*args: str) -> tuple[Proc, str]:
    proc = Proc("sim", "hlw8112", "--start", "12:00", *args)
    return proc, proc.wait_line(timeout=15)


@pytest.mark.parametrize("where", ["--pty", "--tcp"])
def test_run_reads_the_chip_emulator_over_a_uart(where: str) -> None:
    sim, url = _start_chip(where, *(["127.0.0.1:0"] if where == "--tcp" else []), "--speed", "20", "--json")
    assert "proto=hlw8112" in url
    gw = Proc("run", url, "--profile", "hlw8112_clamps", "--id", "chip", "--no-store", "--json")
    try:
        ups = gw.wait_json(5, timeout=30)
        truth = [j for j in sim.json_lines() if "volts" in j]
        v = ups[-1]["values"]
        assert min(t["volts"] for t in truth) - 3 < v["voltage"] < max(t["volts"] for t in truth) + 3
        assert v["power_a"] > 0 and v["power_b"] < 0 and 49.5 < v["frequency"] < 50.5
        fwd = [u["values"]["energy_forward_a"] for u in ups]
        assert fwd == sorted(fwd)
    finally:
        gw.stop()
        sim.stop()


def test_a_silent_chip_is_named_in_the_status_line() -> None:
    sim, url = _start_chip("--pty", "--fault", "unpowered", "--quiet")
    gw = Proc("run", url, "--profile", "hlw8112_clamps", "--id", "chip", "--no-store")
    try:
        wait_until(lambda: any("no answer: the chip unpowered" in e for e in gw.err), 20, "the diagnosis")
    finally:
        gw.stop()
        sim.stop()


def test_a_missing_spi_device_is_a_clear_error() -> None:
    from tuyameter.sources.hlw8112.bus import BusError, open_bus

    with pytest.raises(BusError, match=r"pip install 'tuyameter\[spi\]'|cannot open /dev/spidev9\.9"):
        asyncio.run(open_bus("spi:///dev/spidev9.9?speed=400000"))
    with pytest.raises(BusError, match=r"pip install 'tuyameter\[spi\]'|an SPI device is /dev/spidevBUS\.CS"):
        asyncio.run(open_bus("spi:///dev/ttyS0"))


def test_an_ftdi_adapter_that_is_not_there_is_a_clear_error() -> None:
    from tuyameter.sources.hlw8112.bus import BusError, open_bus

    assert isinstance(open_source("ftdi://ftdi:232h/1?speed=400000", CLAMPS), Hlw8112Source)
    with pytest.raises(ValueError, match=r"mode must be in 0\.\.3"):
        open_source("ftdi://ftdi:232h/1?mode=9", CLAMPS)
    # no adapter on this machine (and perhaps no libusb): pyftdi's own reason, named with the URL
    with pytest.raises(BusError, match=r"cannot open ftdi://ftdi:232h/1: "):
        asyncio.run(open_bus("ftdi://ftdi:232h/1?speed=400000"))
    r = run_cli("probe", "ftdi://ftdi:232h/1", "--json")
    assert r.returncode == 1 and "cannot open the bus: cannot open ftdi://ftdi:232h/1" in r.stdout
