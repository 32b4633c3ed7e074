"""Window features against plain loop implementations, one window and batches alike."""

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hexloop.domain import features as F

# --- loop references: one channel (a list of floats) at a time ------------------------------


def loop_rms(xs):
    return math.sqrt(sum(v * v for v in xs) / len(xs))


def loop_mav(xs):
    return sum(abs(v) for v in xs) / len(xs)


def loop_wl(xs):
    return sum(abs(xs[i + 1] - xs[i]) for i in range(len(xs) - 1))


def loop_zc(xs, threshold):
    return sum(
        1
        for i in range(len(xs) - 1)
        if xs[i] * xs[i + 1] < 0 and abs(xs[i] - xs[i + 1]) >= threshold
    )


def loop_ssc(xs, threshold):
    return sum(
        1
        for i in range(1, len(xs) - 1)
        if (xs[i] - xs[i - 1]) * (xs[i] - xs[i + 1]) > threshold
    )


def loop_band_power(xs, rate, low, high):
    """Direct DFT, one bin at a time, one-sided and scaled so all bins sum to the mean square."""
    n = len(xs)
    total = 0.0
    for k in range(n // 2 + 1):
        f = k * rate / n
        nyquist = rate / 2
        if not (f >= low and (f < high or (high >= nyquist and f <= nyquist))):
            continue
        re = sum(xs[t] * math.cos(2 * math.pi * k * t / n) for t in range(n))
        im = -sum(xs[t] * math.sin(2 * math.pi * k * t / n) for t in range(n))
        p = (re * re + im * im) / (n * n)
        if k != 0 and not (n % 2 == 0 and k == n // 2):
            p *= 2
        total += p
    return total


PER_CHANNEL = [
    (F.rms, loop_rms),
    (F.mav, loop_mav),
    (F.waveform_length, loop_wl),
]

# Values on a coarse grid (with exact zeros) so crossings and flat stretches really happen.
grid_values = st.integers(-8, 8).map(lambda v: v * 0.25)
windows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(3, 40)),
    elements=st.one_of(grid_values, st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)),
)
batches = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(3, 30)),
    elements=grid_values,
)


def _reference(loop, window, *args):
    return np.array([loop(list(row), *args) for row in window])


@settings(max_examples=60, deadline=None)
@given(window=windows)
def test_amplitude_features_match_loops(window):
    for fn, loop in PER_CHANNEL:
        got = fn(window)
        assert got.shape == (window.shape[0],)
        np.testing.assert_allclose(got, _reference(loop, window), rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(window=windows, threshold=st.sampled_from([0.0, 0.1, 0.5, 1.0, 3.0]))
def test_counts_match_loops(window, threshold):
    np.testing.assert_array_equal(
        F.zero_crossings(window, threshold), _reference(loop_zc, window, threshold)
    )
    np.testing.assert_array_equal(
        F.slope_sign_changes(window, threshold), _reference(loop_ssc, window, threshold)
    )


@settings(max_examples=40, deadline=None)
@given(batch=batches, threshold=st.sampled_from([0.0, 0.3]))
def test_batch_equals_window_by_window(batch, threshold):
    for fn in (F.rms, F.mav, F.waveform_length):
        got = fn(batch)
        assert got.shape == batch.shape[:2]
        np.testing.assert_allclose(got, np.stack([fn(w) for w in batch]), rtol=1e-12)
    got = F.time_domain_features(batch, threshold, threshold)
    assert got.shape == (batch.shape[0], 5 * batch.shape[1])
    np.testing.assert_array_equal(
        got, np.stack([F.time_domain_features(w, threshold, threshold) for w in batch])
    )


@settings(max_examples=25, deadline=None)
@example(window=np.r_[0.0, np.ones(21)][None, :], rate=100.0)  # Nyquist bin at exactly 50 Hz
@given(
    window=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(2, 24)),
        elements=st.floats(-10, 10, allow_nan=False, allow_subnormal=False),
    ),
    rate=st.sampled_from([100.0, 250.0, 1000.0]),
)
def test_band_power_matches_direct_dft(window, rate):
    n = window.shape[1]
    nyquist = rate / 2
    bands = [(0.0, nyquist / 2), (nyquist / 2, nyquist)]
    # Band layouts a short window cannot resolve are the error test's (below): hypothesis
    # draws another example instead of counting a vacuous pass.
    freqs = np.arange(n // 2 + 1) * rate / n
    assume((freqs < nyquist / 2).any() and (freqs >= nyquist / 2).any())
    got = F.band_power(window, rate, bands)
    assert got.shape == (window.shape[0], 2)
    scale = max(1.0, float(np.mean(window**2)))
    for c, row in enumerate(window):
        for b, (low, high) in enumerate(bands):
            want = loop_band_power(list(row), rate, low, high)
            assert got[c, b] == pytest.approx(want, rel=1e-7, abs=1e-9 * scale)
    # Bands tiling 0..Nyquist add up to the mean square (Parseval).
    np.testing.assert_allclose(got.sum(axis=1), np.mean(window**2, axis=1), rtol=1e-9, atol=1e-12)


def test_band_power_finds_the_sine():
    rate, n = 1000.0, 500
    t = np.arange(n) / rate
    window = np.stack([np.sin(2 * np.pi * 60 * t), 0.5 * np.sin(2 * np.pi * 200 * t)])
    power = F.band_power(window, rate, [(40, 80), (150, 250), (300, 500)])
    np.testing.assert_allclose(power, [[0.5, 0, 0], [0, 0.125, 0]], atol=1e-9)
    batch = F.band_power(np.stack([window, 2 * window]), rate, [(40, 80), (150, 250)])
    assert batch.shape == (2, 2, 2)
    np.testing.assert_allclose(batch[1], 4 * batch[0])


def test_time_domain_features_order_and_emg_logs():
    rng = np.random.default_rng(0)
    window = rng.standard_normal((3, 50)) * 1e-4
    td = F.time_domain_features(window, 1e-5, 1e-10)
    ch = 3
    np.testing.assert_allclose(td[0:ch], F.mav(window))
    np.testing.assert_allclose(td[ch : 2 * ch], F.rms(window))
    np.testing.assert_allclose(td[2 * ch : 3 * ch], F.waveform_length(window))
    np.testing.assert_array_equal(td[3 * ch : 4 * ch], F.zero_crossings(window, 1e-5))
    np.testing.assert_array_equal(td[4 * ch :], F.slope_sign_changes(window, 1e-10))
    emg = F.emg_features(window)
    np.testing.assert_allclose(emg, np.log(td[: 3 * ch]))
    batch = F.emg_features(np.stack([window, 3 * window]))
    assert batch.shape == (2, 3 * ch)
    np.testing.assert_allclose(batch[1] - batch[0], np.log(3))  # scale shows as an offset
    silent = F.emg_features(np.zeros((2, 20)))
    assert np.isfinite(silent).all()
    assert len(F.TIME_DOMAIN_FEATURES) * ch == td.size


def test_integer_windows_do_not_overflow():
    window = np.array([[30000, -30000, 30000, -30000]], dtype=np.int16)
    assert F.zero_crossings(window)[0] == 3
    assert F.rms(window)[0] == pytest.approx(30000)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: F.rms(np.zeros(10)), "channels, samples"),
        (lambda: F.rms(np.zeros((1, 2, 3, 4))), "channels, samples"),
        (lambda: F.zero_crossings(np.zeros((2, 5)), -1.0), "threshold"),
        (lambda: F.slope_sign_changes(np.zeros((2, 5)), float("nan")), "threshold"),
        (lambda: F.band_power(np.zeros((2, 8)), 100.0, [(10, 80)]), "Nyquist"),
        (lambda: F.band_power(np.zeros((2, 8)), 100.0, [(20, 21)]), "widen"),
        (lambda: F.band_power(np.zeros((2, 8)), 0.0, [(1, 2)]), "rate"),
        (lambda: F.band_power(np.zeros((2, 8)), 100.0, [10, 20]), "pairs"),
        (lambda: F.mav(np.array([["a", "b"]])), "real numbers"),
    ],
)
def test_bad_input_says_what_to_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- non-finite samples (#11 item 2): left out, never spreading NaN over a window ---------------
def loop_finite(xs):
    return [v for v in xs if math.isfinite(v)]


def loop_wl_finite(xs):
    """Mean step between neighbours that are both finite, times the window's step count."""
    steps = [abs(xs[i + 1] - xs[i]) for i in range(len(xs) - 1)
             if math.isfinite(xs[i]) and math.isfinite(xs[i + 1])]
    return sum(steps) / len(steps) * (len(xs) - 1) if steps else math.nan


gappy_windows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 3), st.integers(3, 30)),
    elements=st.one_of(grid_values, grid_values, st.sampled_from([np.nan, np.inf, -np.inf])),
)


@settings(max_examples=80, deadline=None)
@given(window=gappy_windows)
def test_non_finite_samples_are_left_out_channel_by_channel(window):
    for row, got_rms, got_mav, got_wl in zip(window, F.rms(window), F.mav(window),
                                             F.waveform_length(window)):
        finite = loop_finite(list(row))
        if not finite:
            assert math.isnan(got_rms) and math.isnan(got_mav)
            continue
        assert got_rms == pytest.approx(loop_rms(finite), rel=1e-12, abs=1e-12)
        assert got_mav == pytest.approx(loop_mav(finite), rel=1e-12, abs=1e-12)
        want_wl = loop_wl_finite(list(row))
        assert got_wl == pytest.approx(want_wl, rel=1e-12, abs=1e-12, nan_ok=True)
    # crossings and slope changes never count a pair or triple touching a non-finite sample
    masked = np.where(np.isfinite(window), window, np.nan)
    assert np.array_equal(F.zero_crossings(window), _reference(loop_zc, masked, 0.0))
    assert np.array_equal(F.slope_sign_changes(window), _reference(loop_ssc, masked, 0.0))


def test_one_nan_sample_does_not_turn_a_windows_features_into_nan():
    rng = np.random.default_rng(3)
    window = rng.standard_normal((4, 200))
    gappy = window.copy()
    gappy[1, 50] = np.nan  # a device marked one dropped sample
    gappy[2, 80] = np.inf
    for fn in (F.emg_features, F.time_domain_features):
        clean, got = fn(window), fn(gappy)
        assert np.isfinite(got).all(), fn.__name__
        assert np.allclose(got, clean, rtol=0.05, atol=1.0)  # counts may lose a crossing
    power = F.band_power(gappy, 1000.0, [(0, 100), (100, 500)])
    assert np.isfinite(power).all()
    assert np.allclose(power, F.band_power(window, 1000.0, [(0, 100), (100, 500)]), rtol=0.1)
    assert np.array_equal(F.emg_features(window), F.emg_features(window.copy()))


def test_a_channel_with_no_finite_sample_gives_nan_for_that_channel_only():
    window = np.ones((3, 20))
    window[1] = np.nan
    features = F.emg_features(window).reshape(3, 3)  # feature-major: (mav, rms, wl) x channel
    assert np.isnan(features[:, 1]).all()
    assert np.isfinite(features[:, [0, 2]]).all()
    batch = F.time_domain_features(np.stack([window, np.ones((3, 20))]))
    assert np.isfinite(batch[1]).all()
