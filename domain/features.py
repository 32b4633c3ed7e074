"""Window features for EMG/EEG: amplitude, waveform, crossing counts and band power, in numpy.

Every function takes one window `(channels, n)` or a batch `(k, channels, n)` and works along the
last (sample) axis, so the same call serves training (batch) and live prediction (one window):
per-channel features come back as `(channels,)` or `(k, channels)`. The concatenating helpers
(`time_domain_features`, `emg_features`) return `(features,)` or `(k, features)`, feature-major:
all channels of the first feature, then all channels of the next.

`emg_features` is the default for classifiers (log amplitude features, robust across sessions);
`time_domain_features` is the classic Hudgins set with crossing counts.

Thresholds are in the signal's own units (volts for a stream in volts), so they carry over between
windows but not between devices with different gains.

Non-finite samples (NaN, which devices use to mark dropped samples, and infinities) are left
out, channel by channel, so one NaN never turns a window's features into NaN: means (MAV, RMS)
are over the finite samples, waveform length is the mean step between neighbouring finite
samples times the window's step count (so it stays comparable with a complete window), crossing
and slope counts skip pairs and triples that touch a non-finite sample, and band power fills
non-finite samples with the channel's finite mean before the FFT. A channel with no finite
sample in the window gives NaN for its features (nothing was measured). Windows without
non-finite samples take the plain path and give exactly the same numbers as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The order `time_domain_features` concatenates its per-channel features in.
TIME_DOMAIN_FEATURES = ("mav", "rms", "waveform_length", "zero_crossings", "slope_sign_changes")


def _as_windows(window: np.ndarray, min_samples: int = 1) -> np.ndarray:
    """The input as float64, checked to be (channels, n) or (k, channels, n)."""
    x = np.asarray(window)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"features need one window (channels, samples) or a batch (windows, channels, "
            f"samples); got an array of shape {x.shape}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise ValueError(f"features need real numbers, got dtype {x.dtype}")
    if x.shape[-1] < min_samples:
        raise ValueError(
            f"this feature needs windows of at least {min_samples} samples, got {x.shape[-1]}; "
            "use a longer window"
        )
    return x.astype(np.float64, copy=False)


def _finite(x: np.ndarray) -> np.ndarray | None:
    """The finite-sample mask, or None when every sample is finite (the fast path)."""
    if x.dtype.kind != "f":
        return None
    finite = np.isfinite(x)
    return None if finite.all() else finite


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the last axis of `values` where `mask`; NaN where the mask is all False."""
    total = np.where(mask, values, 0.0).sum(axis=-1)
    count = mask.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: np.ndarray = total / count
    return mean


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
    return threshold


def rms(window: np.ndarray) -> np.ndarray:
    """Root mean square per channel."""
    x = _as_windows(window)
    finite = _finite(x)
    out: np.ndarray
    if finite is None:
        out = np.sqrt(np.mean(x * x, axis=-1))
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.sqrt(_masked_mean(x * x, finite))
    return out


def mav(window: np.ndarray) -> np.ndarray:
    """Mean absolute value per channel."""
    x = _as_windows(window)
    finite = _finite(x)
    if finite is None:
        out: np.ndarray = np.mean(np.abs(x), axis=-1)
        return out
    return _masked_mean(np.abs(x), finite)


def waveform_length(window: np.ndarray) -> np.ndarray:
    """Sum of absolute sample-to-sample differences per channel (0 for a one-sample window)."""
    x = _as_windows(window)
    finite = _finite(x)
    if finite is None:
        out: np.ndarray = np.sum(np.abs(np.diff(x, axis=-1)), axis=-1)
        return out
    with np.errstate(invalid="ignore"):
        steps = np.abs(np.diff(x, axis=-1))
    both = finite[..., 1:] & finite[..., :-1]
    mean_step = _masked_mean(steps, both)
    # a one-sample window has no steps: 0, as for finite data, unless that sample is missing
    out = np.where(both.shape[-1] == 0, np.where(finite.any(axis=-1), 0.0, np.nan),
                   mean_step * (x.shape[-1] - 1))
    return out


def zero_crossings(window: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Count of sign changes `x[i] * x[i+1] < 0` whose step `|x[i] - x[i+1]|` is >= threshold.

    The threshold keeps noise around zero from counting; counts come back as float64.
    """
    x = _as_windows(window)
    threshold = _check_threshold(threshold)
    a, b = x[..., :-1], x[..., 1:]
    with np.errstate(invalid="ignore"):
        crossing = (a * b < 0) & (np.abs(a - b) >= threshold)
    finite = _finite(x)
    if finite is not None:
        crossing &= finite[..., :-1] & finite[..., 1:]
    counts: np.ndarray = np.count_nonzero(crossing, axis=-1).astype(np.float64)
    return counts


def slope_sign_changes(window: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Count of local peaks and troughs: `(x[i] - x[i-1]) * (x[i] - x[i+1]) > threshold`.

    The threshold is on the product, so in squared signal units (volts squared for volts).
    Flat stretches never count. Counts come back as float64.
    """
    x = _as_windows(window)
    threshold = _check_threshold(threshold)
    centre = x[..., 1:-1]
    with np.errstate(invalid="ignore"):
        change = (centre - x[..., :-2]) * (centre - x[..., 2:]) > threshold
    finite = _finite(x)
    if finite is not None:
        change &= finite[..., 1:-1] & finite[..., :-2] & finite[..., 2:]
    counts: np.ndarray = np.count_nonzero(change, axis=-1).astype(np.float64)
    return counts


def _check_bands(bands: Sequence[tuple[float, float]], rate: float) -> np.ndarray:
    edges = np.asarray(bands, dtype=np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2 or len(edges) == 0:
        raise ValueError(f"bands must be a list of (low_hz, high_hz) pairs, got {bands!r}")
    nyquist = rate / 2
    for low, high in edges:
        if not (0 <= low < high <= nyquist):
            raise ValueError(
                f"band ({low:g}, {high:g}) Hz must satisfy 0 <= low < high <= {nyquist:g} "
                f"(the Nyquist frequency at {rate:g} Hz)"
            )
    return edges


def band_power(
    window: np.ndarray, rate: float, bands: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Signal power in each band per channel: `(channels, bands)` or `(k, channels, bands)`.

    A band (low, high) covers the periodogram bins with low <= f < high, and also the Nyquist bin
    when high is the Nyquist frequency. Power is in squared signal units: over (0, Nyquist) the
    bands add up to the window's mean square (Parseval), so a DC offset shows up only in a band
    that starts at 0 Hz.
    """
    x = _as_windows(window, min_samples=2)
    rate = float(rate)
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate must be a positive number of Hz, got {rate}")
    edges = _check_bands(bands, rate)
    n = x.shape[-1]
    freqs = np.arange(n // 2 + 1) * rate / n  # exact at the Nyquist bin, unlike rfftfreq
    finite = _finite(x)
    if finite is not None:  # fill gaps with the channel's finite mean (NaN if none is finite)
        x = np.where(finite, x, _masked_mean(x, finite)[..., None])
    spectrum = np.fft.rfft(x, axis=-1)
    # One-sided power per bin, scaled so that the bins sum to the mean square.
    power = (spectrum.real**2 + spectrum.imag**2) / (n * n)
    power[..., 1:] *= 2
    if n % 2 == 0:
        power[..., -1] /= 2  # the Nyquist bin has no mirror image
    nyquist = rate / 2
    columns = []
    for low, high in edges:
        in_band = (freqs >= low) & ((freqs < high) if high < nyquist else True)
        if not in_band.any():
            raise ValueError(
                f"band ({low:g}, {high:g}) Hz holds no frequency bin of a {n}-sample window at "
                f"{rate:g} Hz (bins are {rate / n:g} Hz apart); widen the band or the window"
            )
        columns.append(power[..., in_band].sum(axis=-1))
    return np.stack(columns, axis=-1)


def time_domain_features(
    window: np.ndarray, zc_threshold: float = 0.0, ssc_threshold: float = 0.0
) -> np.ndarray:
    """The classic EMG set, per channel, concatenated in `TIME_DOMAIN_FEATURES` order.

    Returns `(5 * channels,)` for one window or `(k, 5 * channels)` for a batch.
    """
    x = _as_windows(window)
    parts = (
        mav(x),
        rms(x),
        waveform_length(x),
        zero_crossings(x, zc_threshold),
        slope_sign_changes(x, ssc_threshold),
    )
    return np.concatenate(parts, axis=-1)


def emg_features(window: np.ndarray) -> np.ndarray:
    """Log MAV, log RMS and log waveform length per channel: `(3 * channels,)` or `(k, 3 * ch)`.

    A default that needs no knowledge of the device: amplitude features on a log scale carry
    over between sessions and contraction strengths, while crossing counts at threshold 0 mostly
    count noise (on the UCI Myo recordings they reach 32-41 % across sessions for six gestures,
    against ~94 % for these). Add `zero_crossings` / `slope_sign_changes` with a threshold above
    the noise floor when they help. Zeros map to log(1e-12) rather than -inf; a channel with no
    finite sample in the window gives NaN.
    Meant as a one-line extractor: `pipeline.extract(lambda w: emg_features(w["emg"]))`.
    """
    x = _as_windows(window)
    amplitude = np.concatenate((mav(x), rms(x), waveform_length(x)), axis=-1)
    out: np.ndarray = np.log(np.maximum(amplitude, 1e-12))
    return out
