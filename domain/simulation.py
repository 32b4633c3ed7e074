"""An EMG-like signal model: per-class muscle activation patterns under noise and mains hum.

Pure numpy; the simulated source and the simulated LSL device pace it on a clock.
"""

from __future__ import annotations

import threading

import numpy as np

DEFAULT_CLASSES = ("rest", "fist", "flexion", "extension")


class EmgSimulator:
    """Generates (n, channels) float32 chunks; `set_class` switches the gesture from any thread.

    Each class activates a fixed random subset of channels, so window RMS separates classes.
    """

    def __init__(
        self,
        channels: int = 8,
        rate: float = 1000.0,
        class_names: tuple[str, ...] = DEFAULT_CLASSES,
        seed: int = 0,
        amplitude: float = 1e-4,
    ):
        self.channels, self.rate, self.class_names = channels, float(rate), tuple(class_names)
        rng = np.random.default_rng(seed)
        self._rng = np.random.default_rng(seed + 1)
        self._gain = np.ones((len(class_names), channels), dtype=np.float32) * 0.15
        for k in range(1, len(class_names)):
            active = rng.choice(channels, size=max(1, channels // 3), replace=False)
            self._gain[k, active] = rng.uniform(0.8, 1.5, size=active.size)
        self._amplitude = amplitude
        self._hum_phase = rng.uniform(0, 2 * np.pi, channels)
        self._class = 0
        self._n = 0
        self._lock = threading.Lock()

    @property
    def current_class(self) -> int:
        return self._class

    def set_class(self, class_index: int) -> None:
        if not 0 <= class_index < len(self.class_names):
            raise ValueError(
                f"class {class_index} is outside 0..{len(self.class_names) - 1} "
                f"({list(self.class_names)})"
            )
        self._class = class_index

    def generate(self, n: int) -> np.ndarray:
        """The next n samples (n, channels), float32, continuing where the last call ended."""
        with self._lock:
            gain = self._gain[self._class]
            t = (self._n + np.arange(n)) / self.rate
            self._n += n
            noise = self._rng.standard_normal((n, self.channels), dtype=np.float32)
        hum = 0.05 * np.sin(2 * np.pi * 50.0 * t[:, None] + self._hum_phase[None, :])
        out: np.ndarray = (self._amplitude * (noise * gain + hum)).astype(np.float32)
        return out
