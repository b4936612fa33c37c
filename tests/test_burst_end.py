"""A report burst ends on its content (the profile's last DP of a cycle), the quiet time only as the fallback."""

from __future__ import annotations

import asyncio

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.pipeline.events import Batch
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.sources.tuyamcu.source import SETTLE, TuyaMcuSource
from tuyameter.tuyamcu.constants import WifiState
from tuyameter.tuyamcu.decoder import FrameDecoder
from tuyameter.tuyamcu.session import Session

PROFILE = find_profile("pj1103a")


def _one_cycle_frame_by_frame(source: TuyaMcuSource) -> tuple[list[float | None], list[Batch], list[object]]:
    """Feed one emulated report cycle to the source a frame at a time, 10 ms apart, as the pump would."""
    emu = Pj1103aEmulator(seed=3, report_rate=3)
    emu.wifi_state = WifiState.CLOUD
    emu.tick(10.0)
    frames = [f.encode() for f in FrameDecoder().feed(emu.data_to_send(), 10.0) if hasattr(f, "command")]
    session = Session()
    answers: list[float | None] = []
    for i, raw in enumerate(frames):
        now = 10.0 + 0.01 * i
        session.receive_data(raw, now)
        answers.append(asyncio.run(source._on_events(session.events(), now)))
    out = []
    while not source._out.empty():
        item = source._out.get_nowait()
        if isinstance(item, Batch):
            out.append(item)
    truth = DPBinding(PROFILE).readings(emu.last_truth)
    return answers, out, truth


def test_the_burst_goes_out_when_the_cycles_last_dp_arrives() -> None:
    assert PROFILE.report_ends_with == "energy_reverse_total"
    answers, batches, truth = _one_cycle_frame_by_frame(TuyaMcuSource("sim://pj1103a", PROFILE))
    assert len(batches) == 1 and answers[-1] is None  # out at once: no deadline left to wait for
    first = next(i for i, a in enumerate(answers) if a is not None)  # (the MCU asks the time first)
    assert all(a is not None for a in answers[first:-1])  # held until then
    assert dict(batches[0].readings) == dict(truth)  # the whole cycle, in one batch


def test_without_an_end_dp_the_quiet_time_ends_the_burst() -> None:
    quiet = PROFILE.model_copy(update={"report_ends_with": None})
    answers, batches, _ = _one_cycle_frame_by_frame(TuyaMcuSource("sim://pj1103a", quiet))
    assert batches == []
    last_dp_time = 10.0 + 0.01 * (len(answers) - 1)
    assert answers[-1] == last_dp_time + SETTLE


def test_two_cycles_read_at_once_still_come_out_as_two_batches() -> None:
    """A starved process can take two cycles' bytes in one go: the end DP splits them."""
    emu = Pj1103aEmulator(seed=5, report_rate=3)
    emu.wifi_state = WifiState.CLOUD
    emu.tick(10.0)
    first = emu.data_to_send()
    truth1 = DPBinding(PROFILE).readings(emu.last_truth)
    emu.tick(13.0)
    both = first + emu.data_to_send()
    truth2 = DPBinding(PROFILE).readings(emu.last_truth)
    session, source = Session(), TuyaMcuSource("sim://pj1103a", PROFILE)
    session.receive_data(both, 13.5)
    assert asyncio.run(source._on_events(session.events(), 13.5)) is None
    batches = []
    while not source._out.empty():
        item = source._out.get_nowait()
        if isinstance(item, Batch):
            batches.append(dict(item.readings))
    assert batches == [dict(truth1), dict(truth2)]
