"""The scipy conditioner: offline equals online (any chunking == one call == direct sosfilt),
causal, reset on reconnect, group delay, non-finite samples, and the Conditioner contract."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.adapters.fakes import FakeConditioner
from hexloop.domain.conditioning import ConditioningInvalid
from hexloop.ports.conditioner import Conditioner, load_factory
from hexloop.ports.contracts import check_conditioner

signal = pytest.importorskip("scipy.signal")
from hexloop.adapters.scipy import ScipyConditioner, build_chain  # noqa: E402

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
FUZZ = settings(max_examples=500 if FULL else 30, deadline=None, database=None)

EMG = [{"type": "bandpass", "low": 20, "high": 450, "order": 4},
       {"type": "notch", "freq": 50, "harmonics": 3}]


def reference_sos(rate: float, mains: float = 50.0, harmonics: int = 3) -> np.ndarray:
    """Written here from scipy directly, not through the adapter."""
    sections = [signal.butter(4, [20, 450], btype="bandpass", output="sos", fs=rate)]
    for k in range(1, harmonics + 1):
        b, a = signal.iirnotch(mains * k, 30.0, fs=rate)
        sections.append(signal.tf2sos(b, a))
    return np.concatenate(sections)


def emg_like(n: int, channels: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / rate
    mains = 200 * np.sin(2 * np.pi * 50 * t + rng.uniform(0, 6, channels))
    drift = 500 * np.sin(2 * np.pi * 0.3 * t)
    return (rng.standard_normal((n, channels)) * 30 + mains + drift).astype(np.float32)


def run_chunked(conditioner, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)] if sizes else len(x)
        out.append(conditioner.process(x[i:i + n]))
        i, k = i + n, k + 1
    return np.concatenate(out) if out else np.empty((0, x.shape[1]))


@FUZZ
@given(sizes=st.lists(st.integers(0, 400), min_size=1, max_size=30).filter(any),
       seed=st.integers(0, 2**16), rate=st.sampled_from([1000.0, 2000.0, 10240.0]))
def test_any_chunking_equals_one_call_equals_direct_sosfilt(sizes, seed, rate):
    x = emg_like(3000, 4, rate, seed)
    one_call = build_chain(EMG, rate, 4).process(x)
    chunked = run_chunked(build_chain(EMG, rate, 4), x, sizes)
    direct = signal.sosfilt(reference_sos(rate), x.astype(np.float64), axis=0)
    scale = np.abs(direct).max()
    np.testing.assert_allclose(one_call, direct, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(chunked, direct, rtol=0, atol=1e-9 * scale)


CHAINS = [
    [{"type": "highpass", "cutoff": 10}, {"type": "rectify"}, {"type": "rms", "window_ms": 25}],
    [{"type": "car"}, {"type": "lowpass", "cutoff": 100, "order": 2}],
    [{"type": "bandpass", "low": 5, "high": 200}, {"type": "car"}, {"type": "notch", "freq": 60,
                                                                      "harmonics": 2}],
    [{"type": "rms", "window_ms": 1}],
]


@FUZZ
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=20).filter(any),
       seed=st.integers(0, 2**16), chain=st.sampled_from(CHAINS))
def test_every_stage_carries_its_state_across_chunks(sizes, seed, chain):
    x = emg_like(2500, 3, 1000.0, seed)
    one_call = build_chain(chain, 1000.0, 3).process(x)
    chunked = run_chunked(build_chain(chain, 1000.0, 3), x, sizes)
    np.testing.assert_allclose(chunked, one_call, rtol=1e-9, atol=1e-9 * np.abs(one_call).max())


def test_stages_do_what_they_say():
    rate = 1000.0
    x = np.array([[1.0, 3.0, -4.0], [2.0, -2.0, 6.0]])
    np.testing.assert_allclose(build_chain([{"type": "car"}], rate, 3).process(x),
                               x - x.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(build_chain([{"type": "rectify"}], rate, 3).process(x), np.abs(x))
    rms = build_chain([{"type": "rms", "window_ms": 2}], rate, 1)  # 2 samples
    np.testing.assert_allclose(rms.process(np.array([[3.0], [4.0], [0.0]]))[:, 0],
                               [np.sqrt(9 / 2), np.sqrt(25 / 2), np.sqrt(16 / 2)])
    long = np.random.default_rng(3).standard_normal((50_000, 2)) * 100  # many ring wraps
    direct = np.stack([np.sqrt(np.convolve(c ** 2, np.ones(37) / 37)[:len(c)]) for c in long.T], 1)
    got = build_chain([{"type": "rms", "window_ms": 37}], rate, 2).process(long)
    np.testing.assert_allclose(got, direct, rtol=1e-9)


def test_the_band_pass_and_notch_remove_what_labs_filter_out():
    rate, n = 2000.0, 20000
    t = np.arange(n)[:, None] / rate
    conditioner = build_chain(EMG, rate, 1)
    for freq, keep in ((2.0, False), (50.0, False), (150.0, False), (120.0, True), (300.0, True)):
        conditioner.reset()
        y = conditioner.process(np.sin(2 * np.pi * freq * t))[n // 2:]
        gain = np.sqrt(2 * np.mean(y ** 2))
        assert (gain > 0.8) if keep else (gain < 0.05), f"{freq} Hz came out with gain {gain:.3f}"


def test_causal_and_reset_starts_a_new_signal():
    rate = 1000.0
    conditioner = build_chain(EMG, rate, 2)
    impulse = np.zeros((400, 2))
    impulse[100] = 1.0
    y = conditioner.process(impulse)
    assert np.all(y[:100] == 0.0) and np.any(y[100:] != 0.0)  # nothing before the impulse
    conditioner.reset()  # a reconnect: the tail of the old signal must not leak in
    np.testing.assert_array_equal(conditioner.process(np.zeros((50, 2))), 0.0)


def test_group_delay_adds_up_and_is_plausible():
    rate = 2000.0
    band = build_chain(EMG[:1], rate, 1).group_delay_s
    notch = build_chain(EMG[1:], rate, 1).group_delay_s
    both = build_chain(EMG, rate, 1)
    assert both.group_delay_s == pytest.approx(band + notch)
    assert 0.0005 < band < 0.01  # a 4th-order 20-450 Hz band-pass delays a few milliseconds
    assert build_chain([{"type": "rms", "window_ms": 100}], rate, 1).group_delay_s == \
        pytest.approx(199 / 2 / rate)
    assert build_chain([{"type": "car"}, {"type": "rectify"}], rate, 1).group_delay_s == 0.0


def test_nan_samples_come_out_nan_and_do_not_poison_the_filter():
    rate = 1000.0
    x = emg_like(2000, 2, rate, 1).astype(np.float64)
    zeroed = x.copy()
    zeroed[500, 0] = 0.0
    clean = build_chain(EMG, rate, 2).process(zeroed)
    x[500, 0] = np.nan
    y = build_chain(EMG, rate, 2).process(x)
    assert np.isnan(y[500, 0]) and np.isnan(y).sum() == 1
    clean[500, 0] = np.nan
    np.testing.assert_allclose(y, clean)  # the gap entered as 0, the other channel untouched
    assert np.isfinite(y[1900:]).all()


def test_a_chain_the_rate_cannot_take_is_refused_naming_the_key():
    with pytest.raises(ConditioningInvalid, match=r"conditioning\[0\]\.high.*Nyquist"):
        build_chain([{"type": "bandpass", "low": 20, "high": 600}], 1000.0, 2)
    with pytest.raises(ValueError, match="shape"):
        build_chain(EMG, 1000.0, 2).process(np.zeros((5, 3)))


def test_scipy_and_fake_conditioners_pass_the_contract():
    check_conditioner(lambda: build_chain(EMG + CHAINS[0], 2000.0, 5), 5)
    check_conditioner(lambda: build_chain(CHAINS[1], 500.0, 3), 3)
    check_conditioner(lambda: FakeConditioner(2), 2)
    assert isinstance(build_chain(EMG, 1000.0, 1), Conditioner)


def test_the_contract_catches_a_conditioner_that_forgets_its_state():
    class Forgetful(ScipyConditioner):
        def process(self, chunk):
            self.reset()
            return super().process(chunk)

    with pytest.raises(AssertionError, match="state must carry"):
        check_conditioner(lambda: Forgetful(EMG, 1000.0, 2), 2)


def test_the_factory_is_found_through_its_entry_point():
    factory = load_factory()
    assert isinstance(factory(EMG, 1000.0, 2), ScipyConditioner)
