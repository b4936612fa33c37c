"""The monotonic counter stream: steps, refinement, resets, glitches, jumps, persistence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyameter.energy.stream import CounterEvent, CounterStream

BIG = 1e9


def test_starts_at_the_meter_counter_and_follows_steps() -> None:
    s = CounterStream()
    assert s.counter(16650.0, BIG) is CounterEvent.FIRST
    assert s.total_wh == 16650.0
    assert s.counter(16660.0, BIG) is CounterEvent.STEP
    assert s.total_wh == 16660.0


def test_integration_refines_between_steps_but_never_overtakes_the_next_step() -> None:
    s = CounterStream()
    s.counter(1000.0, BIG)
    s.integrate(4.0)
    assert s.total_wh == 1004.0
    s.integrate(30.0)  # far more than one step: held just below the next counter step
    assert 1009.99 < s.total_wh < 1010.0
    s.counter(1010.0, BIG)
    assert 1010.0 <= s.total_wh < 1020.0


def test_power_cut_reset_keeps_the_total_rising() -> None:
    s = CounterStream()
    s.counter(50_000.0, BIG)
    s.integrate(6.0)
    before = s.total_wh
    assert s.counter(0.0, BIG) is CounterEvent.SUSPECT_DROP
    assert s.total_wh == before
    # Restarted from 0: the 10 Wh it counted since, plus the 6 Wh fraction the cut took
    # from the old counter (seen by power integration), are kept.
    assert s.counter(10.0, BIG) is CounterEvent.RESET
    assert s.total_wh >= before and s.base_wh == pytest.approx(50_016.0)
    s.counter(20.0, BIG)
    assert s.base_wh == pytest.approx(50_026.0)
    s.counter(25_000.0, BIG)
    # a drop to a non-zero value waits for confirmation too (it may be a corrupt reading);
    # a second low reading confirms it, and everything since zero counts
    assert s.counter(40.0, BIG) is CounterEvent.SUSPECT_DROP
    assert s.counter(50.0, BIG) is CounterEvent.RESET
    assert s.base_wh == pytest.approx(50_026.0 + 24_980.0 + 50.0)
    # after an MCU restart even a zero is a reset at once, not a glitch
    assert s.counter(0.0, BIG, restarted=True) is CounterEvent.RESET
    assert s.base_wh == pytest.approx(50_026.0 + 24_980.0 + 50.0)


def test_restart_that_climbed_back_to_the_old_level_is_a_reset() -> None:
    """The demo restarted three times on one db: each new meter counted 0 → 10 Wh again."""
    s = CounterStream()
    s.counter(10.0, BIG)
    assert s.counter(0.0, BIG) is CounterEvent.SUSPECT_DROP
    s.integrate(9.0)  # the power that flowed while the counter climbed back
    assert s.counter(10.0, BIG) is CounterEvent.RESET
    assert s.base_wh == s.total_wh == pytest.approx(20.0)


def test_single_spike_is_not_a_power_cut() -> None:
    s = CounterStream()
    s.counter(1000.0, BIG)
    assert s.counter(901_000.0, max_step_wh=50.0) is CounterEvent.IMPLAUSIBLE_JUMP
    # the next real reading is an ordinary step from where the counter really was
    assert s.counter(1010.0, max_step_wh=50.0) is CounterEvent.STEP
    assert s.total_wh == 1010.0 and s.pending_drop is None


def test_lone_zero_is_ignored() -> None:
    s = CounterStream()
    s.counter(50_000.0, BIG)
    assert s.counter(0.0, BIG) is CounterEvent.SUSPECT_DROP
    assert s.counter(50_010.0, BIG) is CounterEvent.LONE_ZERO
    assert s.base_wh == 50_010.0


def test_implausible_jump_is_not_counted() -> None:
    s = CounterStream()
    s.counter(1000.0, max_step_wh=BIG)
    assert s.counter(900_000.0, max_step_wh=50.0) is CounterEvent.IMPLAUSIBLE_JUMP
    assert s.total_wh == 1000.0
    # it stays there: followed from the new level, the jump itself never counted
    assert s.counter(900_010.0, max_step_wh=50.0) is CounterEvent.REBASED
    assert s.total_wh == 1000.0
    assert s.counter(900_020.0, max_step_wh=50.0) is CounterEvent.STEP
    assert s.total_wh == 1010.0


def test_state_round_trips() -> None:
    s = CounterStream()
    s.counter(1000.0, BIG)
    s.integrate(3.5)
    t = CounterStream.from_dict(s.to_dict())
    assert t == s
    t.counter(1010.0, BIG)
    assert t.total_wh == 1010.0


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("c"), st.floats(0, 1e7, allow_nan=False)),
            st.tuples(st.just("i"), st.floats(-100, 1000, allow_nan=False)),
        ),
        max_size=60,
    ),
    st.floats(0, 1e6, allow_nan=False),
)
def test_total_never_decreases(ops: list[tuple[str, float]], max_step: float) -> None:
    s = CounterStream()
    last = 0.0
    for kind, x in ops:
        if kind == "c":
            s.counter(x, max_step)
        else:
            s.integrate(x)
        assert s.total_wh >= last
        last = s.total_wh


@given(st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=300))
def test_agrees_with_a_steady_counter_within_one_resolution(increments: list[float]) -> None:
    """A meter whose counter floors true energy to 10 Wh: the total stays within 10 Wh of the truth."""
    s = CounterStream()
    true = 0.0
    s.counter(0.0, 1e9)
    for inc in increments:
        true += inc
        s.integrate(inc)
        s.counter((true // 10) * 10, 1e9)
        assert true - 10.0 - 1e-6 <= s.total_wh <= true + 10.0 + 1e-6
