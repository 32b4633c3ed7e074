"""FakeModel: a nearest-centroid classifier in numpy, saved as JSON (safe to load)."""

from __future__ import annotations

import json
from os import PathLike

import numpy as np

from hexloop.domain.pipeline import TrainingData, TrainingJob
from hexloop.ports.model import ModelFileError


class FakeModel:
    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self._centroids: np.ndarray | None = None
        self._names: tuple[str, ...] = ()

    @property
    def output_names(self) -> tuple[str, ...]:
        return self._names

    def fit(self, data: TrainingData, job: TrainingJob) -> None:
        job.raise_if_cancelled()
        if self.fail is not None:
            raise self.fail
        x = data.x.reshape(len(data.x), -1).astype(np.float64)
        centroids = np.zeros((len(data.names), x.shape[1]))
        for k in range(len(data.names)):
            if (data.y == k).any():
                centroids[k] = x[data.y == k].mean(axis=0)
            job.report(epoch=k + 1, epochs=len(data.names))
            job.raise_if_cancelled()
        self._centroids, self._names = centroids, tuple(data.names)

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self._centroids is None:
            raise RuntimeError("predict() before fit() or load()")
        d = np.linalg.norm(self._centroids - np.ravel(features)[None, :], axis=1)
        scores = np.exp(-(d - d.min()) / (d.std() + 1e-12))
        return scores / scores.sum()

    def save(self, path: str | PathLike) -> None:
        if self._centroids is None:
            raise RuntimeError("save() before fit(): there is no model to save")
        with open(path, "w") as f:
            json.dump({"kind": "fake-centroid", "names": self._names,
                       "centroids": self._centroids.tolist()}, f)

    def load(self, path: str | PathLike) -> None:
        try:
            with open(path) as f:
                doc = json.load(f)
            if doc.get("kind") != "fake-centroid":
                raise ValueError(f"kind is {doc.get('kind')!r}")
            centroids = np.asarray(doc["centroids"], dtype=np.float64)
            names = tuple(doc["names"])
            if centroids.shape[0] != len(names):
                raise ValueError("centroids and names disagree")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelFileError(f"{path}: not a FakeModel file ({e})") from e
        self._centroids, self._names = centroids, names
