"""Min/max decimation for drawing: a fixed number of buckets per channel, updated per chunk.

Non-finite samples (NaN, which devices use to mark dropped samples, and infinities) are data
but cannot be drawn: a bucket's min/max is taken over its finite samples only, so one NaN does
not blank the bucket, and a bucket with no finite sample is NaN (a gap in the plot).
"""

from __future__ import annotations

import threading

import attrs
import numpy as np


@attrs.frozen
class DisplaySnapshot:
    """Per-bucket extremes, oldest first: times (k,), mins and maxs (channels, k)."""

    times: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray


class MinMaxDecimator:
    """Folds each chunk into buckets of `bucket_size` samples, keeping the newest `buckets`.

    Cost per chunk is O(samples x channels), independent of how much is on screen. Snapshots
    are fresh copies taken under a short lock.
    """

    def __init__(self, channels: int, bucket_size: int, buckets: int = 512):
        if bucket_size < 1 or buckets < 1:
            raise ValueError("bucket size and bucket count must be >= 1")
        self.bucket_size = bucket_size
        self._mins = np.zeros((buckets, channels), dtype=np.float32)
        self._maxs = np.zeros((buckets, channels), dtype=np.float32)
        self._times = np.zeros(buckets, dtype=np.float64)
        self._count = 0  # complete buckets ever written
        self._partial_n = 0
        self._partial_min = np.full(channels, np.inf, dtype=np.float32)
        self._partial_max = np.full(channels, -np.inf, dtype=np.float32)
        self._lock = threading.Lock()

    def add(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Fold a sample-major chunk (n, channels) into the buckets."""
        if data.shape[0] == 0:
            return
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            # extremes of the finite values only: a non-finite sample counts as +inf for the
            # minimum and -inf for the maximum, so it never wins either
            finite = np.isfinite(data)
            self._fold(np.where(finite, data, np.inf), np.where(finite, data, -np.inf),
                       timestamps)
        else:
            self._fold(data, data, timestamps)

    def _fold(self, lows: np.ndarray, highs: np.ndarray, timestamps: np.ndarray) -> None:
        n = lows.shape[0]
        size, i = self.bucket_size, 0
        complete_min, complete_max, complete_t = [], [], []
        if self._partial_n:
            take = min(size - self._partial_n, n)
            np.minimum(self._partial_min, lows[:take].min(axis=0), out=self._partial_min)
            np.maximum(self._partial_max, highs[:take].max(axis=0), out=self._partial_max)
            self._partial_n += take
            i = take
            if self._partial_n == size:
                complete_min.append(self._partial_min.copy()[None])
                complete_max.append(self._partial_max.copy()[None])
                complete_t.append(timestamps[i - 1 : i])
                self._partial_n = 0
        whole = (n - i) // size
        if whole:
            complete_min.append(lows[i : i + whole * size].reshape(whole, size, -1).min(axis=1))
            complete_max.append(highs[i : i + whole * size].reshape(whole, size, -1).max(axis=1))
            complete_t.append(timestamps[i + size - 1 : i + whole * size : size])
            i += whole * size
        if i < n:
            self._partial_min[:] = lows[i:].min(axis=0)
            self._partial_max[:] = highs[i:].max(axis=0)
            self._partial_n = n - i
        if complete_min:
            self._store(
                np.concatenate(complete_min), np.concatenate(complete_max),
                np.concatenate(complete_t),
            )

    def _store(self, mins: np.ndarray, maxs: np.ndarray, times: np.ndarray) -> None:
        cap = self._times.size
        mins, maxs, times = mins[-cap:], maxs[-cap:], times[-cap:]
        empty = mins > maxs  # no finite sample in the bucket (its min stayed +inf)
        if empty.any():
            mins = np.where(empty, np.nan, mins)
            maxs = np.where(empty, np.nan, maxs)
        k = times.size
        with self._lock:
            pos = (self._count + np.arange(k)) % cap
            self._mins[pos] = mins
            self._maxs[pos] = maxs
            self._times[pos] = times
            self._count += k

    def snapshot(self, channels: list[int] | None = None) -> DisplaySnapshot:
        """The buckets on screen, oldest first, for all or the selected channels."""
        cap = self._times.size
        with self._lock:
            k = min(self._count, cap)
            order = (self._count - k + np.arange(k)) % cap
            rows = order if channels is None else np.ix_(order, np.asarray(channels, np.intp))
            mins = self._mins[rows]
            maxs = self._maxs[rows]
            times = self._times[order]
        return DisplaySnapshot(times, np.ascontiguousarray(mins.T), np.ascontiguousarray(maxs.T))
