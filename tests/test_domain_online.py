"""Online accuracy and decision latency on scripted sessions (hexloop.domain.online)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.online import (
    UNDECIDED,
    NotClassScores,
    class_columns,
    decisions,
    score_online,
)

CLASSES = ("rest", "fist", "open")


def track(*events):
    return LabelTrack(CLASSES, [LabelEvent(t, k) for t, k in events])


def one_hot(classes, n_channels=3):
    """(channels, n) probabilities putting 0.8 on each given class (-1: all NaN)."""
    values = np.full((n_channels, len(classes)), 0.1)
    for i, k in enumerate(classes):
        if k < 0:
            values[:, i] = np.nan
        else:
            values[k, i] = 0.8
    return values


def test_decisions_by_name_by_position_and_from_a_class_channel():
    v = one_hot([2, 0, 1])
    assert decisions(v, ["rest", "fist", "open"], CLASSES).tolist() == [2, 0, 1]
    # named p_<class> and in another order: mapped by name, not by position
    assert decisions(v[::-1], ["p_open", "p_fist", "p_rest"], CLASSES).tolist() == [2, 0, 1]
    assert decisions(v, ["a", "b", "c"], CLASSES).tolist() == [2, 0, 1]  # by position
    assert decisions(one_hot([-1, 1]), list(CLASSES), CLASSES).tolist() == [UNDECIDED, 1]
    cls = np.array([[0.0, 2.0, -1.0, 7.0, np.nan, 1.5]])
    assert decisions(cls, ["class"], CLASSES).tolist() == [0, 2, -1, -1, -1, -1]


def test_regression_values_are_not_class_scores():
    with pytest.raises(NotClassScores, match="not class scores"):
        class_columns(["force_x", "force_y"], CLASSES)
    with pytest.raises(ValueError, match="channels"):
        decisions(np.zeros((2, 4)), list(CLASSES), CLASSES)


def test_accuracy_overall_and_per_class_against_the_cues():
    # cues: rest at 0, fist at 1, open at 2; predictions every 0.25 s from -0.5 to 2.75
    times = np.arange(-0.5, 3.0, 0.25)
    cued = track((0.0, 0), (1.0, 1), (2.0, 2)).class_at(times)
    decided = np.where(times < 0, 1, cued)
    decided[times == 1.0] = 0  # one wrong prediction during fist
    decided[times == 2.5] = UNDECIDED  # no decision counts as wrong
    score = score_online(times, decided, track((0.0, 0), (1.0, 1), (2.0, 2)))
    assert score.scored == 12 and score.unscored == 2  # before the first cue: not scored
    assert score.accuracy == pytest.approx(10 / 12)
    assert score.per_class == pytest.approx({"rest": 1.0, "fist": 0.75, "open": 0.75})
    assert score.confusion[1, 0] == 1 and score.confusion[2, 3] == 1  # last column: none
    assert score.chance == pytest.approx(4 / 12)


def test_latency_is_the_first_prediction_of_the_cued_class_held_for_hold_s():
    times = np.round(np.arange(0.0, 3.0, 0.02), 6)
    decided = np.zeros(times.size, dtype=np.int64)
    # fist cued at 1.0: a 40 ms flicker at 1.10, then held from 1.30 on
    decided[(times >= 1.10) & (times < 1.14)] = 1
    decided[(times >= 1.30) & (times < 2.0)] = 1
    # open cued at 2.0: never decided
    cues = track((0.0, 0), (1.0, 1), (2.0, 2))
    score = score_online(times, decided, cues, hold_s=0.1)
    lat = [c.latency_s for c in score.latencies]
    assert lat[0] == pytest.approx(0.0)
    assert lat[1] == pytest.approx(0.30)  # the flicker is not a decision
    assert lat[2] is None
    assert score.missed == 1 and score.median_latency_s == pytest.approx(0.15)
    # without a hold the flicker counts
    assert score_online(times, decided, cues, hold_s=0.0).latencies[1].latency_s == \
        pytest.approx(0.10)


def test_a_decision_held_until_the_next_cue_counts_even_if_shorter_than_the_run_after():
    times = np.array([0.0, 0.05, 0.5, 0.55, 0.6])
    decided = np.array([1, 0, 0, 0, 0])
    cues = track((0.0, 1), (0.05, 0))
    score = score_online(times, decided, cues, hold_s=0.04)
    assert score.latencies[0].latency_s == pytest.approx(0.0)  # held until the next cue
    assert score.latencies[1].latency_s == pytest.approx(0.0)  # held until the last prediction


def test_settle_leaves_out_predictions_just_after_each_cue():
    times = np.arange(0.0, 2.0, 0.1)
    cues = track((0.0, 0), (1.0, 1))
    decided = cues.class_at(times - 0.25)  # the model lags 0.25 s behind the cues
    decided[decided < 0] = UNDECIDED
    lagging = score_online(times, decided, cues)
    settled = score_online(times, decided, cues, settle_s=0.3)
    assert lagging.accuracy < 1.0 and settled.accuracy == 1.0
    assert settled.unscored == 6


def test_nothing_to_score_says_so():
    score = score_online(np.array([0.0, 1.0]), np.array([0, 1]), track())
    assert math.isnan(score.accuracy) and score.scored == 0
    assert "nothing to score" in score.lines()[0]
    assert score_online(np.empty(0), np.empty(0, int), track((0.0, 1))).latencies[0].latency_s \
        is None


def test_lines_name_every_class_and_the_hold():
    times = np.arange(0.0, 2.0, 0.02)
    cues = track((0.0, 0), (1.0, 2))
    text = "\n".join(score_online(times, cues.class_at(times), cues).lines())
    assert "accuracy 100.0% over 100 predictions" in text
    for name in CLASSES:
        assert name in text
    assert "held 100 ms" in text and "0 of 2 cues never decided" in text


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10), st.integers(-1, 3)), max_size=60),
       st.lists(st.tuples(st.floats(0, 10), st.integers(0, 2)), max_size=8),
       st.floats(0, 1))
def test_any_sequence_scores_within_bounds(preds, cue_list, hold_s):
    """Every prediction is scored once or not at all; latencies fall inside their cue."""
    times = np.array([t for t, _ in preds], dtype=np.float64)
    decided = np.array([k for _, k in preds], dtype=np.int64)
    cues = track(*sorted(cue_list))
    score = score_online(times, decided, cues, hold_s=hold_s)
    assert score.scored + score.unscored == len(preds)
    assert np.isnan(score.accuracy) or 0.0 <= score.accuracy <= 1.0
    starts = [e.time for e in cues.events] + [math.inf]
    for i, cue in enumerate(score.latencies):
        if cue.latency_s is not None:
            assert 0.0 <= cue.latency_s
            assert cue.time + cue.latency_s <= max(starts[i + 1], cue.time)
