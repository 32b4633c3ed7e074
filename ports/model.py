"""The Model port: something that learns from `TrainingData` and predicts one window at a time."""

from __future__ import annotations

from os import PathLike
from typing import Protocol, runtime_checkable

import numpy as np

from hexloop.domain.pipeline import TrainingData, TrainingJob


class ModelFileError(ValueError):
    """A model file that cannot be loaded (corrupt, tampered, another architecture)."""


@runtime_checkable
class Model(Protocol):
    """`fit` runs on the training thread; `predict` on the predict thread, never at the same time.

    `fit` reports through `job.report(...)` and raises TrainingCancelled when `job.cancelled`.
    `predict` takes one window's features and returns a 1-D float array, one value per name in
    `output_names` (class probabilities or regression targets), well within one predict period.
    `save` runs on a worker thread, possibly while `predict` runs, so it only reads the model;
    `load` runs on a fresh instance and either replaces the model entirely or raises
    ModelFileError and leaves it as it was. Test with `contracts.check_model`; docs/adapters.md.
    """

    @property
    def output_names(self) -> tuple[str, ...]: ...

    def fit(self, data: TrainingData, job: TrainingJob) -> None: ...

    def predict(self, features: np.ndarray) -> np.ndarray: ...

    def save(self, path: str | PathLike[str]) -> None: ...

    def load(self, path: str | PathLike[str]) -> None: ...
