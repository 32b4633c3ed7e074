"""Pipeline contracts: the extract/train/predict callables, training data, progress, predictions."""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

#: extract(windows) -> features: `windows` maps stream name to its newest data (channels, n).
ExtractFn = Callable[[Mapping[str, np.ndarray]], np.ndarray]
#: train(data, job) -> model. Long loops check `job.cancelled` and report `job.report(...)`.
TrainFn = Callable[["TrainingData", "TrainingJob"], Any]
#: predict(model, features) -> mapping of output name to value.
PredictFn = Callable[[Any, np.ndarray], Mapping[str, float]]


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


@attrs.frozen
class TrainingData:
    """Features per window `x` (k, ...), targets `y`: class indices (k,) or values (k, m)."""

    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...] = attrs.field(converter=_names)  # class names or target names
    task: str = attrs.field(default="classification")
    #: The trial of each window (k,), for cross-validation by trial; None when unknown.
    groups: np.ndarray | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} feature windows but {len(self.y)} targets")
        if len(self.x) == 0:
            raise ValueError("no training windows: record labelled trials first")
        if self.task == "classification":
            bad = set(np.unique(self.y).tolist()) - set(range(len(self.names)))
            if bad:
                raise ValueError(f"class indices {sorted(bad)} have no name in {self.names}")
        if self.groups is not None and np.shape(self.groups) != (len(self.x),):
            raise ValueError(f"{len(self.x)} windows need as many trial groups, "
                             f"got shape {np.shape(self.groups)}")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: np.ndarray) -> TrainingData:
        """The windows at `index` (with their targets and trials), e.g. one fold's."""
        groups = None if self.groups is None else np.asarray(self.groups)[index]
        return TrainingData(np.asarray(self.x)[index], np.asarray(self.y)[index], self.names,
                            self.task, groups=groups)


@attrs.frozen
class TrainingProgress:
    """One report from a training run."""

    epoch: int = 0
    epochs: int = 0
    loss: float = float("nan")
    score: float = float("nan")  # validation score, higher is better
    message: str = ""
    val_loss: float = float("nan")  # loss on the held-out validation windows
    stage: str = ""  # e.g. "fold 2 of 5" or "final model", while cross-validating
    done: float = float("nan")  # the whole run's fraction, when it has several fits

    @property
    def fraction(self) -> float:
        if self.done == self.done:  # not nan
            return min(1.0, max(0.0, self.done))
        return min(1.0, self.epoch / self.epochs) if self.epochs else 0.0


class TrainingCancelled(Exception):
    """Raised inside a train function that saw `job.cancelled`."""


class TrainingJob:
    """Handed to a train function: cooperative cancel and progress reports, thread-safe."""

    def __init__(self, on_progress: Callable[[TrainingProgress], None] | None = None,
                 cancel: threading.Event | None = None):
        self._cancel = cancel if cancel is not None else threading.Event()
        self._progress = TrainingProgress()
        self._on_progress = on_progress

    def part(self, start: float, span: float, stage: str,
             on_progress: Callable[[TrainingProgress], None] | None = None) -> TrainingJob:
        """A job for one of several fits in a run: it shares this job's cancel, and its reports
        come here with `stage` and `done` = start + span * its own fraction."""

        def forward(progress: TrainingProgress) -> None:
            if on_progress is not None:
                on_progress(progress)
            self.report(epoch=progress.epoch, epochs=progress.epochs, loss=progress.loss,
                        score=progress.score, val_loss=progress.val_loss,
                        message=progress.message, stage=stage,
                        done=start + span * progress.fraction)

        return TrainingJob(on_progress=forward, cancel=self._cancel)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise TrainingCancelled("training was cancelled")

    def report(self, **fields: Any) -> None:
        self._progress = attrs.evolve(self._progress, **fields)
        if self._on_progress is not None:
            self._on_progress(self._progress)

    @property
    def progress(self) -> TrainingProgress:
        return self._progress


def _frozen_mapping(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(values))


@attrs.frozen
class Prediction:
    """One predict tick's result; `stale` when no new sample arrived since the previous tick."""

    values: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    tick: int
    input_time: float  # newest input sample's timestamp
    compute_s: float  # extract + predict time
    stale: bool = False

    def vector(self, names: Sequence[str]) -> np.ndarray:
        """The values named `names`, in that order, as float64."""
        missing = [n for n in names if n not in self.values]
        if missing:
            raise KeyError(f"prediction has no {missing}; it has {list(self.values)}")
        return np.array([float(self.values[n]) for n in names], dtype=np.float64)
