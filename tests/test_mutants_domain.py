"""Tests that kill mutants which survived `make mutation` over domain/ (see docs/reliability.md).

Each test states the behaviour the surviving mutant broke without any other test noticing.
"""

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeClock
from hexloop.domain.features import band_power, time_domain_features, waveform_length
from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.pacing import LoopHealth, Ticker
from hexloop.domain.state import Action, State, refusal_reason
from hexloop.domain.streams import ClockTracker, StreamInfo, saturate
from hexloop.domain.windowing import aligned_windows, labeled_window_starts, labeled_windows

NAMES = ("rest", "fist", "open")


def test_samples_before_the_first_label_are_marked_minus_one_which_no_class_can_have():
    # Survivors: UNLABELED = -1 turned into +1 or -2. Training code outside hexloop sees this
    # value in y (include_unlabeled=True) and must be able to tell it from every class index.
    track = LabelTrack(NAMES, [LabelEvent(4.0, 1)])
    ts = np.arange(8, dtype=np.float64)
    data = np.zeros((1, 8), dtype=np.float32)
    _, y, ends = labeled_windows(data, ts, track, length=2, step=2, include_unlabeled=True)
    assert y.tolist() == [-1, -1, 1, 1]
    assert ends.tolist() == [1.0, 3.0, 5.0, 7.0]
    assert track.class_at(np.array([0.0, 3.9, 4.0])).tolist() == [-1, -1, 1]
    with pytest.raises(ValueError, match="class index -1 is outside 0..2"):
        track.add(LabelEvent(5.0, -1))


def test_a_negative_class_index_is_refused_and_nothing_is_added():
    # Survivor: `0 <= class_index` loosened to `-1 <= class_index`; a -1 label would then be
    # stored and counted against the last class name (class_names[-1]).
    track = LabelTrack(NAMES, [LabelEvent(0.0, 0)])
    with pytest.raises(ValueError, match="outside 0..2"):
        track.add(LabelEvent(1.0, -1))
    assert track.events == (LabelEvent(0.0, 0),)
    assert track.counts(end=2.0) == {"rest": 1, "fist": 0, "open": 0}


def test_a_stop_refused_outside_idle_names_what_is_running_not_idle():
    # Survivor: `stop action AND idle` loosened to OR, so stopping something that is not running
    # while another activity runs said "nothing is running (state is idle)".
    assert refusal_reason(State.TRAINING, Action.STOP_PREDICTING) == (
        "cannot stop predicting while training: wait for training to finish or cancel it")
    assert refusal_reason(State.IDLE, Action.STOP_TRAINING) == (
        "cannot stop training: nothing is running (state is idle)")


def test_late_ticks_alone_show_in_the_summary():
    # Survivor: `late or skipped or stuck` turned into `late and skipped or stuck`, so a loop
    # that was late without skipping a deadline looked healthy in every status line.
    assert LoopHealth(64.0, ticks=10, late=3).summary() == "late 3"
    assert LoopHealth(64.0, ticks=10, skipped=2).summary() == "late 0, skipped 2"
    assert LoopHealth(64.0, ticks=10).summary() == ""


def test_a_stuck_tick_shows_its_busy_time_in_whole_milliseconds():
    # Survivor: the seconds-to-milliseconds factor 1e3 turned into 1001 (47 ms rounds the same).
    assert LoopHealth(2.0, ticks=1, busy_s=0.9).summary() == "late 0, stuck 900 ms"
    assert LoopHealth(2.0, ticks=1, busy_s=1.5).summary() == "late 0, stuck 1.5 s"


def test_the_next_deadline_is_one_period_after_the_last_tick_started():
    # Survivor: next_deadline() looking one tick back (tick - 1) instead of forward.
    clock = FakeClock(start=0.0)
    ticker = Ticker(64.0, clock)
    ticker.wait()
    assert ticker.next_deadline() == 1 / 64
    clock.advance(1 / 1024)
    ticker.wait()
    assert ticker.next_deadline() == 2 / 64


def test_a_zero_step_is_refused_for_regression_windows_too():
    # Survivor: `step < 1` loosened to `step < 0` in the shared check; labeled_windows checks
    # again, but aligned_windows then failed deep in numpy with a bare ZeroDivisionError.
    data, ts = np.zeros((2, 10)), np.arange(10.0)
    with pytest.raises(ValueError, match="length and step must be >= 1 sample, got 2 and 0"):
        aligned_windows(data, ts, np.zeros(10), 2, 0)


def test_repeated_timestamps_are_not_clock_jumps():
    # Survivor: `steps < 0` widened to `<= 0`, so an irregular stream stamping two events at the
    # same instant (markers), or a regular one repeating a stamp, logged a clock jump.
    markers = ClockTracker("markers", 0.0)
    assert markers.feed(np.array([5.0, 5.0, 6.0])) == []
    assert markers.feed(np.array([6.0])) == []
    emg = ClockTracker("emg", 100.0)
    assert emg.feed(np.array([1.00, 1.01, 1.01, 1.02])) == []
    assert markers.jumps == emg.jumps == 0
    assert emg.feed(np.array([1.00]))[0].jump_s == pytest.approx(-0.02)  # backwards still is


def test_floats_exactly_at_an_integer_dtypes_limits_are_stored_not_counted_as_clipped():
    # Survivor: `data > high` widened to `>=`, so 32767.0 into int16 counted as clipped and
    # health reported saturation that did not happen.
    got = saturate(StreamInfo("force", 1, 100.0, "int16"), np.array([[32767.0], [-32768.0]]))
    assert got.clipped == 0 and got.non_finite == 0
    assert got.data.dtype == np.int16 and got.data.ravel().tolist() == [32767, -32768]
    over = saturate(StreamInfo("force", 1, 100.0, "int16"), np.array([[32767.6], [1e6]]))
    assert over.clipped == 2 and over.data.ravel().tolist() == [32767, 32767]


def test_samples_lost_after_trailing_non_finite_stamps_are_counted_from_the_last_finite_one():
    # Survivor: the count of non-finite stamps after the anchor taken from the chunk's first
    # finite sample instead of its last, which undercounted the gap to the next chunk.
    tracker = ClockTracker("emg", 100.0)
    assert tracker.feed(np.array([0.00, 0.01, np.nan, np.nan])) == []  # 0.02, 0.03 unstamped
    assert tracker.feed(np.array([0.10, 0.11])) == []  # 0.04 ... 0.09 never arrived
    assert (tracker.lost, tracker.non_finite, tracker.jumps) == (6, 2, 0)


def test_a_signed_integer_into_an_unsigned_stream_saturates_at_zero():
    # Survivor: the "source range fits the target" test `min >= low` flipped to `min < low`,
    # so int8 into uint8 skipped saturation and -1 wrapped around to 255.
    got = saturate(StreamInfo("trigger", 1, 0.0, "uint8"), np.array([[-1], [5]], dtype=np.int8))
    assert got.clipped == 1 and got.data.ravel().tolist() == [0, 5]
    wide = saturate(StreamInfo("force", 1, 0.0, "int32"), np.array([[-1], [5]], dtype=np.int8))
    assert wide.clipped == 0 and wide.data.ravel().tolist() == [-1, 5]


@pytest.mark.parametrize(("length", "step"), [(0, 1), (1, 0), (0, 0)])
def test_window_starts_alone_refuse_a_zero_length_or_step(length, step):
    # Survivors: the check in labeled_window_starts loosened (`length < 0`, `step < 0`, `and`).
    # labeled_windows checks first, but training (application/pipeline.py) calls it directly,
    # where a zero length gave empty windows and a zero step a bare ZeroDivisionError.
    track = LabelTrack(NAMES, [LabelEvent(0.0, 1)])
    with pytest.raises(ValueError, match=f"got {length} and {step}"):
        labeled_window_starts(np.arange(10.0), track, length, step)


def test_windows_before_the_first_label_are_left_out_unless_asked_for():
    # Survivor: labeled_windows' default include_unlabeled=False turned True, so training data
    # silently gained a class -1 of everything recorded before the first cue.
    track = LabelTrack(NAMES, [LabelEvent(4.0, 2)])
    data, ts = np.zeros((1, 8)), np.arange(8.0)
    _, y, _ = labeled_windows(data, ts, track, 2, 2)
    assert y.tolist() == [2, 2]
    starts, classes = labeled_window_starts(ts, track, 2, 2)
    assert starts.tolist() == [4, 6] and classes.tolist() == [2, 2]


def test_time_domain_features_count_every_crossing_by_default():
    # Survivor: the default zero-crossing threshold 0.0 raised to 1.0, which silently dropped
    # every crossing of a signal smaller than 1 (most EMG in volts).
    window = np.array([[0.2, -0.2, 0.2, -0.2, 0.2]])
    assert time_domain_features(window).tolist() == pytest.approx([0.2, 0.2, 1.6, 4.0, 3.0])


def test_band_power_bins_sit_at_exact_fractions_of_the_rate():
    # Survivor: bin frequencies floored (`rate // n`), which moved every bin of a window whose
    # length does not divide the rate: 16.67 Hz at 100 Hz over 6 samples became 16 Hz.
    one_cycle = np.cos(2 * np.pi * np.arange(6) / 6)[None, :]  # 100/6 Hz at 100 Hz
    assert band_power(one_cycle, 100.0, [(16.5, 17.0)])[0].tolist() == pytest.approx([0.5])


def test_waveform_length_of_a_one_sample_window_is_zero_unless_the_sample_is_missing():
    # Survivor: the "no steps" test read the window's first axis instead of its last, so with a
    # missing sample on another channel, a one-sample channel gave NaN instead of 0.
    got = waveform_length(np.array([[1.0], [np.nan]]))
    assert got[0] == 0.0 and np.isnan(got[1])


def test_an_empty_table_of_bands_is_refused_with_what_to_pass():
    # Survivor: `len(edges) == 0` changed to `== -1`; an empty (0, 2) table then failed later
    # inside numpy ("need at least one array to stack") instead of saying what bands are.
    with pytest.raises(ValueError, match=r"bands must be a list of \(low_hz, high_hz\) pairs"):
        band_power(np.zeros((1, 8)), 100.0, np.zeros((0, 2)))


def test_a_too_short_window_is_refused_with_its_sample_count():
    # Survivor: the message reported the window's first axis (channels) as its sample count.
    with pytest.raises(ValueError, match="at least 2 samples, got 1; use a longer window"):
        band_power(np.zeros((3, 1)), 100.0, [(1.0, 2.0)])


def test_a_band_between_bins_is_refused_with_the_exact_bin_spacing():
    # Survivor: the spacing in the message floored (`rate // n`): "16 Hz apart" for 16.6667.
    with pytest.raises(ValueError, match=r"\(bins are 16\.6667 Hz apart\); widen the band"):
        band_power(np.zeros((1, 6)), 100.0, [(1.0, 2.0)])
