"""The gateway (pyserial on a real pty) against the emulator program: writes and quirks."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from e2e import start_sim
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.pipeline import MeterStatus, MeterUpdate, WriteRefused
from tuyameter.profiles import find_profile

pytestmark = pytest.mark.slow
PROFILE = find_profile("pj1103a")


class Collect:
    def __init__(self) -> None:
        self.updates: list[MeterUpdate] = []
        self.statuses: list[MeterStatus] = []

    async def update(self, u: MeterUpdate) -> None:
        self.updates.append(u)

    async def status(self, s: MeterStatus) -> None:
        self.statuses.append(s)


async def wait_for(pred: Callable[[], bool], timeout: float) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def with_gateway(sim_args: list[str], body: Callable[[Gateway, Collect], Awaitable[Any]], **cfg: Any) -> None:
    sim, path = start_sim("--pty", "--quiet", *sim_args)

    async def main() -> None:
        out = Collect()
        async with Gateway([MeterConfig(id="m", url=path, **cfg)], {"m": PROFILE}, outputs=[out]) as gw:
            assert await gw.wait_ready("m", 10)
            await body(gw, out)

    try:
        asyncio.run(main())
    finally:
        sim.stop()


def test_writes_are_validated_echoed_and_applied() -> None:
    async def body(gw: Gateway, out: Collect) -> None:
        res = await gw.write("m", "calibration_voltage", 1.1)
        assert res.ok and res.echoed == {"calibration_voltage": 1.1}
        res = await gw.write("m", "report_rate", 3)
        assert res.ok
        for name, value, msg in (
            ("report_rate", 99, "outside 3..60"),
            ("calibration_current_a", 1.25, "outside 0.8..1.2"),
            ("power_a", 5, "read-only"),
            ("nonsense", 1, "no quantity named"),
            ("report_rate", float("inf"), "not a number"),
            ("calibration_voltage", 1e308, "outside"),
        ):
            with pytest.raises(WriteRefused, match=msg.replace(".", r"\.")):
                await gw.write("m", name, value)
        res = await gw.write("m", "reset_coefficients_a", True)
        assert res.ok and res.echoed == {"reset_coefficients_a": True}
        # reports now come every 3 s (they came every 10 s before)
        times: list[float] = []
        async for _ in gw.updates():
            times.append(asyncio.get_running_loop().time())
            if len(times) == 5:
                break
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < 4.5, gaps
        latest = gw.latest("m")
        assert latest is not None
        assert latest.private["calibration_voltage"] == 1.0 and latest.private["report_rate"] == 3

    with_gateway([], body)


def test_all_quirks_at_once_the_gateway_carries_on() -> None:
    async def body(gw: Gateway, out: Collect) -> None:
        await wait_for(lambda: gw.diagnostics("m")["mcu_restarts"] >= 1, 60)  # type: ignore[operator]
        await wait_for(lambda: bool(gw.diagnostics("m")["online"]), 15)
        n = len(out.updates)
        await wait_for(lambda: len(out.updates) > n + 2, 20)
        diag = gw.diagnostics("m")
        assert diag["checksum_errors"] + diag["resyncs"] > 0  # type: ignore[operator]
        assert diag["mcu_restarts"] >= 1 and diag["online"] and diag["updates"] == len(out.updates)  # type: ignore[operator]
        assert all(u.values.get("power_a", 0) >= 0 for u in out.updates)
        assert any(not s.online for s in out.statuses)

    args = ["--speed", "10", "--seed", "5", "--quirk", "late-direction", "--quirk", "noise=0.05",
            "--quirk", "counter-reset", "--quirk", "lone-zero=0.2", "--quirk", "reboot=60"]  # fmt: skip
    with_gateway(args, body, late_direction=["b"], suppress_lone_zeros=True, heartbeat_interval=2.0)


def test_late_direction_option_pairs_direction_with_its_values() -> None:
    """Across sunrise, with the quirk on, the option keeps power_b's sign equal to direction_b."""

    async def body(gw: Gateway, out: Collect) -> None:
        await wait_for(lambda: any(u.values.get("direction_b") == "reverse" for u in out.updates), 30)
        n = len(out.updates)
        await wait_for(lambda: len(out.updates) >= n + 6, 10)  # a few more cycles after the flip
        for u in out.updates:
            p, d = u.values.get("power_b"), u.values.get("direction_b")
            if isinstance(p, float) and p != 0:
                assert (p < 0) == (d == "reverse"), u.values

    with_gateway(["--speed", "30", "--start", "06:29", "--quirk", "late-direction"], body, late_direction=["b"])
