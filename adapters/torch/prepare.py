"""Preparing training data for the torch networks: checks with messages that say what to fix,
the validation split (whole held-out trials when the trials are known), input scaling."""

from __future__ import annotations

import numpy as np
import torch

from hexloop.domain.pipeline import TrainingData


def check_data(data: TrainingData, owner: str, kind: str, task: str,
               architecture: str) -> tuple[np.ndarray, np.ndarray]:
    """Features as float32 and targets (int64 classes or float32 values), or a ValueError
    saying what to fix; `owner` is the model's class name, for the messages."""
    if data.task != task:
        other = "TorchRegressor" if kind == "classifier" else "TorchClassifier"
        raise ValueError(
            f"{owner} learns {task}, but the training data is for "
            f"{data.task}; use {other}"
        )
    x = np.asarray(data.x)
    if not np.issubdtype(x.dtype, np.number) or x.ndim < 2:
        raise ValueError(
            f"training features must be numbers shaped (windows, ...), got {x.dtype} {x.shape}"
        )
    if architecture == "cnn1d" and x.ndim != 3:
        raise ValueError(
            f"architecture='cnn1d' trains on raw windows (windows, channels, samples), got "
            f"features of shape {x.shape}; return the raw window from extract, or use 'mlp'"
        )
    x = x.astype(np.float32)
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} training windows hold NaN or infinite features (first at "
            f"window {int(np.flatnonzero(bad)[0])}); fix the extractor or drop those windows"
        )
    if kind == "classifier":
        y = np.asarray(data.y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"class targets must be whole numbers shaped (windows,), got {y.shape}")
        present = np.unique(y)
        if present.size < 2:
            name = data.names[int(present[0])]
            raise ValueError(
                f"all {len(y)} training windows are of class {name!r}; record trials of at "
                "least two classes before training"
            )
        return x, y.astype(np.int64)
    y = np.asarray(data.y, dtype=np.float64)
    if y.ndim == 1 and len(data.names) == 1:
        y = y[:, None]
    if y.shape != (len(x), len(data.names)):
        raise ValueError(
            f"regression targets must be shaped (windows, {len(data.names)}) for "
            f"{list(data.names)}, got {y.shape}"
        )
    if not np.isfinite(y).all():
        raise ValueError("regression targets hold NaN or infinite values")
    return x, y.astype(np.float32)


def validation_split(y: np.ndarray, groups: np.ndarray | None, fraction: float,
                     per_class: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices: about `fraction` of each class (of everything when not
    `per_class`), taken from the end of the recording.

    With `groups` (each window's trial), a class with two or more trials holds out its last
    whole trials, so no trial has windows on both sides; otherwise the last windows (in
    recording order) validate the earlier ones, which unlike a random split of overlapping
    windows leaks near-copies only at the one cut.
    """
    classes = [np.flatnonzero(y == k) for k in np.unique(y)] if per_class \
        else [np.arange(len(y))]
    train, val = [], []
    for members in classes:
        held = min(int(round(fraction * len(members))), len(members) - 1)
        cut = len(members) - max(held, 0)
        if groups is not None and held > 0:
            trials = np.asarray(groups)[members]
            order = trials[np.sort(np.unique(trials, return_index=True)[1])]
            if order.size >= 2:
                # the last trials, as many as reach `held` windows, never all of them
                sizes = np.array([np.count_nonzero(trials == t) for t in order[::-1]])
                n = min(int(np.searchsorted(np.cumsum(sizes), held)) + 1, order.size - 1)
                out = np.isin(trials, order[::-1][:n])
                train.append(members[~out])
                val.append(members[out])
                continue
        train.append(members[:cut])
        val.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def floats(tensor: torch.Tensor) -> list[float]:
    return [float(v) for v in tensor.detach().to("cpu").reshape(-1).tolist()]


def scaling(values: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=axis)
    std = values.std(axis=axis)
    # Constant inputs get unit scale instead of a division by zero.
    std = np.where(std > 1e-12 * np.maximum(np.abs(mean), 1e-30), std, 1.0)
    return mean, std


def input_scaling(x: np.ndarray, architecture: str) -> tuple[np.ndarray, np.ndarray]:
    if architecture == "mlp":
        return scaling(x.reshape(len(x), -1), axis=0)
    return scaling(x.transpose(1, 0, 2).reshape(x.shape[1], -1), axis=1)
