"""Cutting a recorded session into training windows for a Pipeline (`Pipeline.training_data`).

Split out of application/pipeline.py (#12). The windows are cut from the same conditioning the
streams apply online (#14), end on the first stream's samples, and go through the pipeline's
`extract` function; `Pipeline.training_data` is the entry point and documents the options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hexloop.domain.evaluation import trial_groups
from hexloop.domain.pipeline import ExtractFn, TrainingData
from hexloop.domain.windowing import labeled_window_starts

from .conditioning import conditioned_data

if TYPE_CHECKING:
    from hexloop.ports.store import RecordedSession

    from .stream import Stream


def cut_training_data(streams: Sequence[Stream], session: RecordedSession, extract: ExtractFn,
                      step_ms: float, target: str | None = None) -> TrainingData:
    """Windows of `session` every `step_ms`, each stream's window passed through `extract`:
    labelled by the cue inside single trials (classification), or with `target`, over the
    whole recording learning the target stream's newest sample at each window's end
    (regression). ValueError when no window is complete."""
    arrays = {s.name: conditioned_data(s, session) for s in streams}  # as online (#14)
    lengths = {s.name: max(1, round(s.window_ms * session.meta.stream(s.name).sampling_rate
                                    / 1000.0)) for s in streams}
    first = streams[0]
    rate = session.meta.stream(first.name).sampling_rate
    length = lengths[first.name]
    step = max(1, round(step_ms * rate / 1000.0))
    ts = arrays[first.name][1]
    groups = None
    if target is None:
        starts, y = labeled_window_starts(ts, session.labels, length, step)
        names, task = session.labels.class_names, "classification"
        groups = trial_groups(ts, session.labels, starts, length)
    else:
        starts = np.arange(0, ts.size - length + 1, step)
        target_data, target_ts = session.data(target)
        at = np.searchsorted(target_ts, ts[starts + length - 1], side="right") - 1
        starts, at = starts[at >= 0], at[at >= 0]
        y = np.ascontiguousarray(target_data[:, at].T, dtype=np.float64)
        names, task = session.meta.stream(target).channel_names, "regression"
    ends = ts[starts + length - 1]
    keep, features = [], []
    for k, end in enumerate(ends):
        windows = {}
        for s in streams:
            d, t = arrays[s.name]
            n = lengths[s.name]
            stop = int(np.searchsorted(t, end, side="right"))
            if stop < n:
                break
            windows[s.name] = d[:, stop - n : stop]
        else:
            features.append(np.asarray(extract(windows)))
            keep.append(k)
    if not features:
        what = "labelled trials" if target is None else "recording"
        raise ValueError(f"the session has no complete window: record longer {what} "
                         f"(at least {first.window_ms} ms each)")
    return TrainingData(np.stack(features), y[keep], names, task,
                        groups=None if groups is None else groups[keep])
