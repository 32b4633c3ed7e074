"""Cutting continuous (channels, samples) arrays into windows for training.

Classification windows never straddle a label change; regression windows take the target at the
window's last sample. Windows are copies, never views into the caller's arrays.
"""

from __future__ import annotations

import numpy as np

from .labels import UNLABELED, LabelTrack


def _check(data: np.ndarray, timestamps: np.ndarray, length: int, step: int) -> None:
    if data.ndim != 2:
        raise ValueError(f"data must be (channels, samples), got shape {data.shape}")
    if timestamps.shape != (data.shape[1],):
        raise ValueError(f"{data.shape[1]} samples need as many timestamps, got {timestamps.shape}")
    if length < 1 or step < 1:
        raise ValueError(f"window length and step must be >= 1 sample, got {length} and {step}")


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, label) of each run of equal labels."""
    if labels.size == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [labels.size]))
    return [(int(a), int(b), int(labels[a])) for a, b in zip(starts, stops)]


def _cut(data: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    if starts.size == 0:
        return np.empty((0, data.shape[0], length), dtype=data.dtype)
    index = starts[:, None] + np.arange(length)[None, :]
    return np.ascontiguousarray(data[:, index].transpose(1, 0, 2))


def labeled_window_starts(
    timestamps: np.ndarray,
    track: LabelTrack,
    length: int,
    step: int,
    include_unlabeled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """First-sample indices (k,) of windows inside single trials, and their classes (k,).

    Cheap: nothing is copied, so a long session can be windowed without holding every window.
    """
    if length < 1 or step < 1:
        raise ValueError(f"window length and step must be >= 1 sample, got {length} and {step}")
    labels = track.class_at(np.asarray(timestamps, dtype=np.float64))
    starts, classes = [], []
    for a, b, label in _runs(labels):
        if label == UNLABELED and not include_unlabeled:
            continue
        run_starts = np.arange(a, b - length + 1, step)
        starts.append(run_starts)
        classes.append(np.full(run_starts.size, label, dtype=np.int64))
    starts_arr = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
    y = np.concatenate(classes) if classes else np.empty(0, dtype=np.int64)
    return starts_arr, y


def labeled_windows(
    data: np.ndarray,
    timestamps: np.ndarray,
    track: LabelTrack,
    length: int,
    step: int,
    include_unlabeled: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows inside single trials: X (k, channels, length), y (k,), end times (k,)."""
    data, timestamps = np.asarray(data), np.asarray(timestamps, dtype=np.float64)
    _check(data, timestamps, length, step)
    starts, y = labeled_window_starts(timestamps, track, length, step, include_unlabeled)
    ends = timestamps[starts + length - 1] if starts.size else np.empty(0)
    return _cut(data, starts, length), y, ends


def aligned_windows(
    data: np.ndarray, timestamps: np.ndarray, target: np.ndarray, length: int, step: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regression windows: X (k, channels, length), Y (k, targets) at each window's last sample.

    `target` is (samples,) or (targets, samples), sampled on the same timestamps as `data`.
    """
    data, timestamps = np.asarray(data), np.asarray(timestamps, dtype=np.float64)
    _check(data, timestamps, length, step)
    target = np.asarray(target)
    if target.ndim == 1:
        target = target[None, :]
    if target.shape[1] != data.shape[1]:
        raise ValueError(
            f"target has {target.shape[1]} samples but data has {data.shape[1]}; "
            "resample the target onto the data's timestamps first"
        )
    starts = np.arange(0, data.shape[1] - length + 1, step)
    ends = starts + length - 1
    y = np.ascontiguousarray(target[:, ends].T)
    return _cut(data, starts, length), y, timestamps[ends] if ends.size else np.empty(0)
