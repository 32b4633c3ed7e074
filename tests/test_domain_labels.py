"""Label tracks and trials; windowing that never straddles a label change; aligned targets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.labels import UNLABELED, LabelEvent, LabelTrack, Trial
from hexloop.domain.windowing import aligned_windows, labeled_windows

NAMES = ("rest", "fist", "open")


def test_trials_run_between_events_and_the_last_until_end():
    track = LabelTrack(NAMES, [LabelEvent(1.0, 0), LabelEvent(3.0, 1), LabelEvent(3.0, 2),
                               LabelEvent(4.5, 0)])
    assert track.trials(end=6.0) == [Trial(0, 1.0, 3.0), Trial(2, 3.0, 4.5), Trial(0, 4.5, 6.0)]
    assert track.trials(end=6.0)[0].duration == 2.0
    assert track.counts(end=6.0) == {"rest": 2, "fist": 0, "open": 1}
    assert len(track) == 4


def test_class_at_is_unlabeled_before_the_first_event():
    track = LabelTrack(NAMES, [LabelEvent(1.0, 2), LabelEvent(2.0, 1)])
    got = track.class_at(np.array([0.0, 0.999, 1.0, 1.5, 2.0, 9.0]))
    assert got.tolist() == [UNLABELED, UNLABELED, 2, 2, 1, 1]
    assert LabelTrack(NAMES).class_at(np.array([1.0])).tolist() == [UNLABELED]


def test_bad_labels_are_refused_with_what_is_allowed():
    track = LabelTrack(NAMES)
    with pytest.raises(ValueError, match=r"class index 3 is outside 0..2 for classes \['rest'"):
        track.add(LabelEvent(0.0, 3))
    track.add(LabelEvent(2.0, 1))
    with pytest.raises(ValueError, match="earlier than the previous one .* time order"):
        track.add(LabelEvent(1.0, 0))
    assert len(track) == 1
    with pytest.raises(ValueError, match=r"unknown class 'grip'; known classes: \['rest'"):
        track.index_of("grip")
    assert track.index_of("open") == 2
    with pytest.raises(ValueError, match="class names must be unique"):
        LabelTrack(("a", "b", "a"))


@st.composite
def labelled_recordings(draw):
    n = draw(st.integers(1, 120))
    events, t = [], draw(st.integers(-5, 60))
    for _ in range(draw(st.integers(0, 6))):
        t += draw(st.integers(0, 40))
        events.append(LabelEvent(float(t), draw(st.integers(0, 2))))
    return n, events, draw(st.integers(1, 25)), draw(st.integers(1, 10)), draw(st.booleans())


@given(labelled_recordings())
@settings(max_examples=150, deadline=None)
def test_labeled_windows_never_straddle_a_label_change(recording):
    n, events, length, step, include_unlabeled = recording
    track = LabelTrack(NAMES, events)
    ts = np.arange(n, dtype=np.float64)  # sample k at time k
    data = np.stack([np.arange(n), -np.arange(n)]).astype(np.float32)  # values tell the index
    x, y, ends = labeled_windows(data, ts, track, length, step, include_unlabeled)
    labels = track.class_at(ts)
    assert x.shape == (len(y), 2, length) and ends.shape == y.shape
    starts = x[:, 0, 0].astype(int) if len(y) else np.empty(0, int)
    for k, start in enumerate(starts):
        assert np.array_equal(x[k], data[:, start : start + length])  # a contiguous slice
        assert (labels[start : start + length] == y[k]).all()  # one label throughout
        assert ends[k] == ts[start + length - 1]
    if not include_unlabeled:
        assert (y != UNLABELED).all()
    # every position a run allows is taken, stepping from the run's first sample
    expected = []
    change = [0] + [i for i in range(1, n) if labels[i] != labels[i - 1]] + [n]
    for a, b in zip(change[:-1], change[1:]):
        if labels[a] != UNLABELED or include_unlabeled:
            expected += list(range(a, b - length + 1, step))
    assert starts.tolist() == expected


def test_windows_are_copies():
    data = np.arange(20, dtype=np.float64).reshape(2, 10)
    track = LabelTrack(NAMES, [LabelEvent(0.0, 1)])
    x, _, _ = labeled_windows(data, np.arange(10.0), track, 4, 2)
    x[:] = -1
    assert data.min() == 0
    xa, _, _ = aligned_windows(data, np.arange(10.0), np.arange(10.0), 4, 2)
    xa[:] = -1
    assert data.min() == 0


@given(n=st.integers(0, 80), length=st.integers(1, 20), step=st.integers(1, 7),
       targets=st.integers(1, 3))
@settings(max_examples=100, deadline=None)
def test_aligned_windows_take_the_target_at_the_window_end(n, length, step, targets):
    ts = np.arange(n) * 0.5
    data = np.arange(n, dtype=np.float64)[None, :]
    target = np.arange(n)[None, :] * 10 + np.arange(targets)[:, None]  # target j at k: 10k + j
    x, y, ends = aligned_windows(data, ts, target if targets > 1 else target[0], length, step)
    starts = list(range(0, n - length + 1, step))
    assert x.shape == (len(starts), 1, length)
    assert y.shape == (len(starts), targets)
    for k, start in enumerate(starts):
        end = start + length - 1
        assert x[k, 0].tolist() == list(range(start, end + 1))
        assert y[k].tolist() == [10 * end + j for j in range(targets)]
        assert ends[k] == ts[end]


def test_windowing_refuses_mismatched_inputs_with_a_hint():
    data, ts = np.zeros((2, 10)), np.arange(10.0)
    track = LabelTrack(NAMES)
    with pytest.raises(ValueError, match=r"must be \(channels, samples\)"):
        labeled_windows(np.zeros(10), ts, track, 2, 1)
    with pytest.raises(ValueError, match="10 samples need as many timestamps"):
        labeled_windows(data, ts[:5], track, 2, 1)
    with pytest.raises(ValueError, match="length and step must be >= 1 sample, got 0 and 1"):
        labeled_windows(data, ts, track, 0, 1)
    with pytest.raises(ValueError, match="resample the target onto the data's timestamps"):
        aligned_windows(data, ts, np.zeros(9), 2, 1)


def test_time_order_is_checked_against_the_last_event_not_the_first():
    track = LabelTrack(NAMES, [LabelEvent(1.0, 0), LabelEvent(3.0, 1)])
    with pytest.raises(ValueError, match="at 2.000000 is earlier than the previous one at 3.000000"):
        track.add(LabelEvent(2.0, 2))  # after the first event, before the last: still refused
    assert track.events == (LabelEvent(1.0, 0), LabelEvent(3.0, 1))
    track.add(LabelEvent(3.0, 2))  # the same time as the last is allowed
    assert [e.time for e in track.events] == [1.0, 3.0, 3.0]


@given(st.lists(st.integers(-50, 50), max_size=12))
@settings(max_examples=150, deadline=None)
def test_an_event_is_accepted_exactly_when_it_is_not_earlier_than_the_last_accepted(times):
    track, latest = LabelTrack(NAMES), None
    for t in times:
        if latest is None or t >= latest:
            track.add(LabelEvent(float(t), 0))
            latest = t
        else:
            with pytest.raises(ValueError, match="labels must be added in time order"):
                track.add(LabelEvent(float(t), 0))
    accepted = [e.time for e in track.events]
    assert accepted == sorted(accepted)
    assert len(accepted) == len([t for i, t in enumerate(times) if t >= max(times[:i + 1])])
