"""Label events and the label track: which class was cued when, and the trials between events."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np

#: Class index of samples before the first label event.
UNLABELED = -1


@attrs.frozen
class LabelEvent:
    """From `time` on (stream clock, seconds), the cued class is `class_index`."""

    time: float
    class_index: int

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "class_index": self.class_index}


@attrs.frozen
class Trial:
    """An interval [start, stop) during which one class was cued."""

    class_index: int
    start: float
    stop: float

    @property
    def duration(self) -> float:
        return self.stop - self.start


class LabelTrack:
    """Time-ordered label events for a list of class names; appends are thread-safe."""

    def __init__(self, class_names: Sequence[str], events: Iterable[LabelEvent] = ()):
        if len(set(class_names)) != len(class_names):
            raise ValueError(f"class names must be unique, got {list(class_names)}")
        self.class_names = tuple(class_names)
        self._events: list[LabelEvent] = []
        self._lock = threading.Lock()
        for event in events:
            self.add(event)

    def add(self, event: LabelEvent) -> None:
        if not 0 <= event.class_index < len(self.class_names):
            raise ValueError(
                f"class index {event.class_index} is outside 0..{len(self.class_names) - 1} "
                f"for classes {list(self.class_names)}"
            )
        with self._lock:
            if self._events and event.time < self._events[-1].time:
                raise ValueError(
                    f"label at {event.time:.6f} is earlier than the previous one at "
                    f"{self._events[-1].time:.6f}; labels must be added in time order"
                )
            self._events.append(event)

    def index_of(self, class_name: str) -> int:
        try:
            return self.class_names.index(class_name)
        except ValueError:
            raise ValueError(
                f"unknown class {class_name!r}; known classes: {list(self.class_names)}"
            ) from None

    @property
    def events(self) -> tuple[LabelEvent, ...]:
        with self._lock:
            return tuple(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def trials(self, end: float) -> list[Trial]:
        """Intervals between consecutive events; the last one runs until `end`."""
        events = self.events
        trials = []
        for i, event in enumerate(events):
            stop = events[i + 1].time if i + 1 < len(events) else end
            if stop > event.time:
                trials.append(Trial(event.class_index, event.time, stop))
        return trials

    def class_at(self, times: np.ndarray) -> np.ndarray:
        """The cued class index at each time (UNLABELED before the first event)."""
        events = self.events
        times = np.asarray(times, dtype=np.float64)
        if not events:
            return np.full(times.shape, UNLABELED, dtype=np.int64)
        starts = np.array([e.time for e in events])
        classes = np.array([e.class_index for e in events] + [UNLABELED], dtype=np.int64)
        idx = np.searchsorted(starts, times, side="right") - 1
        return np.where(idx >= 0, classes[idx], UNLABELED)

    def counts(self, end: float) -> dict[str, int]:
        """Number of trials per class name."""
        out = dict.fromkeys(self.class_names, 0)
        for trial in self.trials(end):
            out[self.class_names[trial.class_index]] += 1
        return out
