"""A thread-safe ring buffer of samples with timestamps and per-consumer cursors."""

from __future__ import annotations

import threading

import attrs
import numpy as np


@attrs.frozen
class ReadSince:
    """What `RingBuffer.read_since` returns: new samples, the next cursor and what was lost."""

    data: np.ndarray  # (channels, n), a fresh array
    timestamps: np.ndarray  # (n,), float64, a fresh array
    next_seq: int  # pass this to the next read_since call
    lost: int  # samples overwritten before this consumer read them


def _padded_row(capacity: int, itemsize: int) -> int:
    """Elements per stored channel row: at least `capacity`, an odd number of 64-byte lines.

    Rows whose length is a multiple of a large power of two map to the same cache sets, so a
    window (a short stretch of every row) would evict itself; an odd line count spreads them.
    """
    if 64 % itemsize:
        return capacity
    lines = -(-capacity * itemsize // 64)
    lines += 1 - lines % 2
    return lines * 64 // itemsize


class RingBuffer:
    """Fixed-capacity buffer of samples keeping the source dtype and float64 timestamps.

    Stored channels-major (channels x capacity), which is what readers get: a window is at most
    two slice copies into one fresh (channels, k) array. Writes take sample-major chunks
    (n, channels), the way sources deliver them, and transpose them in on the way in. Writes
    cost O(n) for n samples. Reads return fresh arrays that never share memory with the ring.
    The lock is held only while copying, so one writer and many readers on other threads never
    see a torn window.
    """

    def __init__(self, capacity: int, channels: int, dtype: np.dtype | type | str = np.float32):
        if capacity < 1:
            raise ValueError(f"ring buffer capacity must be at least 1 sample, got {capacity}")
        if channels < 1:
            raise ValueError(f"ring buffer needs at least 1 channel, got {channels}")
        dtype = np.dtype(dtype)
        store = np.zeros((channels, _padded_row(capacity, dtype.itemsize)), dtype=dtype)
        self._data = store[:, :capacity]  # (channels, capacity), rows a little apart
        self._ts = np.zeros(capacity, dtype=np.float64)
        self._cap, self._channels = capacity, channels  # plain ints: the hot paths read them
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def dtype(self) -> np.dtype:
        dtype: np.dtype = self._data.dtype
        return dtype

    @property
    def seq(self) -> int:
        """Number of samples ever written."""
        return self._seq

    def __len__(self) -> int:
        return min(self._seq, self._cap)

    def write(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append a sample-major chunk (n, channels) with its n timestamps."""
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        shape = data.shape
        if len(shape) != 2 or shape[1] != self._channels:
            raise ValueError(
                f"ring buffer expects chunks of shape (n, {self._channels}), got {data.shape}"
            )
        n = shape[0]
        if timestamps.shape != (n,):
            raise ValueError(f"{n} samples need {n} timestamps, got shape {timestamps.shape}")
        if n == 0:
            return
        cap = self._cap
        skipped = 0
        if n > cap:  # only the newest `cap` samples can stay
            skipped = n - cap
            data, timestamps = data[skipped:], timestamps[skipped:]
        m = n - skipped
        with self._lock:
            start = (self._seq + skipped) % cap
            stop = start + m
            if stop <= cap:
                self._data[:, start:stop] = data.T  # one transposing copy
                self._ts[start:stop] = timestamps
            else:
                first = cap - start
                self._data[:, start:] = data[:first].T
                self._data[:, : m - first] = data[first:].T
                self._ts[start:] = timestamps[:first]
                self._ts[: m - first] = timestamps[first:]
            self._seq += n

    def _copy_range(self, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Copy samples [begin, end) by sequence number into one fresh (channels, n) array:
        one slice copy, two when the range wraps; the caller holds the lock."""
        cap = self._cap
        n = end - begin
        start = begin % cap
        if start + n <= cap:  # .copy() of the view: C-ordered, and the cheapest call for it
            return self._data[:, start : start + n].copy(), self._ts[start : start + n].copy()
        data = np.empty((self._channels, n), dtype=self._data.dtype)
        ts = np.empty(n, dtype=np.float64)
        first = cap - start
        data[:, :first] = self._data[:, start:]
        data[:, first:] = self._data[:, : n - first]
        ts[:first] = self._ts[start:]
        ts[first:] = self._ts[: n - first]
        return data, ts

    def window(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest min(n, len(self)) samples as fresh arrays: data (channels, k), ts (k,)."""
        if n < 0:
            raise ValueError(f"window length must be >= 0, got {n}")
        with self._lock:
            end = self._seq
            return self._copy_range(max(end - min(n, self._cap), 0), end)

    def read_since(self, seq: int) -> ReadSince:
        """Samples written since cursor `seq`; a consumer that fell behind learns how many it lost."""
        if seq < 0:
            raise ValueError(f"cursor must be >= 0, got {seq}")
        with self._lock:
            end = self._seq
            if seq > end:
                raise ValueError(f"cursor {seq} is ahead of the {end} samples ever written")
            oldest = max(0, end - self._cap)
            lost = max(0, oldest - seq)
            data, ts = self._copy_range(seq + lost, end)
        return ReadSince(data, ts, end, lost)
