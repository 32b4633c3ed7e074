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


class RingBuffer:
    """Fixed-capacity (samples x channels) buffer keeping the source dtype and float64 timestamps.

    Writes cost O(n) for n samples. Reads return fresh arrays, channels-first. The lock is held
    only while copying, so one writer and many readers on other threads never see a torn window.
    """

    def __init__(self, capacity: int, channels: int, dtype: np.dtype | type | str = np.float32):
        if capacity < 1:
            raise ValueError(f"ring buffer capacity must be at least 1 sample, got {capacity}")
        if channels < 1:
            raise ValueError(f"ring buffer needs at least 1 channel, got {channels}")
        self._data = np.zeros((capacity, channels), dtype=dtype)
        self._ts = np.zeros(capacity, dtype=np.float64)
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._data.shape[0]

    @property
    def channels(self) -> int:
        return self._data.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def seq(self) -> int:
        """Number of samples ever written."""
        return self._seq

    def __len__(self) -> int:
        return min(self._seq, self.capacity)

    def write(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Append a sample-major chunk (n, channels) with its n timestamps."""
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(
                f"ring buffer expects chunks of shape (n, {self.channels}), got {data.shape}"
            )
        n = data.shape[0]
        if timestamps.shape != (n,):
            raise ValueError(f"{n} samples need {n} timestamps, got shape {timestamps.shape}")
        if n == 0:
            return
        cap = self.capacity
        skipped = max(0, n - cap)
        data, timestamps = data[skipped:], timestamps[skipped:]
        m = n - skipped
        with self._lock:
            start = (self._seq + skipped) % cap
            first = min(m, cap - start)
            self._data[start : start + first] = data[:first]
            self._ts[start : start + first] = timestamps[:first]
            if first < m:
                self._data[: m - first] = data[first:]
                self._ts[: m - first] = timestamps[first:]
            self._seq += n

    def _copy_range(self, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Copy samples [begin, end) by sequence number; the caller holds the lock."""
        cap = self.capacity
        n = end - begin
        data = np.empty((n, self.channels), dtype=self._data.dtype)
        ts = np.empty(n, dtype=np.float64)
        start = begin % cap
        first = min(n, cap - start)
        data[:first] = self._data[start : start + first]
        ts[:first] = self._ts[start : start + first]
        if first < n:
            data[first:] = self._data[: n - first]
            ts[first:] = self._ts[: n - first]
        return data, ts

    def window(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest min(n, len(self)) samples as fresh arrays: data (channels, k), ts (k,)."""
        if n < 0:
            raise ValueError(f"window length must be >= 0, got {n}")
        with self._lock:
            end = self._seq
            begin = max(end - min(n, self.capacity), 0)
            data, ts = self._copy_range(begin, end)
        return np.ascontiguousarray(data.T), ts

    def read_since(self, seq: int) -> ReadSince:
        """Samples written since cursor `seq`; a consumer that fell behind learns how many it lost."""
        if seq < 0:
            raise ValueError(f"cursor must be >= 0, got {seq}")
        with self._lock:
            end = self._seq
            if seq > end:
                raise ValueError(f"cursor {seq} is ahead of the {end} samples ever written")
            oldest = max(0, end - self.capacity)
            lost = max(0, oldest - seq)
            data, ts = self._copy_range(seq + lost, end)
        return ReadSince(np.ascontiguousarray(data.T), ts, end, lost)
