"""The predict thread's pieces that need no Pipeline: the prediction log, one tick's windows and
values, and the slowness warning (`Pipeline` in application/pipeline.py runs the thread).

Split out of application/pipeline.py (#12); `PredictionLog` is re-exported there.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hexloop.domain.pacing import LoopHealth
from hexloop.domain.pipeline import ExtractFn, PredictFn, Prediction

if TYPE_CHECKING:
    from .stream import Stream


class PredictionLog:
    """The newest predictions (bounded) and running counts; read from any thread."""

    def __init__(self, maxlen: int = 1000):
        self._items: collections.deque[Prediction] = collections.deque(maxlen=maxlen)
        self._arrivals: collections.deque[float] = collections.deque(maxlen=maxlen)
        self.count = 0
        self.stale = 0

    def append(self, prediction: Prediction) -> None:
        self._items.append(prediction)
        self._arrivals.append(time.monotonic())
        self.count += 1
        self.stale += prediction.stale

    @property
    def latest(self) -> Prediction | None:
        try:
            return self._items[-1]
        except IndexError:
            return None

    def recent(self, n: int | None = None) -> list[Prediction]:
        items = list(self._items)
        return items if n is None else items[-n:]

    def rate(self, seconds: float = 2.0) -> float:
        """Predictions per second of wall time over the last `seconds`."""
        now = time.monotonic()
        return sum(1 for t in list(self._arrivals) if now - t <= seconds) / seconds


def newest_windows(streams: Sequence[Stream]) -> tuple[dict[str, np.ndarray], float] | None:
    """Each stream's newest window and the newest sample time among them; None while any
    stream's window is not full yet."""
    windows, newest = {}, -np.inf
    for s in streams:
        data, ts = s.get_window()
        if ts.size < s.window_samples:
            return None
        windows[s.name] = data
        newest = max(newest, ts[-1])
    return windows, newest


def predict_values(model: Any, predict: PredictFn | None, extract: ExtractFn | None,
                   windows: dict[str, np.ndarray]) -> Mapping:
    """`predict(model, extract(windows))`, refused unless it is a mapping of name to value."""
    if predict is None or extract is None:
        raise RuntimeError("predicting without an extract or predict function: "
                           "pipeline.extract(...) and use_model() first")
    values = predict(model, extract(windows))
    if not isinstance(values, Mapping):
        raise TypeError(
            f"@pipeline.predict must return a mapping of name to value, got "
            f"{type(values).__name__}; return e.g. {{'p_rest': 0.9}}"
        )
    return values


def slowness(loop: LoopHealth, predicting: bool) -> tuple[str, str] | None:
    """The cause ("overrun": a tick's work longer than the period; "late": ticks starting late
    while predicting) and the warning to log about it, or None when the loop keeps up."""
    if not (loop.overruns or (loop.late and predicting)):
        return None
    period = f"{loop.period_s * 1e3:.0f} ms period at {loop.hz:g} Hz"
    if loop.overruns:
        cause = "overrun"
        took = (f"has been running for {loop.busy_s * 1e3:.0f} ms"
                if loop.busy_s > loop.period_s else
                f"took {loop.max_duration_s * 1e3:.0f} ms")
        message = (f"predict {took}, longer than its {period}; predictions come late and "
                   f"ticks are skipped: lower predict_hz or simplify extract/model")
    else:
        cause = "late"
        message = (f"predict ticks start up to {loop.max_lateness_s * 1e3:.0f} ms after "
                   f"their deadline ({period}): the machine is too busy, so predictions "
                   f"come late; close other programs or lower predict_hz")
    return cause, message
