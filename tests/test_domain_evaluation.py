"""Training report metrics: folds by trial, confusion matrix, precision / recall, chance, the
report's JSON and text, and the setup a model was trained for (#15)."""

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.evaluation import (
    accuracy,
    chance_level,
    confusion_matrix,
    near_chance,
    precision_recall,
    runs_as_trials,
    trial_folds,
    trial_groups,
)
from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.modelsetup import describe_setup, setup_differences
from hexloop.domain.report import LearningCurve, TrainingReport, normalized_rows
from hexloop.domain.windowing import labeled_window_starts

EXAMPLES = 2000 if os.environ.get("HEXLOOP_FULL_FUZZ") else 100


@st.composite
def trials_and_windows(draw):
    """(groups, y): windows of trials, each trial of one class, several windows each."""
    n_classes = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=30))
    classes = [draw(st.integers(0, n_classes - 1)) for _ in sizes]
    groups = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)  # ids need not be 0..n-1
    y = np.repeat(classes, sizes)
    return groups, y


@settings(max_examples=EXAMPLES, deadline=None)
@given(trials_and_windows(), st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_no_trial_is_split_across_folds_and_every_window_is_held_out_once(case, k, seed):
    groups, y = case
    if np.unique(groups).size < 2:
        with pytest.raises(ValueError, match="at least 2 trials"):
            trial_folds(groups, y, k, seed)
        return
    folds = trial_folds(groups, y, k, seed)
    assert len(folds) == min(k, np.unique(groups).size)
    held = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(held), np.arange(y.size))  # each window tested exactly once
    for train, test in folds:
        assert test.size > 0
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(y.size))
        assert not set(groups[train]) & set(groups[test])  # never a trial on both sides


def test_folds_hold_out_every_class_when_there_are_trials_to_go_round():
    groups, y = np.repeat(np.arange(12), 5), np.repeat(np.arange(12) % 3, 5)  # 4 trials a class
    for _, test in trial_folds(groups, y, 4, seed=1):
        assert set(y[test]) == {0, 1, 2}


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=200))))
def test_confusion_counts_every_window_once_in_its_cued_row_and_predicted_column(case):
    n, pairs = case
    truth = np.array([t for t, _ in pairs], dtype=np.int64)
    guess = np.array([p for _, p in pairs], dtype=np.int64)
    m = confusion_matrix(truth, guess, n)
    assert m.shape == (n, n) and m.sum() == len(pairs)
    assert np.array_equal(m.sum(axis=1), np.bincount(truth, minlength=n))
    assert np.array_equal(m.sum(axis=0), np.bincount(guess, minlength=n))
    precision, recall = precision_recall(m)
    for values in (precision, recall):
        finite = values[np.isfinite(values)]
        assert ((finite >= 0) & (finite <= 1)).all()
    if pairs:
        assert accuracy(m) == pytest.approx(np.mean(truth == guess))
        assert 1 / n <= chance_level(truth, n) <= 1


def test_a_perfect_predictor_scores_one_everywhere():
    y = np.array([0, 1, 2, 2, 1, 0, 0])
    m = confusion_matrix(y, y, 3)
    precision, recall = precision_recall(m)
    assert accuracy(m) == 1.0 and (precision == 1).all() and (recall == 1).all()
    assert np.array_equal(m, np.diag([3, 2, 2]))


def test_a_constant_predictor_scores_chance_and_is_flagged_near_chance():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 3])
    m = confusion_matrix(y, np.zeros_like(y), 4)
    precision, recall = precision_recall(m)
    assert accuracy(m) == chance_level(y, 4) == 3 / 8  # the majority class's share
    assert recall.tolist() == [1, 0, 0, 0] and precision[0] == 3 / 8
    assert np.isnan(precision[1:]).all()  # never predicted: no precision, not zero
    assert near_chance(accuracy(m), chance_level(y, 4))
    assert not near_chance(0.9, 0.25) and near_chance(0.30, 0.25)


def test_chance_of_balanced_classes_is_one_over_the_number_of_classes():
    assert chance_level(np.repeat(np.arange(4), 10), 4) == 0.25


def test_bad_classes_are_refused_with_the_range():
    with pytest.raises(ValueError, match="0..2"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_windows_get_the_trial_of_their_label_event_and_repeated_cues_join():
    track = LabelTrack(("rest", "fist"), [LabelEvent(1.0, 0), LabelEvent(2.0, 1),
                                          LabelEvent(3.0, 1), LabelEvent(4.0, 0)])
    ts = np.arange(0, 600) / 100.0
    starts, y = labeled_window_starts(ts, track, 20, 10)
    groups = trial_groups(ts, track, starts, 20)
    assert groups.shape == starts.shape
    first = ts[starts]
    assert (groups[(first >= 1) & (first < 2)] == 0).all()
    # fist was cued twice in a row: windows run over 3.0, so both cues are one trial
    assert (groups[(first >= 2) & (first < 4)] == 1).all()
    assert (groups[first >= 4] == 2).all()
    assert np.array_equal(runs_as_trials(np.array([0, 0, 1, 1, 0, 2])), [0, 0, 1, 1, 2, 3])


def report(**kw):
    confusion = ((8, 2), (1, 9))
    fields = dict(accuracy=0.85, chance=0.5, confusion=confusion, precision=(8 / 9, 9 / 11),
                  recall=(0.8, 0.9), folds=5, trials=10, windows=20,
                  fold_accuracy=(0.8, 0.9, 1.0, 0.75, 0.8),
                  curve=LearningCurve().add(1, 0.9, 1.0).add(2, 0.5, float("nan")),
                  setup={"class_names": ["rest", "fist"]})
    fields.update(kw)
    return TrainingReport(("rest", "fist"), **fields)


def test_report_round_trips_through_json_and_says_accuracy_next_to_chance():
    r = report()
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["summary"] == "cross-validated accuracy 85 % (chance 50 %)"
    assert doc["confusion_matrix"] == [[8, 2], [1, 9]] and doc["learning_curve"]["val_loss"][1] is None
    back = TrainingReport.from_dict(doc)
    assert back.confusion == r.confusion and back.curve.epochs == (1, 2)
    assert back.summary() == r.summary() and back.warning() is None
    text = r.text()
    assert "rest" in text and "   8" in text and "precision" in text


def test_a_report_near_chance_warns_in_plain_words():
    r = report(accuracy=0.27, chance=0.25)
    assert r.near_chance
    assert "the classes did not differ in the recording" in r.warning()
    assert "cues, the electrodes and the labels" in r.warning()
    assert "WARNING" in r.text() and r.to_dict()["near_chance"] is True


def test_a_report_without_cross_validation_says_why():
    r = TrainingReport(("a", "b"), note="cross-validation by trial needs at least 2 trials")
    assert r.summary().startswith("no cross-validated accuracy: ") and r.warning() is None
    assert TrainingReport.from_dict(r.to_dict()).note == r.note


def test_heat_map_rows_are_shares_of_each_cued_class():
    rows = normalized_rows(((3, 1), (0, 0)))
    assert rows.tolist() == [[0.75, 0.25], [0.0, 0.0]]


def test_setup_differences_name_each_key_that_differs():
    trained = describe_setup(task="classification", class_names=("rest", "fist"),
                             features="emg_features", streams=[("emg", 200.0)],
                             conditioning={"emg": [{"stage": "bandpass", "low_hz": 20}]})
    assert setup_differences(trained, trained) == []
    other = describe_setup(task="classification", class_names=("rest", "pinch"),
                           features="rms", streams=[("emg", 250.0)], conditioning={"emg": []})
    found = setup_differences(trained, other)
    assert len(found) == 4
    assert any("class names" in f and "'fist'" in f and "'pinch'" in f for f in found)
    assert any("feature function" in f and "'emg_features'" in f and "'rms'" in f for f in found)
    assert any("input streams" in f and "200 ms" in f and "250 ms" in f for f in found)
    assert any("conditioning of stream 'emg'" in f for f in found)
    older = {k: v for k, v in trained.items() if k != "conditioning"}  # a file without the key
    assert setup_differences(older, other) == found[:3]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 2)), min_size=1, max_size=12),
       st.integers(1, 15), st.integers(1, 6))
def test_windows_of_different_trials_never_share_a_sample(events, length, step):
    """Cues every few samples (the same class often twice in a row): a trial's windows and any
    other trial's are disjoint, so holding out whole trials leaks no sample into training."""
    times, t = [], 0
    for gap, _ in events:
        t += gap
        times.append(t)
    track = LabelTrack(("a", "b", "c"), [LabelEvent(float(at), k)
                                         for at, (_, k) in zip(times, events)])
    ts = np.arange(t + 30, dtype=np.float64)
    starts, y = labeled_window_starts(ts, track, length, step)
    groups = trial_groups(ts, track, starts, length)
    assert groups.shape == starts.shape and (np.diff(groups) >= 0).all()
    for g in np.unique(groups):
        mine, others = starts[groups == g], starts[groups != g]
        assert len(set(y[groups == g])) == 1  # one class per trial
        for s in mine:
            assert not ((others < s + length) & (others + length > s)).any()


def test_a_feature_function_without_a_stable_name_is_not_compared():
    def setup(features):
        return describe_setup(task="classification", class_names=("a", "b"), features=features,
                              streams=[("emg", 200.0)])

    assert setup_differences(setup("emg_features"), setup("__main__:<lambda>")) == []
    assert setup_differences(setup("mine:run.<locals>.f"), setup("emg_features")) == []
    assert setup_differences(setup("emg_features"), setup("mine:rms")) != []
