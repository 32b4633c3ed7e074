"""Threads hammering the shared pieces: ring buffer windows and cursors, state transitions."""

import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.ringbuffer import RingBuffer
from hexloop.domain.state import Action, State, StateMachine, TransitionRefused

RATE = 1000.0
TOTAL = 100_000  # samples the writer pushes


def run_threads(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - handed to the test thread
                errors.append(e)

        return run

    threads = [threading.Thread(target=guard(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_writer_and_readers_see_contiguous_ramps_and_every_sample_once_or_lost():
    capacity, channels = 4000, 3
    buffer = RingBuffer(capacity, channels, np.float64)
    done = threading.Event()
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 60, size=TOTAL)  # more than enough chunks

    start = threading.Barrier(6)

    def writer():
        start.wait()
        written = 0
        for n in sizes:
            n = int(min(n, TOTAL - written))
            idx = np.arange(written, written + n, dtype=np.float64)
            # channel c holds index * (c + 1): a torn row would break the ratio
            buffer.write(idx[:, None] * np.arange(1, channels + 1), idx / RATE)
            written += n
            if written == TOTAL:
                break
        done.set()

    windows_checked = []

    def window_reader(n):
        def read():
            start.wait()
            checked = 0
            while not done.is_set() or checked == 0:
                data, ts = buffer.window(n)
                if ts.size == 0:
                    continue
                first = data[0, 0]
                assert np.array_equal(data[0], first + np.arange(ts.size)), "not contiguous"
                assert np.array_equal(data, data[0][None, :] * np.arange(1, channels + 1)[:, None])
                assert np.array_equal(ts, data[0] / RATE), "timestamps do not match the data"
                assert ts.size == min(n, capacity, int(first) + ts.size)
                checked += 1
            windows_checked.append(checked)

        return read

    cursor_totals = []

    def cursor_reader(pause_every):
        def read():
            start.wait()
            cursor, seen, lost, reads = 0, 0, 0, 0
            while True:
                finished = done.is_set()
                got = buffer.read_since(cursor)
                if got.timestamps.size:
                    first = cursor + got.lost
                    expected = np.arange(first, got.next_seq, dtype=np.float64)
                    assert np.array_equal(got.data[0], expected), "cursor skipped or repeated"
                    assert np.array_equal(got.timestamps, expected / RATE)
                else:
                    assert got.lost == 0 and got.next_seq == cursor
                seen += got.timestamps.size
                lost += got.lost
                cursor = got.next_seq
                reads += 1
                if pause_every and reads % pause_every == 0:
                    threading.Event().wait(0.002)  # fall behind now and then
                if finished:
                    break
            cursor_totals.append((seen, lost, cursor, reads))

        return read

    switch = sys.getswitchinterval()
    sys.setswitchinterval(2e-5)  # hand the GIL over often: many more interleavings to catch
    try:
        errors = run_threads([writer, window_reader(1), window_reader(64), window_reader(10_000),
                              cursor_reader(0), cursor_reader(3)])
    finally:
        sys.setswitchinterval(switch)
    assert not errors, errors
    assert all(c > 0 for c in windows_checked)
    for seen, lost, cursor, _ in cursor_totals:
        assert cursor == TOTAL
        assert seen + lost == TOTAL  # every sample seen exactly once or reported lost


@given(n=st.integers(1, 40))
@settings(max_examples=15, deadline=None)
def test_windows_from_two_threads_never_alias(n):
    buffer = RingBuffer(32, 2, np.float32)
    buffer.write(np.arange(100, dtype=np.float32).reshape(50, 2), np.arange(50.0))
    got = {}
    barrier = threading.Barrier(2)

    def take(key):
        def run():
            barrier.wait()
            got[key] = buffer.window(n)

        return run

    assert not run_threads([take("a"), take("b")])
    (a, ta), (b, tb) = got["a"], got["b"]
    original, original_ts = buffer.window(n)
    assert not np.shares_memory(a, b) and not np.shares_memory(ta, tb)
    a[:] = -1
    ta[:] = -1
    assert np.array_equal(b, original) and np.array_equal(tb, original_ts)
    assert np.array_equal(buffer.window(n)[0], original)


def race(machine: StateMachine, actions, expect=None):
    """Every action from its own thread, released together: (accepted, refused)."""
    barrier = threading.Barrier(len(actions))
    wins, refusals = [], []
    lock = threading.Lock()

    def contender(action):
        def run():
            barrier.wait()
            try:
                t = machine.request(action, expect=expect)
            except TransitionRefused as e:
                with lock:
                    refusals.append(e)
            else:
                with lock:
                    wins.append(t)

        return run

    assert not run_threads([contender(a) for a in actions])
    return wins, refusals


CONTESTED = [
    ([], Action.START_RECORDING),
    ([Action.START_RECORDING], Action.STOP_RECORDING),
    ([], Action.START_TRAINING),
    ([], Action.START_PREDICTING),
    ([Action.START_PREDICTING], Action.START_TRAINING),
    ([Action.START_PREDICTING], Action.STOP_PREDICTING),
    ([Action.START_TRAINING], Action.STOP_TRAINING),
]


@pytest.mark.parametrize("setup, action", CONTESTED, ids=[a.value for _, a in CONTESTED])
def test_racing_transitions_have_exactly_one_winner(setup, action):
    for _ in range(5):
        changes = []
        machine = StateMachine(on_change=changes.append)
        for a in setup:
            machine.request(a)
        before = machine.state
        wins, refusals = race(machine, [action] * 16)
        assert len(wins) == 1 and len(refusals) == 15
        assert wins[0].before is before and machine.state is wins[0].after
        assert all(r.state is wins[0].after for r in refusals)  # refused against the new state
        assert len(changes) == len(setup) + 1


def test_racing_different_actions_from_idle_leave_one_consistent_state():
    for _ in range(10):
        machine = StateMachine()
        actions = [Action.START_RECORDING, Action.START_TRAINING, Action.START_PREDICTING] * 4
        wins, refusals = race(machine, actions, expect=State.IDLE)
        assert len(wins) == 1 and len(refusals) == len(actions) - 1
        assert machine.state is wins[0].after
