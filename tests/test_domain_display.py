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
