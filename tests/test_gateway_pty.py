"""The gateway runner (pyserial on a real pty) against the emulator program: writes and quirks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from e2e import start_sim
from tuyameter.gateway.runner import MeterConfig, MeterRunner, WriteRefused
from tuyameter.gateway.types import MeterStatus, MeterUpdate
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


def with_runner(sim_args: list[str], body: Callable[[MeterRunner, Collect], Awaitable[Any]], **cfg: Any) -> None:
    sim, path = start_sim("--pty", "--quiet", *sim_args)

    async def main() -> None:
        out = Collect()
        runner = MeterRunner(MeterConfig(id="m", url=path, **cfg), PROFILE, [out])
        task = asyncio.ensure_future(runner.run())
        try:
            await asyncio.wait_for(runner.link_ready.wait(), 10)
            await body(runner, out)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(main())
    finally:
        sim.stop()


def test_writes_are_validated_echoed_and_applied() -> None:
    async def body(runner: MeterRunner, out: Collect) -> None:
        res = await runner.write("calibration_voltage", 1.1)
        assert res.ok and res.echoed == {116: 1100}
        res = await runner.write("report_rate", 3)
        assert res.ok
        for name, value, msg in (
            ("report_rate", 99, "outside 3..60"),
            ("calibration_current_a", 1.25, "outside 0.8..1.2"),
            ("power_a", 5, "read-only"),
            ("nonsense", 1, "no DP named"),
        ):
            with pytest.raises(WriteRefused, match=msg.replace(".", r"\.")):
                await runner.write(name, value)
        res = await runner.write("reset_coefficients_a", True)
        assert res.ok and res.echoed == {120: True}
        # reports now come every 3 s
        n = len(out.updates)
        await asyncio.sleep(7)
        assert 2 <= len(out.updates) - n <= 4
        assert runner.meter.values["calibration_voltage"] == 1.0 and runner.meter.values["report_rate"] == 3

    with_runner([], body)


def test_all_quirks_at_once_the_gateway_carries_on() -> None:
    async def body(runner: MeterRunner, out: Collect) -> None:
        await wait_for(lambda: runner.session.stats.mcu_restarts >= 1, 60)
        await wait_for(lambda: runner.online, 15)
        n = len(out.updates)
        await wait_for(lambda: len(out.updates) > n + 2, 20)
        diag = runner.diagnostics()
        assert diag["checksum_errors"] + diag["resyncs"] > 0  # type: ignore[operator]
        assert diag["mcu_restarts"] >= 1 and diag["online"] and diag["updates"] == len(out.updates)  # type: ignore[operator]
        assert all(u.values.get("power_a", 0) >= 0 for u in out.updates)
        assert any(not s.online for s in out.statuses)

    args = ["--speed", "10", "--seed", "5", "--quirk", "late-direction", "--quirk", "noise=0.05",
            "--quirk", "counter-reset", "--quirk", "lone-zero=0.2", "--quirk", "reboot=60"]  # fmt: skip
    with_runner(args, body, late_direction=["b"], suppress_lone_zeros=True, heartbeat_interval=2.0)


def test_late_direction_option_pairs_direction_with_its_values() -> None:
    """Across sunrise, with the quirk on, the option keeps power_b's sign equal to direction_b."""

    async def body(runner: MeterRunner, out: Collect) -> None:
        await wait_for(lambda: any(u.values.get("direction_b") == "reverse" for u in out.updates), 30)
        await asyncio.sleep(3)
        for u in out.updates:
            p, d = u.values.get("power_b"), u.values.get("direction_b")
            if isinstance(p, float) and p != 0:
                assert (p < 0) == (d == "reverse"), u.values

    with_runner(["--speed", "30", "--start", "06:29", "--quirk", "late-direction"], body, late_direction=["b"])
