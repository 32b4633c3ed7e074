"""Ticker on a FakeClock: absolute deadlines, late ticks and overruns counted, no drift, no bursts."""

import math
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.adapters.fakes import FakeClock
from hexloop.domain.pacing import LoopHealth, MonotonicClock, Ticker

HZ = 64.0  # a period of 1/64 s and work in 1/1024 s steps keep the arithmetic exact
PERIOD = 1 / HZ
UNIT = 1 / 1024
FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"


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


def test_a_tick_starting_over_half_a_period_late_is_counted_and_the_grid_does_not_move():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    clock.advance(1.25 * PERIOD)  # work overran its period
    ticker.wait()  # tick 1, due at 1 period, starts at 1.25 periods: late by a quarter
    assert (ticker.tick, ticker.late, ticker.overruns, ticker.skipped) == (1, 1, 1, 0)
    assert clock.sleeps == []
    ticker.wait()  # tick 2 is still due at exactly 2 periods
    assert clock.now() == 2 * PERIOD
    assert clock.sleeps == [0.75 * PERIOD]
    assert (ticker.late, ticker.overruns) == (1, 1)  # tick 1 was late only because tick 0 overran


def test_after_a_late_tick_a_deadline_closer_than_half_a_period_is_skipped_not_fired():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    clock.advance(1.75 * PERIOD)
    ticker.wait()  # tick 1 starts at 1.75: late by more than half a period
    assert (ticker.tick, ticker.late) == (1, 2)  # tick 0 overran, tick 1 started late
    clock.advance(UNIT)
    ticker.wait()  # deadline 2 is a quarter period after tick 1 started: skipped, not a burst
    assert (ticker.tick, clock.now(), ticker.skipped) == (3, 3 * PERIOD, 1)
    assert ticker.late == 2


def test_deadlines_missed_by_more_than_a_period_are_skipped_not_burst():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    clock.advance(3.25 * PERIOD)
    ticker.wait()  # due at 1, now 3.25: deadlines 1 and 2 are skipped, this is tick 3
    assert (ticker.tick, ticker.late, ticker.skipped) == (3, 1, 2)
    ticker.wait()
    assert clock.now() == 4 * PERIOD and ticker.tick == 4


class OversleepingClock(FakeClock):
    """Sleeps `extra` longer than asked, as a loaded machine's scheduler does."""

    def __init__(self, extra):
        super().__init__(start=0.0)
        self.extra = extra

    def sleep(self, seconds, interrupt=None):
        return super().sleep(seconds + self.extra, interrupt)


@pytest.mark.parametrize("extra, late", [(0.5 * PERIOD, 0), (0.625 * PERIOD, 1)])
def test_a_wake_up_over_half_a_period_late_counts_as_late(extra, late):
    clock = OversleepingClock(extra)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    ticker.wait()
    assert (ticker.tick, ticker.late, ticker.overruns) == (1, late, 0)
    assert ticker.health().max_lateness_s == extra


@given(work=st.lists(st.integers(0, 5 * 64), min_size=1, max_size=60),
       oversleep=st.lists(st.integers(0, 3 * 64), min_size=1, max_size=60))
@settings(max_examples=100 if not FULL else 3000, deadline=None)
def test_ticks_stay_on_the_grid_never_burst_and_every_slow_tick_is_counted(work, oversleep):
    """Work and oversleeping in 1/1024 s units (a period is 16): the arithmetic stays exact."""
    clock = OversleepingClock(0.0)
    ticker = Ticker(HZ, clock)
    ticker.wait()
    started, lateness = 0.0, [0.0]  # of each tick
    for i, units in enumerate(work):
        before = ticker.tick
        clock.advance(units * UNIT)
        clock.extra = oversleep[i % len(oversleep)] * UNIT
        ticker.wait()
        now = clock.now()
        # the tick that runs: the first deadline at least half a period after the previous
        # tick started, or the newest deadline due if that one has passed too
        first_spaced = max(before + 1, math.ceil((started + PERIOD / 2) / PERIOD))
        assert ticker.tick == max(first_spaced, math.floor(now / PERIOD))
        assert ticker.tick * PERIOD <= now < (ticker.tick + 1) * PERIOD  # never a period behind
        assert now - started >= PERIOD / 2  # no catch-up burst
        lateness.append(now - ticker.tick * PERIOD)
        started = now
    overran = [units * UNIT > PERIOD for units in work] + [False]
    health = ticker.health()
    assert health.overruns == sum(overran)
    assert health.late == sum(d > PERIOD / 2 or o for d, o in zip(lateness, overran))
    assert health.skipped == ticker.tick - len(work)
    assert health.ticks == len(work) + 1
    assert health.max_duration_s == max(work) * UNIT and health.last_duration_s == work[-1] * UNIT


def test_work_still_running_after_a_period_is_an_overrun_counted_once():
    clock = FakeClock(start=0.0)
    ticker = Ticker(HZ, clock)
    assert ticker.health() == LoopHealth(HZ)  # nothing yet
    ticker.wait()
    clock.advance(0.5 * PERIOD)
    assert (ticker.health().busy_s, ticker.health().overruns) == (0.5 * PERIOD, 0)
    clock.advance(2 * PERIOD)  # a send or predict that hangs: seen before it returns
    health = ticker.health()
    assert (health.busy_s, health.overruns, health.late) == (2.5 * PERIOD, 1, 1)
    assert ticker.health().overruns == 1  # asking again counts nothing new
    clock.advance(0.5 * PERIOD)
    ticker.wait()  # it returns after 3 periods: still one overrun, one late tick
    health = ticker.health()
    assert (health.overruns, health.late, health.skipped) == (1, 1, 2)
    assert health.last_duration_s == health.max_duration_s == 3 * PERIOD
    assert health.period_s == PERIOD


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


def test_reset_counts_forgets_what_came_before_and_keeps_the_grid():
    """Idle ticks that started late must not show once predicting starts (the panel and the
    status line would warn about a loop that had nothing to do)."""
    from hexloop.adapters.fakes.clock import FakeClock
    from hexloop.domain.pacing import Ticker

    clock = FakeClock()
    ticker = Ticker(100.0, clock)
    assert ticker.wait()
    clock.advance(0.05)  # the first tick's work overruns: late, overrun, deadlines skipped
    assert ticker.wait()
    before = ticker.health()
    assert before.late and before.overruns and before.skipped
    ticker.reset_counts()
    fresh = ticker.health()
    assert (fresh.ticks, fresh.late, fresh.skipped, fresh.overruns) == (0, 0, 0, 0)
    assert fresh.max_duration_s == 0.0 and fresh.max_lateness_s == 0.0
    deadline = ticker.next_deadline()
    assert ticker.wait()  # on time: the grid is kept, nothing counted late
    assert clock.now() == deadline
    after = ticker.health()
    assert (after.ticks, after.late, after.skipped) == (1, 0, 0)
