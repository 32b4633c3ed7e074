"""MinMaxDecimator against a brute-force min/max over every complete bucket."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.display import MinMaxDecimator


def brute_force(data: np.ndarray, ts: np.ndarray, size: int, buckets: int):
    """Buckets of `size` consecutive samples from the first, newest `buckets` complete ones."""
    whole = len(ts) // size
    first = max(0, whole - buckets)
    blocks = data[: whole * size].reshape(whole, size, data.shape[1])[first:]
    times = ts[size - 1 : whole * size : size][first:]
    return times, blocks.min(axis=1).T, blocks.max(axis=1).T


@given(
    chunks=st.lists(st.integers(0, 40), max_size=25),
    size=st.integers(1, 9),
    buckets=st.integers(1, 12),
    channels=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=150, deadline=None)
def test_snapshot_matches_brute_force(chunks, size, buckets, channels, seed):
    rng = np.random.default_rng(seed)
    total = sum(chunks)
    data = rng.standard_normal((total, channels)).astype(np.float32)
    ts = np.arange(total) * 0.25
    decimator = MinMaxDecimator(channels, size, buckets)
    at = 0
    for n in chunks:
        decimator.add(data[at : at + n], ts[at : at + n])
        at += n
    snap = decimator.snapshot()
    times, mins, maxs = brute_force(data, ts, size, buckets)
    assert np.array_equal(snap.times, times)
    assert np.array_equal(snap.mins, mins)
    assert np.array_equal(snap.maxs, maxs)
    if channels > 1:
        picked = decimator.snapshot([channels - 1, 0])
        assert np.array_equal(picked.mins, mins[[channels - 1, 0]])
        assert np.array_equal(picked.maxs, maxs[[channels - 1, 0]])


def test_snapshot_is_a_copy():
    decimator = MinMaxDecimator(1, 2, 4)
    decimator.add(np.arange(8, dtype=np.float32)[:, None], np.arange(8.0))
    snap = decimator.snapshot()
    snap.mins[:] = 99
    assert decimator.snapshot().mins.tolist() == [[0, 2, 4, 6]]


def test_bucket_size_and_count_must_be_positive():
    with pytest.raises(ValueError, match=">= 1"):
        MinMaxDecimator(1, 0)
    with pytest.raises(ValueError, match=">= 1"):
        MinMaxDecimator(1, 1, 0)


def finite_extremes(data: np.ndarray, size: int):
    """Per complete bucket, min and max over the finite samples (NaN where there are none)."""
    whole = len(data) // size
    blocks = data[: whole * size].reshape(whole, size, data.shape[1])
    finite = np.isfinite(blocks)
    lows = np.where(finite, blocks, np.inf).min(axis=1)
    highs = np.where(finite, blocks, -np.inf).max(axis=1)
    empty = ~finite.any(axis=1)
    return np.where(empty, np.nan, lows).T, np.where(empty, np.nan, highs).T


@given(
    chunks=st.lists(st.integers(0, 30), max_size=20),
    size=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    gaps=st.floats(0.0, 1.0),
)
@settings(max_examples=100, deadline=None)
def test_non_finite_samples_never_blank_a_bucket_that_holds_a_finite_one(chunks, size, seed,
                                                                          gaps):
    rng = np.random.default_rng(seed)
    total = sum(chunks)
    data = rng.standard_normal((total, 2)).astype(np.float32)
    data[rng.random((total, 2)) < gaps] = np.nan
    data[rng.random((total, 2)) < gaps / 4] = np.inf
    decimator = MinMaxDecimator(2, size, 1000)
    at = 0
    for n in chunks:
        decimator.add(data[at : at + n], np.arange(at, at + n) * 0.25)
        at += n
    snap = decimator.snapshot()
    mins, maxs = finite_extremes(data, size)
    assert np.array_equal(snap.mins, mins, equal_nan=True)
    assert np.array_equal(snap.maxs, maxs, equal_nan=True)


def test_one_nan_in_a_bucket_leaves_its_extremes_to_the_other_samples():
    decimator = MinMaxDecimator(1, 4, 4)
    decimator.add(np.array([[1.0], [np.nan], [-2.0], [3.0]], np.float32),
                  np.arange(4.0))
    decimator.add(np.full((4, 1), np.nan, np.float32), np.arange(4.0, 8.0))
    snap = decimator.snapshot()
    assert snap.mins[0, 0] == -2.0 and snap.maxs[0, 0] == 3.0
    assert np.isnan(snap.mins[0, 1]) and np.isnan(snap.maxs[0, 1])  # nothing to draw: a gap
