"""The PJ-1103A emulator core: reporting, writes, energy and every quirk."""

from __future__ import annotations

import pytest

from harness import make_loop, traffic
from tuyameter.emulator.quirks import Quirks, parse_quirks
from tuyameter.profiles import find_profile
from tuyameter.profiles.match import match_profile
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.messages import Direction, DPReport, parse

ORDER_A = [102, 112, 113, 101, 110, 111, 115]
ORDER_B = [104, 112, 114, 105, 121, 111, 115]
ENERGY = [106, 107, 108, 109, 130, 131]


def cycle_reports(loop, since: int = 0) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """DP ids of single-DP reports, grouped per report cycle."""
    frames = traffic(loop, Direction.FROM_MCU)[since:]
    cycles: list[list[int]] = [[]]
    for f in frames:
        msg = parse(f, Direction.FROM_MCU)
        if isinstance(msg, DPReport) and len(msg.records) == 1:
            cycles[-1].append(msg.records[0].dp)
            if msg.records[0].dp == 131:
                cycles.append([])
    return [c for c in cycles if c]


def test_report_cycle_order_and_period() -> None:
    loop = make_loop(trace=True, sim_hour=12)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    start = len(traffic(loop, Direction.FROM_MCU))
    loop.run(31)
    cycles = cycle_reports(loop, start)
    assert len(cycles) == 3  # every 10 s, dp129's default
    for c in cycles:  # by day both clamps carry current, so both directions are sent
        assert c == ORDER_A + ORDER_B + ENERGY


def test_no_direction_dp_without_current() -> None:
    loop = make_loop(trace=True, sim_hour=2)  # night: the inverter is idle
    loop.emu.solar.standby = 0.0
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    start = len(traffic(loop, Direction.FROM_MCU))
    loop.run(11)
    c = cycle_reports(loop, start)[0]
    assert 104 not in c and c[c.index(114)] == 114
    reports = [parse(f, Direction.FROM_MCU) for f in traffic(loop, Direction.FROM_MCU)[start:]]
    vals = {r.records[0].dp: r.records[0].value for r in reports if isinstance(r, DPReport) and len(r.records) == 1}
    assert vals[114] == 0 and vals[105] == 0 and vals[121] == 100


def test_no_reports_until_wifi_state_4_and_time_request_at_start() -> None:
    emu = make_loop().emu
    first = emu.data_to_send()
    # local-time request, as in the reference, then UTC as Tuya's MCU SDK asks it (0x0C)
    assert first == bytes.fromhex("55aa031c00001e55aa030c00000e")
    for t in range(0, 100, 5):
        emu.tick(float(t))
    assert emu.cycles == 0 and emu.data_to_send() == b""


def test_query_answer_fits_the_profile() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    seen = {r.dp: r.type for e in loop.of(ev.DPUpdate) for r in e.records}  # type: ignore[attr-defined]
    match = match_profile(find_profile("pj1103a"), seen)
    assert match.fits and not match.missing


def values_after_cycle(loop) -> dict[int, object]:  # type: ignore[no-untyped-def]
    return {r.dp: r.value for r in loop.emu.last_truth}


def test_calibration_scales_reports_and_out_of_range_is_ignored() -> None:
    loop = make_loop(speed=1)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(10)
    v0 = values_after_cycle(loop)[112]
    loop.session.write([DPRecord.make(116, DPType.VALUE, 1100)], loop.t)
    loop.session.write([DPRecord.make(117, DPType.VALUE, 1201)], loop.t)
    loop.run(10)
    v1 = values_after_cycle(loop)[112]
    assert isinstance(v0, int) and isinstance(v1, int)
    assert 1.08 < v1 / v0 < 1.12
    assert loop.emu.coeff[116] == 1100 and loop.emu.coeff[117] == 1000


def test_reset_coefficients() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    for dp in (116, 117, 122, 123):
        loop.session.write([DPRecord.make(dp, DPType.VALUE, 900)], loop.t)
    loop.run(2)
    loop.session.write([DPRecord.make(120, DPType.BOOL, True)], loop.t)
    loop.run(1)
    assert loop.emu.coeff[116] == loop.emu.coeff[117] == 1000
    assert loop.emu.coeff[122] == loop.emu.coeff[123] == 900
    loop.session.write([DPRecord.make(126, DPType.BOOL, True)], loop.t)
    loop.run(1)
    assert all(v == 1000 for v in loop.emu.coeff.values())


def test_report_rate_write_changes_the_period() -> None:
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.session.write([DPRecord.make(129, DPType.VALUE, 5)], loop.t)
    loop.run(0.5)
    c0 = loop.emu.cycles
    loop.run(20.2)
    assert loop.emu.cycles - c0 == 4


def test_energy_accumulates_and_matches_truth() -> None:
    loop = make_loop(speed=60, sim_hour=11)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(120, dt_=0.05)  # two simulated hours
    c, tr = loop.emu.counters, loop.emu.truth
    assert tr.fwd_a > 300 and tr.rev_b > 1000  # Wh: house consumption, solar export by day
    assert c.fwd_a == pytest.approx(tr.fwd_a) and c.total_rev == pytest.approx(tr.total_rev)
    vals = values_after_cycle(loop)
    assert vals[106] == int(c.fwd_a // 10) and vals[131] == int(c.total_rev // 10)


def test_quirk_late_direction_sends_previous_cycle_direction() -> None:
    loop = make_loop(Quirks(late_direction=True), trace=True, sim_hour=6.5, speed=30)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    start = len(traffic(loop, Direction.FROM_MCU))
    truths = []
    sent = []
    for _ in range(60):
        c = loop.emu.cycles
        loop.run_until(lambda c=c: loop.emu.cycles > c, timeout=2)
        truths.append(next((r.value for r in loop.emu.last_truth if r.dp == 104), None))
    reports = [parse(f, Direction.FROM_MCU) for f in traffic(loop, Direction.FROM_MCU)[start:]]
    for r in reports:
        if isinstance(r, DPReport) and len(r.records) == 1 and r.records[0].dp == 104:
            sent.append(r.records[0].value)
    # B goes from stand-by (forward) to export (reverse) at dawn: the DP follows one cycle late
    assert 0 in truths and 1 in truths
    flip = truths.index(1)
    assert sent[flip] == 0 and sent[flip + 1] == 1


def test_quirk_counter_reset_keeps_totals() -> None:
    loop = make_loop(Quirks(counter_reset=1e9), speed=60)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(60, dt_=0.05)
    before = loop.emu.counters.total_fwd
    assert loop.emu.counters.fwd_a > 50
    loop.emu.power_cycle(loop.t)
    assert loop.emu.counters.fwd_a == 0 and loop.emu.counters.total_fwd == before
    loop.run_until(lambda: len(loop.of(ev.LinkUp)) == 2, timeout=20)


def test_quirk_lone_zero() -> None:
    loop = make_loop(Quirks(lone_zero=0.5), speed=10)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    zeros = 0
    for _ in range(20):
        c = loop.emu.cycles
        loop.run_until(lambda c=c: loop.emu.cycles > c, timeout=3)
        v = values_after_cycle(loop)
        zeros += v[101] == 0
    assert 3 <= zeros <= 17


def test_quirk_noise_costs_frames_but_not_the_link() -> None:
    loop = make_loop(Quirks(noise=0.2), speed=10, seed=4)
    loop.run_until(lambda: loop.session.link_up, timeout=15)
    loop.run(30)
    st = loop.session.decoder.stats
    assert st.checksum_errors > 0 and st.garbage_bytes > 0
    assert loop.emu.cycles >= 25 and loop.session.link_up


def test_quirk_reboot_restarts_now_and_then() -> None:
    loop = make_loop(Quirks(reboot=60.0), speed=10, seed=2)
    loop.run(120, dt_=0.01)
    assert loop.emu.power_cycles >= 3
    assert loop.session.stats.mcu_restarts >= 1
    assert loop.session.link_up or loop.session.phase.value != "running"


def test_parse_quirks() -> None:
    q = parse_quirks(["late-direction", "noise=0.1", "reboot", "counter_reset=100", "lone-zero"])
    assert q.late_direction and q.noise == 0.1 and q.reboot == 600 and q.counter_reset == 100 and q.lone_zero == 0.05
    for bad in (["bogus"], ["noise=2"], ["noise=x"], ["reboot=0"]):
        with pytest.raises(ValueError):
            parse_quirks(bad)


def test_heartbeat_reply_is_zero_only_first_time() -> None:
    loop = make_loop(trace=True)
    loop.run(1)
    replies = [f.payload for f in traffic(loop, Direction.FROM_MCU) if f.command == Command.HEARTBEAT]
    assert replies[0] == b"\x00"


@pytest.mark.parametrize("phase", [2.0, 7.5])
def test_a_report_phase_sets_when_in_its_period_a_meter_reports(phase: float) -> None:
    """Meters powered on at different moments report at different points of their period (the
    fleet bench spreads its meters so); the query answer at the handshake is not a report cycle."""
    from harness import FIXED_TIME, Loop
    from tuyameter.emulator.pj1103a import Pj1103aEmulator
    from tuyameter.tuyamcu.session import Session

    emu = Pj1103aEmulator(seed=1, report_rate=10, sim_start=12 * 3600, report_phase=phase)
    loop = Loop(emu, Session(local_time=lambda: FIXED_TIME, trace=True))
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(25)
    starts = []
    for e in loop.events:
        if isinstance(e, ev.Traffic) and e.direction is Direction.FROM_MCU:
            msg = parse(e.frame, Direction.FROM_MCU)
            if isinstance(msg, DPReport) and len(msg.records) == 1 and msg.records[0].dp == ORDER_A[0]:
                starts.append(emu.sim_time(e.time))
    assert len(starts) >= 2 and starts[0] - emu.sim_start < 10  # the first at its phase, not at once
    assert all(abs((s - phase) % 10 - 0) < 0.05 or abs((s - phase) % 10 - 10) < 0.05 for s in starts), starts
