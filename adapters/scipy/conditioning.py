"""The scipy conditioner: a chain of causal stages run on (n, channels) chunks along axis 0.

Filters are second-order sections (`scipy.signal.butter(..., output="sos")`, `iirnotch` per
harmonic) run by `sosfilt` with a `zi` state per channel carried between chunks and started at
zero, so chunk-by-chunk output equals one `sosfilt` call over the whole signal. Adjacent filters
are merged into one cascade (one `sosfilt` call per chunk for a band-pass + notch chain).

Non-finite input (NaN marks a dropped sample on many devices) would poison an IIR filter's state
for good: such samples enter the chain as 0 and come out as NaN, so features leave them out
(`hexloop.domain.features` skips non-finite samples) and the filters recover at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import signal

from hexloop.domain.conditioning import normalize_chain


def sos_for(spec: Mapping, rate: float) -> np.ndarray:
    """The second-order sections of one filter step (bandpass, highpass, lowpass, notch)."""
    kind = spec["type"]
    if kind == "bandpass":
        return signal.butter(spec["order"], [spec["low"], spec["high"]], btype="bandpass",
                             output="sos", fs=rate)
    if kind in ("highpass", "lowpass"):
        return signal.butter(spec["order"], spec["cutoff"], btype=kind, output="sos", fs=rate)
    if kind == "notch":
        sections = []
        for k in range(1, spec["harmonics"] + 1):
            b, a = signal.iirnotch(spec["freq"] * k, spec["q"], fs=rate)
            sections.append(signal.tf2sos(b, a))
        return np.concatenate(sections)
    raise ValueError(f"{kind!r} is not a filter step")


def _passband(spec: Mapping, rate: float) -> np.ndarray:
    """Frequencies (Hz) where a step passes signal, for its group delay."""
    nyquist = rate / 2.0
    kind = spec["type"]
    if kind == "bandpass":
        lo, hi = spec["low"], spec["high"]
    elif kind == "highpass":
        lo, hi = spec["cutoff"], nyquist * 0.95
    elif kind == "lowpass":
        lo, hi = min(1.0, spec["cutoff"] / 10), spec["cutoff"]
    else:  # notch: everywhere but near its frequencies
        grid = np.linspace(nyquist * 0.01, nyquist * 0.95, 400)
        width = 2 * spec["freq"] / spec["q"]
        near = np.zeros(grid.size, bool)
        for k in range(1, spec["harmonics"] + 1):
            near |= np.abs(grid - spec["freq"] * k) < width
        return grid[~near]
    return np.linspace(lo, hi, 200) if hi > lo else np.array([lo])


def _group_delay_s(sos: np.ndarray, freqs: np.ndarray, rate: float) -> float:
    """Median over `freqs` of the cascade's group delay (sum over its sections), in seconds."""
    total = np.zeros(freqs.size)
    for section in sos:
        _, gd = signal.group_delay((section[:3], section[3:]), w=freqs, fs=rate)
        total += gd
    return float(np.median(total)) / rate


class _Sos:
    """A cascade of second-order sections with its per-channel state."""

    def __init__(self, sos: np.ndarray, channels: int, delay_s: float):
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi = np.zeros((self.sos.shape[0], 2, channels))
        self.group_delay_s = delay_s

    def merge(self, other: _Sos) -> None:
        self.sos = np.concatenate([self.sos, other.sos])
        self._zi = np.concatenate([self._zi, other._zi])
        self.group_delay_s += other.group_delay_s

    def process(self, x: np.ndarray) -> np.ndarray:
        y, self._zi = signal.sosfilt(self.sos, x, axis=0, zi=self._zi)
        return y

    def reset(self) -> None:
        self._zi[...] = 0.0


class _CommonAverage:
    group_delay_s = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        return x - x.mean(axis=1, keepdims=True)

    def reset(self) -> None:
        pass


class _Rectify:
    group_delay_s = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        return np.abs(x)

    def reset(self) -> None:
        pass


class _MovingRms:
    """sqrt of the mean square over the last `length` samples (zeros before the first).

    A running sum over a ring of the last `length` squares: each sample costs a few operations
    whatever the window. The sum is recomputed exactly each time the ring wraps (at fixed
    sample positions, so any chunking gives the same result), which keeps rounding from
    accumulating over a long recording.
    """

    def __init__(self, length: int, channels: int, rate: float):
        self.length = length
        self._ring = np.zeros((length, channels))
        self._sum = np.zeros(channels)
        self._pos = 0
        self.group_delay_s = (length - 1) / 2.0 / rate

    def process(self, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        done = 0
        while done < x.shape[0]:
            m = min(x.shape[0] - done, self.length - self._pos)
            squares = x[done:done + m] ** 2
            ring = self._ring[self._pos:self._pos + m]
            sums = np.cumsum(squares - ring, axis=0)
            sums += self._sum
            ring[...] = squares
            out[done:done + m] = sums
            self._sum = sums[-1].copy()
            self._pos += m
            if self._pos == self.length:
                self._pos = 0
                self._sum = self._ring.sum(axis=0)
            done += m
        out /= self.length
        np.maximum(out, 0.0, out=out)
        return np.sqrt(out, out=out)

    def reset(self) -> None:
        self._ring[...] = 0.0
        self._sum[...] = 0.0
        self._pos = 0


class ScipyConditioner:
    """A chain of causal stages for one stream; implements the Conditioner port.

    `chain` is the normalized spec list (what a session's metadata records).
    """

    def __init__(self, chain: Sequence[Mapping], rate: float, channels: int):
        if channels < 1:
            raise ValueError(f"a conditioner needs at least one channel, got {channels}")
        self.chain = normalize_chain(chain, rate)
        self.rate = float(rate)
        self.channels = int(channels)
        self._stages: list = []
        stage: _Sos | _CommonAverage | _Rectify | _MovingRms
        for spec in self.chain:
            kind = spec["type"]
            if kind in ("bandpass", "highpass", "lowpass", "notch"):
                sos = sos_for(spec, rate)
                stage = _Sos(sos, channels, _group_delay_s(sos, _passband(spec, rate), rate))
                if self._stages and isinstance(self._stages[-1], _Sos):
                    self._stages[-1].merge(stage)  # one sosfilt call for adjacent filters
                    continue
            elif kind == "car":
                stage = _CommonAverage()
            elif kind == "rectify":
                stage = _Rectify()
            else:  # rms
                stage = _MovingRms(max(1, round(spec["window_ms"] * rate / 1000.0)), channels, rate)
            self._stages.append(stage)

    @property
    def group_delay_s(self) -> float:
        return float(sum(stage.group_delay_s for stage in self._stages))

    def process(self, chunk: np.ndarray) -> np.ndarray:
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"chunk has shape {x.shape}; this conditioner takes (n, "
                             f"{self.channels})")
        if x.shape[0] == 0:
            return np.empty((0, self.channels))
        bad = ~np.isfinite(x)
        gaps = bool(bad.any())
        if gaps:
            x = np.where(bad, 0.0, x)
        for stage in self._stages:
            x = stage.process(x)
        if gaps:
            x = np.array(x, copy=True)
            x[bad] = np.nan
        return x

    def reset(self) -> None:
        for stage in self._stages:
            stage.reset()

    def __repr__(self) -> str:
        from hexloop.domain.conditioning import describe_chain

        return f"ScipyConditioner({describe_chain(self.chain)}, {self.rate:g} Hz, " \
               f"{self.channels} ch)"


def build_chain(chain: Sequence[Mapping], rate: float, channels: int) -> ScipyConditioner:
    """The ConditionerFactory: the conditioner `chain` describes for this stream."""
    return ScipyConditioner(chain, rate, channels)
