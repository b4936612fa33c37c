"""The accountant against the emulator: totals follow the true energy through power cuts."""

from __future__ import annotations

from harness import make_loop
from tuyameter.emulator.quirks import Quirks
from tuyameter.energy.accountant import Accountant
from tuyameter.meter import MeterState
from tuyameter.profiles import find_profile
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.tuyamcu import events as ev

P = find_profile("pj1103a")


def drive(quirks: Quirks, seconds: float, cuts: int = 0) -> tuple[Accountant, object]:
    loop = make_loop(quirks, speed=60, sim_hour=9, seed=3)
    meter, acc = MeterState(P), Accountant(P)
    seen = 0
    period = seconds / (cuts + 1)
    next_cut = period
    while loop.t < seconds:
        loop.step(0.05)
        ups = [e for e in loop.events[seen:] if isinstance(e, ev.DPUpdate)]
        seen = len(loop.events)
        for u in ups:
            meter.apply(DPBinding(P).readings(u.records))
            acc.update(loop.emu.sim_time(loop.t), meter.values)
        if loop.emu.power_cycles < cuts and loop.t >= next_cut:
            loop.emu.power_cycle(loop.t)
            next_cut += period
    return acc, loop.emu


def test_totals_track_true_energy_without_incidents() -> None:
    acc, emu = drive(Quirks(), 120)  # two simulated hours
    tot, truth = acc.totals_kwh(), emu.truth  # type: ignore[attr-defined]
    assert abs(tot["energy_forward_a"] * 1000 - truth.fwd_a) <= 10
    assert abs(tot["energy_reverse_b"] * 1000 - truth.rev_b) <= 10
    assert abs(tot["energy_forward_total"] * 1000 - truth.total_fwd) <= 10


def test_power_cuts_with_counter_reset_keep_totals_rising_and_true() -> None:
    acc, emu = drive(Quirks(counter_reset=1e12), 180, cuts=3)
    tot, truth = acc.totals_kwh(), emu.truth  # type: ignore[attr-defined]
    assert emu.power_cycles == 3  # type: ignore[attr-defined]
    assert acc.counts.get("reset", 0) >= 3
    # per-channel counters restarted at 0 three times; our totals did not
    assert abs(tot["energy_forward_a"] * 1000 - truth.fwd_a) <= 10
    assert abs(tot["energy_reverse_b"] * 1000 - truth.rev_b) <= 10
    assert abs(tot["energy_forward_total"] * 1000 - truth.total_fwd) <= 10


def test_state_survives_a_restart() -> None:
    acc, _ = drive(Quirks(), 30)
    before = acc.totals_kwh()
    again = Accountant.from_dict(P, acc.to_dict())
    assert again.totals_kwh() == before
