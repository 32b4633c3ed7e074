"""ForceSensorSource: a synthetic force/torque sensor, 1 to 6 channels at a regular rate."""

from __future__ import annotations

import math

import numpy as np
from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.streams import StreamInfo
from hexloop.ports import Clock

AXES = ("Fx", "Fy", "Fz", "Tx", "Ty", "Tz")
UNITS = ("N", "N", "N", "N*m", "N*m", "N*m")
#: How much of the grip each axis sees: the squeeze is mostly along the first axis.
GAINS = (1.0, 0.3, 0.2, 0.05, 0.04, 0.03)
SMOOTHING_S = 0.08  # a hand reaches a new cued grip level with this time constant
MAX_READ_S = 0.5  # a read after a long pause delivers at most this much; the rest comes next


class ForceSensorSource:
    """A Source (`hexloop.ports.Source`) whose sample count follows wall time, so it never drifts.

    The grip follows a slow squeeze-and-release sine (`period_s`, peak `amplitude` newtons on
    the first axis), or, after `set_class(k)`, moves smoothly to level k of `levels` (0 = rest,
    `levels - 1` = the full `amplitude`), as when a cue asks the participant to grip;
    `set_class(None)` returns to the sine.

    Threading, as the port requires: `connect`, `read` and `disconnect` run on the stream's
    acquisition thread only, and `read` never blocks (it returns what is due, possibly
    nothing). `set_class` may be called from any thread: it replaces one reference.
    """

    def __init__(self, name: str = "force", channels: int = 1, rate: float = 100.0,
                 amplitude: float = 20.0, period_s: float = 2.0, noise: float = 0.1,
                 levels: int = 3, seed: int = 0, clock: Clock | None = None):
        if not 1 <= channels <= len(AXES):
            raise ValueError(f"a force sensor has 1 to {len(AXES)} channels "
                             f"({', '.join(AXES)}), got {channels}")
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of Hz, got {rate}")
        if not period_s > 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        if levels < 2:
            raise ValueError(f"levels must be at least 2 (rest and one grip), got {levels}")
        if noise < 0:
            raise ValueError(f"noise is a standard deviation in newtons, >= 0; got {noise}")
        self._info = StreamInfo(name, channels, float(rate), "float32", type="Force",
                                channel_names=AXES[:channels], units=UNITS[:channels])
        self.amplitude, self.period_s, self.noise, self.levels = amplitude, period_s, noise, levels
        self.clock = clock or MonotonicClock()
        self._gains = np.array(GAINS[:channels])
        self._rng = np.random.default_rng(seed)
        self._target: int | None = None  # cued level, None: the sine
        self._grip = 0.0  # the grip (0..1) at the last sample delivered
        self._t0: float | None = None
        self._sent = 0

    @property
    def info(self) -> StreamInfo:
        return self._info

    def set_class(self, class_index: int | None) -> None:
        """Hold grip level `class_index` from now on (None: back to the sine)."""
        if class_index is not None and not 0 <= class_index < self.levels:
            raise ValueError(f"class {class_index} is not a level of 0..{self.levels - 1}")
        self._target = class_index

    def connect(self, timeout: float) -> StreamInfo:
        if self._t0 is None:
            self._t0, self._sent = self.clock.now(), 0
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        if self._t0 is None:
            raise RuntimeError("read() before connect()")
        rate = self._info.sampling_rate
        due = int((self.clock.now() - self._t0) * rate) - self._sent
        due = min(due, max(1, int(rate * MAX_READ_S)))
        if due <= 0:
            return np.empty((0, self._info.channel_count), np.float32), np.empty(0)
        t = (self._sent + np.arange(due)) / rate
        grip = self._grip_at(t, rate)
        data = grip[:, None] * self.amplitude * self._gains[None, :]
        if self.noise:
            data += self._rng.normal(0.0, self.noise, data.shape)
        self._sent += due
        return data.astype(np.float32), self._t0 + t

    def _grip_at(self, t: np.ndarray, rate: float) -> np.ndarray:
        target = self._target  # read once: set_class may replace it meanwhile
        if target is None:
            grip = 0.5 - 0.5 * np.cos(2 * np.pi * t / self.period_s)
        else:
            goal = target / (self.levels - 1)
            decay = np.exp(-np.arange(1, len(t) + 1) / (rate * SMOOTHING_S))
            grip = goal + (self._grip - goal) * decay
        self._grip = float(grip[-1])
        return grip

    def disconnect(self) -> None:
        """Stop pacing; a later `connect` starts again from its own time. Twice is harmless."""
        self._t0 = None
