"""Ticker on a FakeClock: absolute deadlines, late ticks counted, no drift, skipped deadlines."""

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.adapters.fakes import FakeClock
from hexloop.domain.pacing import MonotonicClock, Ticker

HZ = 64.0  # a period of 1/64 s and work in 1/1024 s steps keep the arithmetic exact
PERIOD = 1 / HZ
UNIT = 1 / 1024


def test_first_tick_is_immediate_and_the_next_ones_on_the_grid():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    assert ticker.next_deadline() == 0.0
    assert ticker.wait() is True
    assert clock.sleeps == [] and ticker.tick == 0
    for k in range(1, 6):
        clock.advance(3 * UNIT)  # the loop body's work
        assert ticker.wait() is True
        assert clock.now() == k * PERIOD
        assert ticker.tick == k
    assert clock.sleeps == [PERIOD - 3 * UNIT] * 5
    assert ticker.late == ticker.skipped == 0


def test_a_late_tick_is_counted_and_the_next_deadline_does_not_move():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    clock.advance(1.5 * PERIOD)  # work overran its period
    ticker.wait()  # tick 1, due at 1 period, starts at 1.5 periods
    assert (ticker.tick, ticker.late, ticker.skipped) == (1, 1, 0)
    assert clock.sleeps == []
    ticker.wait()  # tick 2 is still due at exactly 2 periods
    assert clock.now() == 2 * PERIOD
    assert clock.sleeps == [0.5 * PERIOD]


def test_deadlines_missed_by_more_than_a_period_are_skipped_not_burst():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    clock.advance(3.25 * PERIOD)
    ticker.wait()  # due at 1, now 3.25: deadlines 1 and 2 are skipped, this is tick 3
    assert (ticker.tick, ticker.late, ticker.skipped) == (3, 1, 2)
    ticker.wait()
    assert clock.now() == 4 * PERIOD and ticker.tick == 4


@given(work=st.lists(st.integers(0, 5 * 64), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_ticks_stay_on_the_absolute_grid_whatever_the_work_takes(work):
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    late = skipped = 0
    for units in work:
        before = ticker.tick
        clock.advance(units * UNIT)
        due = (before + 1) * PERIOD
        was_late = clock.now() > due
        missed = int((clock.now() - due) // PERIOD) if was_late else 0
        ticker.wait()
        late += was_late
        skipped += missed
        # the tick that runs is the newest one due: never ahead of now, never a period behind
        assert ticker.tick * PERIOD <= clock.now() < (ticker.tick + 1) * PERIOD
        assert ticker.tick == before + 1 + missed
        if not was_late:
            assert clock.now() == ticker.tick * PERIOD  # slept exactly to the deadline
    assert (ticker.late, ticker.skipped) == (late, skipped)


def test_interrupt_ends_the_wait():
    clock = FakeClock(start=0.0)
    stop = threading.Event()
    ticker = Ticker(HZ, clock)
    assert ticker.wait(stop) is True
    stop.set()
    assert ticker.wait(stop) is False
    first = Ticker(HZ, clock)
    assert first.wait(stop) is False  # even the immediate first tick reports the interrupt


def test_monotonic_clock_sleep_is_interruptible():
    stop = threading.Event()
    stop.set()
    clock = MonotonicClock()
    assert clock.sleep(30.0, stop) is True  # returns at once
    assert clock.sleep(0.0) is False


@pytest.mark.parametrize("hz", [0, -1, math.inf, math.nan])
def test_rate_must_be_positive_and_finite(hz):
    with pytest.raises(ValueError, match="positive number of Hz"):
        Ticker(hz, FakeClock())
