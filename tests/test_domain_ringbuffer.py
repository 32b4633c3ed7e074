"""RingBuffer against a plain-list model: windows, read_since cursors, lost counts, overflow."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from hexloop.domain.ringbuffer import RingBuffer


def ramp(start: int, n: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample k holds k + c / 10 in channel c; its timestamp is k / 8 (exact in binary)."""
    idx = np.arange(start, start + n, dtype=np.float64)
    data = idx[:, None] + np.arange(channels)[None, :] / 10.0
    return data, idx / 8.0


class RingBufferModel(RuleBasedStateMachine):
    """Every operation is mirrored on a list of all samples ever written."""

    cursors = Bundle("cursors")

    @initialize(capacity=st.integers(1, 40), channels=st.integers(1, 3))
    def create(self, capacity, channels):
        self.buffer = RingBuffer(capacity, channels, np.float64)
        self.capacity, self.channels = capacity, channels
        self.rows: list[np.ndarray] = []  # everything ever written, sample-major
        self.times: list[float] = []

    @rule(n=st.integers(0, 100))
    def write(self, n):
        data, ts = ramp(len(self.rows), n, self.channels)
        self.buffer.write(data, ts)
        self.rows.extend(data)
        self.times.extend(ts)

    @rule(n=st.integers(0, 60))
    def window(self, n):
        data, ts = self.buffer.window(n)
        k = min(n, self.capacity, len(self.rows))
        want = np.array(self.rows[len(self.rows) - k :]).reshape(k, self.channels)
        assert data.shape == (self.channels, k)
        assert np.array_equal(data, want.T)
        assert np.array_equal(ts, np.array(self.times[len(self.times) - k :]))

    @rule(target=cursors)
    def new_cursor(self):
        return self.buffer.seq

    @rule(target=cursors, cursor=consumes(cursors))
    def read_since(self, cursor):
        got = self.buffer.read_since(cursor)
        total = len(self.rows)
        oldest_kept = max(0, total - self.capacity)
        lost = max(0, oldest_kept - cursor)
        assert got.lost == lost
        assert got.next_seq == total
        first = cursor + lost
        want = np.array(self.rows[first:]).reshape(total - first, self.channels)
        assert np.array_equal(got.data, want.T)
        assert np.array_equal(got.timestamps, np.array(self.times[first:]))
        return multiple(got.next_seq)

    @invariant()
    def length_and_seq(self):
        if hasattr(self, "buffer"):
            assert self.buffer.seq == len(self.rows)
            assert len(self.buffer) == min(len(self.rows), self.capacity)


TestRingBufferModel = RingBufferModel.TestCase
TestRingBufferModel.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


@given(capacity=st.integers(1, 50), before=st.integers(0, 30), n=st.integers(0, 200))
@settings(max_examples=80, deadline=None)
def test_chunk_larger_than_capacity_keeps_the_newest(capacity, before, n):
    buffer = RingBuffer(capacity, 2, np.float64)
    buffer.write(*ramp(0, before, 2))
    buffer.write(*ramp(before, n, 2))
    data, ts = buffer.window(capacity)
    total = before + n
    k = min(total, capacity)
    want_data, want_ts = ramp(total - k, k, 2)
    assert np.array_equal(data, want_data.T)
    assert np.array_equal(ts, want_ts)
    assert buffer.seq == total
    # a cursor from the very beginning learns exactly how much it missed
    since = buffer.read_since(0)
    assert since.lost == total - k
    assert np.array_equal(since.timestamps, want_ts)


def test_window_and_read_since_return_fresh_arrays():
    buffer = RingBuffer(8, 2, np.float32)
    buffer.write(*ramp(0, 5, 2))
    data, ts = buffer.window(5)
    data[:] = -1
    ts[:] = -1
    again, again_ts = buffer.window(5)
    assert np.array_equal(again, ramp(0, 5, 2)[0].T.astype(np.float32))
    assert np.array_equal(again_ts, ramp(0, 5, 2)[1])
    since = buffer.read_since(0)
    assert not np.shares_memory(since.data, again)


def test_keeps_the_source_dtype_and_float64_timestamps():
    buffer = RingBuffer(4, 3, np.int16)
    buffer.write(np.arange(6, dtype=np.int16).reshape(2, 3), np.array([1.5, 2.5]))
    data, ts = buffer.window(4)
    assert data.dtype == np.int16 and ts.dtype == np.float64
    assert data.shape == (3, 2)
    assert data.tolist() == [[0, 3], [1, 4], [2, 5]]


@pytest.mark.parametrize(
    "data, ts, message",
    [
        (np.zeros((3, 2)), np.zeros(3), r"shape \(n, 3\)"),
        (np.zeros(3), np.zeros(3), r"shape \(n, 3\)"),
        (np.zeros((3, 3)), np.zeros(2), "3 samples need 3 timestamps"),
    ],
)
def test_write_refuses_misshapen_chunks(data, ts, message):
    buffer = RingBuffer(4, 3)
    with pytest.raises(ValueError, match=message):
        buffer.write(data, ts)
    assert buffer.seq == 0


def test_bad_arguments_are_refused_with_the_value():
    with pytest.raises(ValueError, match="capacity must be at least 1 sample, got 0"):
        RingBuffer(0, 1)
    with pytest.raises(ValueError, match="at least 1 channel, got 0"):
        RingBuffer(4, 0)
    buffer = RingBuffer(4, 1)
    buffer.write(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="cursor 3 is ahead of the 2 samples"):
        buffer.read_since(3)
    with pytest.raises(ValueError, match="cursor must be >= 0"):
        buffer.read_since(-1)
    with pytest.raises(ValueError, match="window length must be >= 0"):
        buffer.window(-1)


@given(capacity=st.integers(1, 40), channels=st.integers(1, 4), first=st.integers(0, 90),
       k=st.integers(0, 50), then=st.integers(1, 90), dtype=st.sampled_from(["f4", "f8", "i2"]))
@settings(max_examples=80, deadline=None)
def test_windows_and_reads_never_alias_the_buffer(capacity, channels, first, k, then, dtype):
    """Whatever the wrap position, what a reader got stays as it was while the ring is written
    on, and scribbling on it changes nothing the next reader sees."""
    buffer = RingBuffer(capacity, channels, dtype)
    buffer.write(*ramp(0, first, channels))
    window, window_ts = buffer.window(k)
    since = buffer.read_since(max(0, first - capacity))
    kept = [a.copy() for a in (window, window_ts, since.data, since.timestamps)]
    got = (window, window_ts, since.data, since.timestamps)
    for a in got:
        assert not any(np.shares_memory(a, b) for b in (buffer._data, buffer._ts))
        assert a.flags.c_contiguous  # channels-first arrays ready for numpy and torch
    buffer.write(*ramp(first, then, channels))  # the ring moves on over the same slots
    for a, before in zip(got, kept):
        assert np.array_equal(a, before)
    for a in got:
        a[...] = 7
    total = first + then
    n = min(k, capacity, total)
    want, want_ts = ramp(total - n, n, channels)
    data, ts = buffer.window(k)
    assert np.array_equal(data, want.T.astype(dtype)) and np.array_equal(ts, want_ts)
