"""The gateway: meters supervised one by one, the store behind its writer, periods in a real zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from e2e import run_cli, start_sim
from pg import Postgres
from tuyameter.energy.periods import PeriodTotals, local_zone, summarize, window_start
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.pipeline import MeterStatus, MeterUpdate
from tuyameter.profiles import find_profile
from tuyameter.store.postgres import PostgresStore
from tuyameter.store.sqlite import SqliteStore
from tuyameter.util.backoff import Backoff

PROFILE = find_profile("pj1103a")
FAST = "sim://pj1103a?speed=30&seed={}"


def fast_backoff() -> Backoff:
    return Backoff(initial=0.05, maximum=0.3)


async def wait_for(pred: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.02)


class Collect:
    def __init__(self, fail_for: str | None = None) -> None:
        self.updates: list[MeterUpdate] = []
        self.statuses: list[MeterStatus] = []
        self.fail_for = fail_for

    def of(self, meter: str) -> list[MeterUpdate]:
        return [u for u in self.updates if u.meter == meter]

    async def update(self, u: MeterUpdate) -> None:
        self.updates.append(u)
        if u.meter == self.fail_for:
            raise RuntimeError("this output cannot handle that meter")

    async def status(self, s: MeterStatus) -> None:
        self.statuses.append(s)


def test_a_failing_meter_restarts_alone_while_the_other_goes_on() -> None:
    async def main() -> None:
        out = Collect(fail_for="bad")
        meters = [MeterConfig("good", FAST.format(1)), MeterConfig("bad", FAST.format(2))]
        async with Gateway(
            meters, {"good": PROFILE, "bad": PROFILE}, outputs=[out], restart_backoff=fast_backoff
        ) as gw:
            await wait_for(lambda: gw.diagnostics("bad")["meter_restarts"] >= 3, 30, "three restarts of 'bad'")  # type: ignore[operator]
            n = len(out.of("good"))
            await wait_for(lambda: len(out.of("good")) >= n + 5, 10, "five more updates of 'good'")
            good, bad = gw.diagnostics("good"), gw.diagnostics("bad")
            assert good["meter_restarts"] == 0 and good["online"]
            assert "cannot handle" in str(bad["last_error"])
            # energy accounting of the failing meter is kept across its restarts: never backwards
            totals = [u.values["energy_forward_total"] for u in out.of("bad") if "energy_forward_total" in u.values]
            assert totals == sorted(totals)

    asyncio.run(main())


@pytest.fixture
def pg() -> object:
    server = Postgres()
    yield server
    server.stop()


@pytest.mark.slow
def test_postgres_outage_mid_run_keeps_meters_running_and_history_whole(
    pg: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = pg.new_database("gw")
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        out = Collect()
        meters = [MeterConfig("a", FAST.format(3)), MeterConfig("b", FAST.format(4))]
        gw = Gateway(meters, {"a": PROFILE, "b": PROFILE}, store=lambda: PostgresStore(dsn), outputs=[out])
        async with gw:
            w = gw.writer
            assert w is not None
            await wait_for(lambda: w.stats.written >= 6, 20, "readings written")
            await asyncio.to_thread(pg.halt)
            await wait_for(lambda: w.stats.store_errors >= 3, 30, "store errors counted")
            n = len(out.updates)
            await wait_for(lambda: len(out.updates) >= n + 6, 10, "updates during the outage")
            assert gw.diagnostics("a")["online"] and gw.diagnostics("b")["online"]
            assert gw.diagnostics("a")["store_errors"] == w.stats.store_errors
            await asyncio.to_thread(pg.start)
            written = w.stats.written
            await wait_for(lambda: w.stats.last_error is None and w.stats.written > written + 4, 30, "writing again")
        assert w.stats.queued == 0

    asyncio.run(main())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "store:" in r.getMessage()]
    assert 1 <= len(errors) <= 3, [r.getMessage() for r in errors]  # each distinct error once, not per retry
    assert not any("rollback" in r.getMessage() for r in errors)
    # no hole: the buckets hold exactly the energy between the first and the last reading kept
    store = PostgresStore(dsn)
    try:
        for meter in ("a", "b"):
            rows = store._query("SELECT data FROM reading WHERE meter = %s ORDER BY ts", [meter])
            first, last = rows[0][0], rows[-1][0]
            for name in ("energy_forward_total", "energy_forward_a"):
                wh = sum(r.wh for r in store.energy_rows(meter, 0, 1e12) if r.name == name)
                assert wh == pytest.approx((last[name] - first[name]) * 1000, abs=1.5), (meter, name)
    finally:
        store.close()


def test_unreachable_postgres_at_start_is_a_clear_error() -> None:
    from broker import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    r = run_cli("run", "sim://pj1103a", "--db", url, "--duration", "5")
    assert r.returncode == 2, r.stderr
    assert "cannot open the store" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_held_late_direction_values_are_released_when_the_link_goes() -> None:
    sim, path = start_sim("--pty", "--quiet", "--speed", "10", "--quirk", "late-direction")

    async def main() -> None:
        out = Collect()
        cfg = MeterConfig("m", path, late_direction=["b"])
        async with Gateway([cfg], {"m": PROFILE}, outputs=[out]) as gw:
            assert await gw.wait_ready("m", 10)
            await wait_for(lambda: len(out.updates) >= 3, 15, "a few cycles")
            n, k = len(out.updates), len(out.statuses)
            sim.p.kill()  # the far end goes away while channel B's values are held
            await wait_for(lambda: any(not s.online for s in out.statuses[k:]), 15, "link down")
            diag = gw.diagnostics("m")
            assert diag["held_released"] >= 1  # type: ignore[operator]
            assert len(out.updates) > n and "power_b" in out.updates[-1].changed

    try:
        asyncio.run(main())
    finally:
        sim.stop()


# -- today / yesterday / this month ----------------------------------------------------------


def test_live_periods_match_the_store_across_the_dst_night(tmp_path: Path) -> None:
    zone = ZoneInfo("Europe/Berlin")
    store = SqliteStore(tmp_path / "p.db")
    live = PeriodTotals(["energy_forward_total"], zone)
    t = dt.datetime(2026, 10, 24, 20, 7, tzinfo=zone).timestamp()
    end = dt.datetime(2026, 10, 26, 3, 0, tzinfo=zone).timestamp()
    live.seed([], t)
    total, prev = 0.0, None
    checked = 0
    while t < end:
        store.record("m", t, {}, {"energy_forward_total": total}, {})
        if prev is not None:
            live.add(prev, t, {"energy_forward_total": 100.0})
        now = dt.datetime.fromtimestamp(t, zone)
        expected = summarize(store.energy_rows("m", window_start(now).timestamp(), t + 1), now)
        got = live.values(t)
        for k, v in expected.items():
            assert got[k] == pytest.approx(v, abs=0.002), (now, k)
        checked += 1
        prev, t, total = t, t + 600, total + 100.0
    # the 25-hour day: 600 Wh an hour
    assert live.values(end)["energy_forward_total_yesterday"] == pytest.approx(15.0, abs=0.01)
    assert checked > 180
    store.close()


def test_local_zone_has_dst_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    zone = local_zone()
    winter = dt.datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset()
    summer = dt.datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset()
    assert winter == dt.timedelta(hours=1) and summer == dt.timedelta(hours=2)
    # at 23:30 on the 25-hour day, "today" began 24.5 hours earlier, not 23.5 (a fixed offset's answer)
    live = PeriodTotals(["e"], zone)
    now = dt.datetime(2026, 10, 25, 23, 30, tzinfo=zone).timestamp()
    live.seed([], now)
    live.add(now - 25 * 3600, now, {"e": 25000.0})  # 1 kWh an hour for 25 hours, from before midnight
    v = live.values(now)
    assert v["e_today"] == pytest.approx(24.5, abs=0.01) and v["e_yesterday"] == pytest.approx(0.5, abs=0.01)
    assert v["e_this_month"] == pytest.approx(25.0, abs=0.01)


def test_records_of_the_wrong_type_are_counted_in_diagnostics() -> None:
    from tuyameter.sources.tuyamcu import TuyaMcuSource
    from tuyameter.tuyamcu.constants import DPType
    from tuyameter.tuyamcu.dp import DPRecord

    async def main() -> dict[str, object]:
        src = TuyaMcuSource("sim://pj1103a", PROFILE)
        got = src.binding.readings([DPRecord.make(101, DPType.BOOL, True), DPRecord.make(112, DPType.VALUE, 2301)])
        assert got == [("voltage", 230.1)]
        return src.diagnostics()

    diag = asyncio.run(main())
    assert diag["type_mismatches"] == 1 and diag["unknown_dps"] == 0


def test_a_write_to_a_meter_that_is_not_ready_fails_at_once_and_never_lands() -> None:
    async def main() -> None:
        out = Collect()
        cfg = MeterConfig("m", "sim://pj1103a?speed=1&seed=3")
        async with Gateway([cfg], {"m": PROFILE}, outputs=[out]) as gw:
            res = await gw.write("m", "report_rate", 5, timeout=1)  # before the handshake finished
            assert not res.ok and "not ready" in (res.error or "")
            assert await gw.wait_ready("m", 10)
            latest = gw.latest("m")
            await wait_for(lambda: gw.latest("m") is not latest, 15, "a report")
            u = gw.latest("m")
            assert u is not None and u.private.get("report_rate") == 10  # the refused write never arrived

    asyncio.run(main())


def test_a_flood_of_writes_is_bounded_and_the_meter_ends_as_the_last_applied_write() -> None:
    """2,000 writes at once: a few are carried out, the rest are answered 'busy' at once; none
    raises, and the meter's setting is the value of the last write that was reported applied."""

    async def main() -> None:
        out = Collect()
        async with Gateway([MeterConfig("m", FAST.format(4))], {"m": PROFILE}, outputs=[out]) as gw:
            assert await gw.wait_ready("m", 15)
            applied: list[int] = []

            async def one(v: int) -> bool:
                res = await gw.write("m", "report_rate", v, timeout=3)
                if res.ok:
                    applied.append(v)
                return res.ok

            values = [3 + i % 58 for i in range(2000)]
            oks = await asyncio.gather(*(one(v) for v in values))
            d = gw.diagnostics("m")
            assert 1 <= sum(oks) <= 2 * 8 and d["writes_busy"] >= 2000 - 2 * 8 and d["writes_pending"] == 0
            last = applied[-1]
            await wait_for(lambda: (u := gw.latest("m")) is not None and u.private.get("report_rate") == last, 10,
                           f"the meter reporting report_rate {last}")  # fmt: skip
            res = await gw.write("m", "report_rate", 7, timeout=5)  # and the meter still takes writes
            assert res.ok and res.echoed.get("report_rate") == 7

    asyncio.run(main())


def test_an_accepted_write_and_its_confirmation_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tuyameter.gateway")

    async def main() -> None:
        async with Gateway([MeterConfig("m", FAST.format(5))], {"m": PROFILE}) as gw:
            assert await gw.wait_ready("m", 15)
            assert (await gw.write("m", "report_rate", 6, timeout=5)).ok

    asyncio.run(main())
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "m: writing report_rate = 6" in lines
    assert any(line.startswith("m: report_rate = 6 confirmed by the meter (report_rate = 6") for line in lines), lines
