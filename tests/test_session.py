"""The module-side session against the emulator core, on a simulated clock."""

from __future__ import annotations

import datetime as dt
import itertools

from harness import FIXED_TIME, Loop, make_loop, traffic
from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import Direction
from tuyameter.tuyamcu.session import Phase, Session, SessionConfig


def test_handshake_order_and_link_up() -> None:
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    cmds = [f.command for f in traffic(loop, Direction.TO_MCU)]
    hs = [c for c in cmds if c not in (Command.LOCAL_TIME, Command.GMT_TIME)]
    assert hs[:5] == [
        Command.HEARTBEAT,
        Command.PRODUCT_INFO,
        Command.WORKING_MODE,
        Command.WIFI_STATE,
        Command.QUERY_STATE,
    ]
    wifi = next(f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.WIFI_STATE)
    assert wifi.payload == b"\x04" and wifi.version == 0
    up = loop.of(ev.LinkUp)
    assert len(up) == 1
    assert isinstance(up[0], ev.LinkUp) and up[0].product_id == "z95s7p3z54xbsjnl" and up[0].protocol_version == 3
    # the query answer delivers every DP at once
    dps = {r.dp for e in loop.of(ev.DPUpdate) if isinstance(e, ev.DPUpdate) for r in e.records}
    assert set(range(101, 132)) - dps == {120, 126}


def test_time_request_gets_local_time() -> None:
    loop = make_loop(trace=True)
    loop.run(0.5)
    answers = [f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.LOCAL_TIME]
    assert answers and answers[0].payload == bytes((1, 26, 11, 23, 14, 5, 9, FIXED_TIME.isoweekday()))


def test_utc_time_request_is_answered_in_utc() -> None:
    """Tuya's MCU SDK asks 0x0C (get_green_time) at start; unanswered, it timed out every time."""
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    kinds = {(a.utc, a.valid) for a in loop.emu.time_answers}
    assert kinds == {(False, True), (True, True)}
    utc = next(a for a in loop.emu.time_answers if a.utc)
    assert utc.time == FIXED_TIME.astimezone(dt.UTC).replace(tzinfo=None)  # the same instant, in UTC
    gmt = next(f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.GMT_TIME)
    assert len(gmt.payload) == 8 and gmt.payload[0] == 1


def test_working_mode_is_read_the_right_way_round() -> None:
    """Empty 0x02 answer: cooperative (the PJ-1103A). Two bytes: the module's LED and button GPIOs."""
    assert "cooperative" in m.WorkingMode(b"").describe()
    assert (
        "self-processing" in m.WorkingMode(b"\x0e\x00").describe()
        and "GPIO 14" in m.WorkingMode(b"\x0e\x00").describe()
    )


def test_self_processing_mcu_gets_no_wifi_state_and_no_timeouts() -> None:
    """In self-processing mode the MCU does not acknowledge 0x03: sending it with retries added 3 s to
    the handshake and 6 timeouts a minute."""
    emu = Pj1103aEmulator(seed=1, working_mode="self")
    loop = Loop(emu, Session(SessionConfig(), local_time=lambda: FIXED_TIME, trace=True))
    loop.run_until(lambda: loop.session.link_up, timeout=2)  # no 3 s spent on 0x03
    loop.run(65)
    assert not any(f.command == Command.WIFI_STATE for f in traffic(loop, Direction.TO_MCU))
    assert loop.session.stats.timeouts == 0 and emu.wifi_states_heard == 0
    assert emu.cycles >= 6 and loop.of(ev.DPUpdate)  # and it reports all the same
    cooperative = make_loop(trace=True)
    cooperative.run_until(lambda: cooperative.session.link_up, timeout=2)
    assert any(f.command == Command.WIFI_STATE for f in traffic(cooperative, Direction.TO_MCU))


def test_unknown_mcu_command_is_counted_not_malformed() -> None:
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.session.receive_data(Frame(0x3F, b"\x01\x02", 3).encode(), loop.t)
    assert loop.session.stats.unknown_commands == 1 and loop.session.stats.malformed == 0


def test_heartbeats_in_operation_and_link_down_after_misses() -> None:
    cfg = SessionConfig(heartbeat_interval=10.0, heartbeat_timeout=3.0, missed_heartbeats_down=3)
    loop = make_loop(config=cfg, trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(35)
    beats = [f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.HEARTBEAT]
    assert len(beats) == 4  # handshake + at 10, 20, 30 s
    assert not loop.of(ev.LinkDown)
    loop.connected = False
    loop.run(45)
    downs = loop.of(ev.LinkDown)
    assert len(downs) == 1 and "heartbeats" in downs[0].reason  # type: ignore[attr-defined]
    assert loop.session.phase is Phase.HEARTBEAT
    assert loop.session.stats.timeouts >= 3
    loop.connected = True
    loop.run_until(lambda: loop.session.link_up, timeout=10)
    assert len(loop.of(ev.LinkUp)) == 2


def test_mcu_restart_detected_and_handshake_redone() -> None:
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(12)
    loop.emu.power_cycle(loop.t)
    loop.run_until(lambda: loop.of(ev.McuRestarted), timeout=15)
    loop.run_until(lambda: len(loop.of(ev.LinkUp)) == 2, timeout=10)
    assert loop.session.stats.mcu_restarts == 1
    # it reports again after the new handshake
    n = len(loop.of(ev.DPUpdate))
    loop.run(11)
    assert len(loop.of(ev.DPUpdate)) > n


def test_mcu_restart_seen_although_the_link_went_down_while_it_booted() -> None:
    cfg = SessionConfig(heartbeat_interval=1.0, heartbeat_timeout=0.3, missed_heartbeats_down=2)
    loop = make_loop(config=cfg, trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.connected = False  # the MCU loses power: silence long enough for the link to go down
    loop.emu.power_cycle(loop.t)
    loop.run_until(lambda: loop.of(ev.LinkDown), timeout=10)
    loop.connected = True
    loop.run_until(lambda: loop.of(ev.McuRestarted), timeout=10)  # its first answer (0) says so
    assert loop.session.stats.mcu_restarts == 1


def test_wifi_state_is_sent_again_at_once_after_missed_heartbeats() -> None:
    """A rebooted MCU whose first heartbeat answer (0) is lost waits for the Wi-Fi state before it
    reports: after unanswered heartbeats the session tells it again, not a minute later."""
    cfg = SessionConfig(heartbeat_interval=1.0, heartbeat_timeout=0.3, missed_heartbeats_down=3, wifi_refresh=60)
    loop = make_loop(config=cfg, trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.run(5)
    loop.connected = False
    loop.run(1.5)  # one or two heartbeats unanswered, not yet three
    assert not loop.of(ev.LinkDown)
    loop.connected = True
    t0 = loop.t
    n = len(traffic(loop, Direction.TO_MCU))
    loop.run(2)
    wifi = [f for f in traffic(loop, Direction.TO_MCU)[n:] if f.command == Command.WIFI_STATE]
    assert wifi and loop.t - t0 < 60


def test_write_is_echoed_and_confirmed() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    wid = loop.session.write([DPRecord.make(116, DPType.VALUE, 1100)], loop.t)
    loop.run_until(lambda: loop.of(ev.WriteResult), timeout=2)
    res = loop.of(ev.WriteResult)[0]
    assert isinstance(res, ev.WriteResult)
    assert (res.write_id, res.ok, res.attempts, res.echoed) == (wid, True, 1, {116: 1100})
    assert loop.emu.coeff[116] == 1100


def test_refused_write_reports_the_kept_value() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.session.write([DPRecord.make(129, DPType.VALUE, 99)], loop.t)
    loop.run_until(lambda: loop.of(ev.WriteResult), timeout=2)
    res = loop.of(ev.WriteResult)[0]
    assert isinstance(res, ev.WriteResult) and not res.ok and res.echoed == {129: 10}
    assert loop.emu.report_rate == 10


def test_unanswered_write_is_retried_a_bounded_number_of_times() -> None:
    cfg = SessionConfig(write_timeout=0.3, write_retries=3)  # a tight timeout for the test
    loop = make_loop(config=cfg, trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    start = len(traffic(loop, Direction.TO_MCU))
    loop.session.write([DPRecord.make(101, DPType.VALUE, 5)], loop.t)  # read-only: the MCU ignores it
    loop.run_until(lambda: loop.of(ev.WriteResult), timeout=5)
    res = loop.of(ev.WriteResult)[0]
    assert isinstance(res, ev.WriteResult) and not res.ok and res.attempts == 4 and "no echo" in (res.error or "")
    sets = [f for f in traffic(loop, Direction.TO_MCU)[start:] if f.command == Command.SET_DP]
    assert len(sets) == 4


def test_one_outstanding_request_and_spacing() -> None:
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    s = loop.session
    s.write([DPRecord.make(117, DPType.VALUE, 900)], loop.t)
    s.write([DPRecord.make(118, DPType.VALUE, 950)], loop.t)
    t = loop.t + 0.02
    first = s.data_to_send(t)
    assert first and s.data_to_send(t + 0.5) == b""  # the second waits for the first's echo
    loop.t = t
    loop.emu.receive_data(first, loop.t)
    loop.run_until(lambda: len(loop.of(ev.WriteResult)) == 2, timeout=2)
    assert all(r.ok for r in loop.of(ev.WriteResult))  # type: ignore[attr-defined]
    out_times = [e.time for e in loop.events if isinstance(e, ev.Traffic) and e.direction is Direction.TO_MCU]
    gaps = [b - a for a, b in itertools.pairwise(out_times)]
    assert min(gaps) >= s.config.spacing - 1e-9


def test_wifi_state_is_configurable_and_gates_reports() -> None:
    loop = make_loop(config=SessionConfig(wifi_state=3))
    loop.run(25)
    assert loop.session.link_up
    reports = [e for e in loop.of(ev.DPUpdate) if isinstance(e, ev.DPUpdate) and e.command == Command.DP_REPORT]
    # only the query answer: no periodic reports below state 4
    assert len(reports) == 2 and loop.emu.cycles == 0
    loop.session.set_wifi_state(4, loop.t)
    loop.run(11)
    assert loop.emu.cycles >= 1


def test_connection_lost_fails_pending_writes_and_restarts_handshake() -> None:
    loop = make_loop()
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    loop.connected = False
    loop.session.write([DPRecord.make(116, DPType.VALUE, 1000)], loop.t)
    loop.session.connection_lost(loop.t, "cable pulled")
    loop.events += loop.session.events()
    res = loop.of(ev.WriteResult)
    assert res and not res[0].ok and "cable pulled" in (res[0].error or "")  # type: ignore[attr-defined]
    assert loop.of(ev.LinkDown) and loop.session.phase is Phase.HEARTBEAT


def test_answers_mcu_requests() -> None:
    from tuyameter.tuyamcu.frame import Frame

    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    s = loop.session
    for f in (Frame(0x24, b"", 3), Frame(0x2B, b"", 3), Frame(0x22, DPRecord.make(1, DPType.BOOL, True).encode(), 3),
              Frame(0x34, b"\x04", 3), Frame(0x04, b"", 3)):  # fmt: skip
        s.receive_data(f.encode(), loop.t)
    loop.run(0.2)
    sent = {f.command: f.payload for f in traffic(loop, Direction.TO_MCU)}
    assert sent[Command.RSSI] == (-50).to_bytes(1, "big", signed=True)
    assert sent[Command.NETWORK_STATUS] == b"\x04"
    assert sent[Command.DP_REPORT_ACK] == b"\x01"
    assert sent[Command.EXTENDED] == b"\x04\x00"
    assert sent[Command.WIFI_RESET] == b""


def test_time_service_notifications_are_not_claimed_and_unknown_subs_not_answered() -> None:
    """0x34 sub 0x01: the 0x34/0x02 time notifications are not sent, so the answer is 'could not
    start' (status 1), not a success followed by nothing; an unknown sub-command is counted."""
    loop = make_loop(trace=True)
    loop.run_until(lambda: loop.session.link_up, timeout=5)
    n = len(traffic(loop, Direction.TO_MCU))
    loop.session.receive_data(Frame(0x34, b"\x01\x00", 3).encode(), loop.t)  # open, UTC
    loop.session.receive_data(Frame(0x34, b"\x7e", 3).encode(), loop.t)
    loop.run(0.2)
    ext = [f.payload for f in traffic(loop, Direction.TO_MCU)[n:] if f.command == Command.EXTENDED]
    assert ext == [b"\x01\x01"] and loop.session.stats.unknown_commands == 1


def test_heartbeat_is_fast_until_the_first_answer_then_slow() -> None:
    """As a Tuya module after power-on: a heartbeat every second until the MCU answers, then every
    heartbeat_interval (10 s here)."""
    loop = make_loop(trace=True)
    loop.connected = False
    loop.run(4.05)
    beats = [f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.HEARTBEAT]
    assert len(beats) == 5  # at 0, 1, 2, 3, 4 s
    loop.connected = True
    loop.run_until(lambda: loop.session.link_up, timeout=3)
    n = len([f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.HEARTBEAT])
    loop.run(25)
    later = [f for f in traffic(loop, Direction.TO_MCU) if f.command == Command.HEARTBEAT]
    assert len(later) - n == 2  # at 10 and 20 s after the link came up
