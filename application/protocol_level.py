"""The cue level of a protocol with ramps (`ramp_s > 0`), recorded as a stream: the target a
regression learns (one channel per cued class, 0..1, the level the participant was asked to
follow) on the app's clock, so it lines up with the signals and the labels.

`CueLevelSource` is a Source whose samples are computed from the runner's `LevelTimeline` (the
trials' onsets and offsets); it delivers each sample `LAG_S` after its time, once the trial
that covers it is known, so a level is never written before its cue.
"""

from __future__ import annotations

import numpy as np

from hexloop.domain.protocol import LevelTimeline
from hexloop.domain.streams import StreamInfo

LEVEL_STREAM = "cue_level"
LEVEL_RATE_HZ = 100.0
LAG_S = 0.1


class CueLevelSource:
    """A Source of the protocol's cue levels; it does not follow cues itself."""

    follow_cues = False

    def __init__(self, timeline: LevelTimeline, clock, rate: float = LEVEL_RATE_HZ):
        classes = timeline.spec.classes
        self.timeline, self.clock = timeline, clock
        self._info = StreamInfo(LEVEL_STREAM, len(classes), rate, "float32",
                                channel_names=classes, type="Cue", source_id="protocol:level")
        self._t0: float | None = None
        self._sent = 0

    @property
    def info(self) -> StreamInfo:
        return self._info

    def connect(self, timeout: float) -> StreamInfo:
        if self._t0 is None:
            self._t0 = self.clock.now()
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        if self._t0 is None:
            raise RuntimeError("read() before connect()")
        rate = self._info.sampling_rate
        due = int((self.clock.now() - LAG_S - self._t0) * rate) - self._sent
        if due <= 0:
            return np.empty((0, self._info.channel_count), np.float32), np.empty(0)
        ts = self._t0 + (self._sent + np.arange(due)) / rate
        self._sent += due
        return np.asarray(self.timeline.levels(ts), dtype=np.float32).T.copy(), ts

    def disconnect(self) -> None:
        pass
