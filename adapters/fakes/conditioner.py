"""FakeConditioner: a causal running sum per channel (state carried across chunks), pure numpy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


class FakeConditioner:
    """Output k is `gain` times the sum of the input up to k since the last reset.

    Records every chunk it was given (`chunks`) and counts `resets`, so tests see what the
    application fed it.
    """

    def __init__(self, channels: int, gain: float = 1.0, delay_s: float = 0.0):
        self.channels = channels
        self.gain = gain
        self._total = np.zeros(channels)
        self._delay = delay_s
        self.chunks: list[np.ndarray] = []
        self.resets = 0

    @property
    def group_delay_s(self) -> float:
        return self._delay

    def process(self, chunk: np.ndarray) -> np.ndarray:
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"chunk has shape {x.shape}; this conditioner takes (n, "
                             f"{self.channels})")
        self.chunks.append(x.copy())
        out = self._total + np.cumsum(x, axis=0)
        if len(out):
            self._total = out[-1].copy()
        return self.gain * out

    def reset(self) -> None:
        self._total = np.zeros(self.channels)
        self.resets += 1


def fake_conditioner_factory(chain: Sequence[Mapping], rate: float, channels: int):
    """A ConditionerFactory for tests: any chain becomes a FakeConditioner."""
    return FakeConditioner(channels)
