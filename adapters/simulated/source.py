"""SimulatedSource: EMG-like samples at exactly `rate` per second of wall time."""

from __future__ import annotations

import numpy as np

from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.simulation import DEFAULT_CLASSES, EmgSimulator
from hexloop.domain.streams import StreamInfo


class SimulatedSource:
    """A Source whose sample count is derived from elapsed time, so it never drifts.

    `set_class` switches the simulated gesture. The app's cues (cue buttons, `app.mark`,
    `app.cue`, a protocol) drive it, by class name when the app's classes are among
    `class_names`, else by index; `follow_cues=False` (`follow_cues = false` in a setup file's
    options) leaves it alone, for a second simulated stream that should not follow them.
    """

    def __init__(
        self,
        name: str = "sim",
        channels: int = 8,
        rate: float = 1000.0,
        chunk: int = 0,
        class_names: tuple[str, ...] = DEFAULT_CLASSES,
        seed: int = 0,
        clock=None,
        follow_cues: bool = True,
    ):
        if not rate > 0:
            raise ValueError(f"a simulated amplifier needs a positive rate in Hz, got {rate}")
        if not isinstance(follow_cues, bool):
            raise ValueError(f"follow_cues must be true or false, got {follow_cues!r}")
        self.follow_cues = follow_cues
        self._info = StreamInfo(name, channels, rate, "float32", type="EMG", units=("V",) * channels)
        self.chunk = chunk  # deliver only whole chunks of this many samples (0: whatever is due)
        self.simulator = EmgSimulator(channels, rate, tuple(class_names), seed)
        self.clock = clock or MonotonicClock()
        self._t0: float | None = None
        self._sent = 0

    @property
    def info(self) -> StreamInfo:
        return self._info

    @property
    def class_names(self) -> tuple[str, ...]:
        """The simulated gestures, in `set_class` order."""
        return self.simulator.class_names

    def set_class(self, class_index: int) -> None:
        self.simulator.set_class(class_index)

    def connect(self, timeout: float) -> StreamInfo:
        if self._t0 is None:
            self._t0 = self.clock.now()
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        if self._t0 is None:
            raise RuntimeError("read() before connect()")
        rate = self._info.sampling_rate
        due = int((self.clock.now() - self._t0) * rate) - self._sent
        if self.chunk:
            due -= due % self.chunk
        if due <= 0:
            return np.empty((0, self._info.channel_count), np.float32), np.empty(0)
        ts = self._t0 + (self._sent + np.arange(due)) / rate
        self._sent += due
        return self.simulator.generate(due), ts

    def disconnect(self) -> None:
        pass
