"""Cross-validation by trial and the metrics of a training report; pure numpy.

Windows overlap and neighbouring windows of one trial are near copies, so a model is scored on
held-out *trials*: `trial_groups` gives every window the trial it belongs to, and `trial_folds`
keeps each trial whole in one fold. The confusion matrix has the cued class in rows and the
predicted class in columns. Chance is the *majority-class rate*: the accuracy of always answering
the most frequent class among the scored windows (1 / n_classes when the classes are balanced,
higher when one class dominates), so a model that learnt nothing never looks better than chance.
"""

from __future__ import annotations

import numpy as np

from .labels import LabelTrack

#: A cross-validated accuracy less than this far above chance is reported as "near chance".
NEAR_CHANCE_MARGIN = 0.10
#: How chance is computed, as the report states it.
CHANCE_RULE = "majority-class rate (always answering the most frequent class)"


def trial_groups(timestamps: np.ndarray, track: LabelTrack, starts: np.ndarray,
                 length: int) -> np.ndarray:
    """The trial (0, 1, ...) of each window starting at sample `starts` (k,), `length` long.

    A trial is the span of one label event. A window that runs over the next event (the same
    class cued twice in a row) joins the two events into one trial, so no two trials share a
    sample of any window.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if starts.size == 0:
        return np.empty(0, dtype=np.int64)
    times = np.asarray([e.time for e in track.events], dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    first = np.searchsorted(times, ts[starts], side="right") - 1
    last = np.searchsorted(times, ts[starts + length - 1], side="right") - 1
    joined = np.zeros(max(times.size, 1) + 1, dtype=bool)  # joined[i]: event i is in i-1's trial
    for a, b in zip(first[last > first], last[last > first]):
        joined[a + 1 : b + 1] = True
    trial_of_event = np.cumsum(~joined[: times.size + 1]) - 1
    trials: np.ndarray = trial_of_event[np.maximum(first, 0)].astype(np.int64)
    return trials


def trial_folds(groups: np.ndarray, y: np.ndarray, k: int = 5,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) window indices of up to `k` folds; every trial is wholly in one test fold.

    The trials of each class are shuffled (with `seed`) and dealt in turn to the folds, so each
    fold holds out trials of as many classes as there are trials to go round. Raises ValueError
    with fewer than two trials.
    """
    groups, y = np.asarray(groups), np.asarray(y)
    if groups.shape != y.shape or groups.ndim != 1:
        raise ValueError(f"groups {groups.shape} and targets {y.shape} must be equal 1-D shapes")
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {k}")
    trials, first = np.unique(groups, return_index=True)
    if trials.size < 2:
        raise ValueError(f"cross-validation by trial needs at least 2 trials, got {trials.size}: "
                         "record more trials")
    folds = min(k, trials.size)
    rng = np.random.default_rng(seed)
    fold_of: dict[int, int] = {}
    dealt = 0
    trial_class = y[first]
    for cls in np.unique(trial_class):
        for trial in rng.permutation(trials[trial_class == cls]):
            fold_of[trial.item()] = dealt % folds
            dealt += 1
    window_fold = np.array([fold_of[g] for g in groups.tolist()], dtype=np.int64)
    everything = np.arange(y.size)
    return [(everything[window_fold != f], everything[window_fold == f]) for f in range(folds)]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.size} true classes but {y_pred.size} predictions")
    for name, v in (("true", y_true), ("predicted", y_pred)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise ValueError(f"{name} classes must be in 0..{n_classes - 1}")
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def accuracy(confusion: np.ndarray) -> float:
    """Share of windows on the diagonal (nan with no windows)."""
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class: precision (right among predicted as it) and recall (found among cued as it);
    nan where a class was never predicted (precision) or never cued (recall)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    predicted, cued = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / predicted, np.nan)
        recall = np.where(cued > 0, hits / cued, np.nan)
    return precision, recall


def chance_level(y: np.ndarray, n_classes: int) -> float:
    """The majority-class rate of `y`: what always answering the most frequent class scores."""
    y = np.asarray(y, dtype=np.int64)
    if y.size == 0:
        return 1.0 / n_classes if n_classes else float("nan")
    return float(np.bincount(y, minlength=n_classes).max() / y.size)


def near_chance(score: float, chance: float, margin: float = NEAR_CHANCE_MARGIN) -> bool:
    """True when `score` is less than `margin` above chance: the model learnt next to nothing."""
    return bool(np.isfinite(score) and np.isfinite(chance) and score < chance + margin)


def runs_as_trials(y: np.ndarray) -> np.ndarray:
    """Trials when only the windows' classes in recording order are known: each run of equal
    classes is one trial (windows from `Pipeline.training_data` carry their real trials)."""
    y = np.asarray(y)
    if y.size == 0:
        return np.empty(0, dtype=np.int64)
    change = np.concatenate(([False], y[1:] != y[:-1]))
    return np.cumsum(change).astype(np.int64)
