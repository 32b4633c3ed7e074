"""EmgSimulator: shapes, seamless chunking, deterministic seeds, classes that RMS separates."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.simulation import EmgSimulator


def test_shape_and_dtype():
    sim = EmgSimulator(channels=5, rate=500.0)
    chunk = sim.generate(37)
    assert chunk.shape == (37, 5) and chunk.dtype == np.float32
    assert np.isfinite(chunk).all()
    assert sim.generate(0).shape == (0, 5)


@given(sizes=st.lists(st.integers(0, 50), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_chunks_continue_where_the_last_one_ended(sizes):
    chunked = EmgSimulator(channels=3, seed=7)
    whole = EmgSimulator(channels=3, seed=7)
    pieces = np.concatenate([chunked.generate(n) for n in sizes])
    assert np.allclose(pieces, whole.generate(sum(sizes)), rtol=1e-6, atol=1e-12)


def test_seeds_are_deterministic_and_distinct():
    a, b, c = EmgSimulator(seed=1), EmgSimulator(seed=1), EmgSimulator(seed=2)
    first = a.generate(100)
    assert np.array_equal(first, b.generate(100))
    assert not np.array_equal(first, c.generate(100))


def test_classes_activate_different_channels():
    sim = EmgSimulator(channels=8, rate=1000.0, seed=3)
    rms = []
    for k in range(len(sim.class_names)):
        sim.set_class(k)
        assert sim.current_class == k
        rms.append(np.sqrt((sim.generate(2000) ** 2).mean(axis=0)))
    rms = np.array(rms)
    for k in range(1, len(rms)):
        assert rms[k].max() > 3 * rms[0].max()  # a gesture is much stronger than rest
        for j in range(1, k):
            active_k, active_j = rms[k] > 3 * rms[0].max(), rms[j] > 3 * rms[0].max()
            assert not np.array_equal(active_k, active_j)  # each gesture has its own channels


def test_unknown_class_is_refused_with_the_class_names():
    sim = EmgSimulator(class_names=("rest", "fist"))
    with pytest.raises(ValueError, match=r"class 2 is outside 0..1 \(\['rest', 'fist'\]\)"):
        sim.set_class(2)
    assert sim.current_class == 0
