"""Fault matrix, streams (#11 items 1-3), domain side: `ClockTracker` finds clock jumps in
timestamps without losing a sample or shutting a stream out, and `saturate` casts a chunk to its
stream's dtype without ever wrapping around."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.streams import (
    CLOCK_JUMP_S,
    ClockTracker,
    Discontinuity,
    GeometryError,
    StreamInfo,
    saturate,
)

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
RATE = 100.0


def feed_all(tracker, chunks, elapsed=0.0):
    jumps, offset = [], 0
    for ts in chunks:
        jumps += tracker.feed(np.asarray(ts, float), elapsed=elapsed, offset=offset)
        offset += len(ts)
    return jumps


def regular(start_index, n, t0=0.0):
    return t0 + np.arange(start_index, start_index + n) / RATE


# --- clock jumps ---------------------------------------------------------------------------------
def test_a_clock_stepping_back_is_one_jump_and_the_stream_goes_on_from_the_new_anchor():
    tracker = ClockTracker("emg", RATE)
    jumps = feed_all(tracker, [regular(0, 10, 500.0), regular(10, 10), regular(20, 10)])
    assert jumps == [Discontinuity("emg", 10, 500.09, 0.10)]
    assert (tracker.jumps, tracker.lost, tracker.last) == (1, 0, 0.29)


def test_a_forward_jump_is_a_jump_not_millions_of_lost_samples():
    tracker = ClockTracker("emg", RATE)
    jumps = feed_all(tracker, [regular(0, 10), regular(10, 10, 3600.0), regular(20, 10, 3600.0)])
    assert [(j.sample, round(j.jump_s, 6)) for j in jumps] == [(10, 3600.01)]
    assert tracker.lost == 0


def test_a_single_outlier_chunk_goes_there_and_back_and_leaves_the_anchor_where_it_was():
    tracker = ClockTracker("emg", RATE)
    jumps = feed_all(tracker, [regular(0, 10), regular(10, 10, 1e6), regular(20, 10)])
    assert [j.sample for j in jumps] == [10, 20]
    assert jumps[1].before == pytest.approx(1e6 + 0.19) and jumps[1].after == pytest.approx(0.2)
    assert (tracker.jumps, tracker.lost) == (2, 0)
    assert tracker.last == pytest.approx(0.29)  # the anchor follows the normal stamps again
    assert tracker.feed(regular(30, 10)) == []


def test_jumps_inside_one_chunk_are_found_at_their_sample():
    ts = np.r_[regular(0, 5), regular(5, 5, 1e6), regular(10, 5), regular(15, 5, -30.0)]
    tracker = ClockTracker("emg", RATE)
    jumps = tracker.feed(ts, offset=100)
    assert [j.sample for j in jumps] == [105, 110, 115]
    assert tracker.jumps == 3


def test_small_gaps_are_lost_samples_and_small_steps_back_are_jumps():
    tracker = ClockTracker("emg", RATE)
    assert feed_all(tracker, [regular(0, 10), regular(20, 10)]) == []  # 0.11 s gap
    assert tracker.lost == 10
    # any step back is a discontinuity, however small (timestamps must not go backwards)
    assert [j.sample for j in tracker.feed(regular(28, 3), offset=20)] == [20]


def test_wall_time_that_passed_explains_a_real_outage():
    """A live device off for 30 s: its stamps advance with the wall clock, so the samples are
    lost (counted), not a clock jump."""
    tracker = ClockTracker("emg", RATE)
    tracker.feed(regular(0, 10))
    assert tracker.feed(regular(3010, 10), elapsed=30.5) == []
    assert tracker.lost == 3000 and tracker.jumps == 0
    assert len(tracker.feed(regular(9000, 10, 1e6), elapsed=0.01)) == 1


def test_the_tolerance_is_a_few_seconds_beyond_what_the_sample_count_explains():
    below = ClockTracker("emg", RATE)
    feed_all(below, [regular(0, 10), regular(10, 10, CLOCK_JUMP_S - 0.05)])
    above = ClockTracker("emg", RATE)
    feed_all(above, [regular(0, 10), regular(10, 10, CLOCK_JUMP_S + 0.05)])
    assert (below.jumps, above.jumps) == (0, 1)
    assert 1.0 <= CLOCK_JUMP_S <= 5.0


def test_irregular_streams_only_count_steps_back():
    tracker = ClockTracker("markers", 0.0)
    jumps = feed_all(tracker, [[0.0, 0.5], [7.0, 1e6], [3.0]])
    assert [j.sample for j in jumps] == [4]
    assert tracker.lost == 0


def test_non_finite_timestamps_are_counted_and_skipped_by_the_clock():
    tracker = ClockTracker("emg", RATE)
    jumps = feed_all(tracker, [[0.0, np.nan, 0.02], [np.inf, np.nan], [0.05, -10.0]])
    assert tracker.non_finite == 3
    assert [(j.sample, j.before, j.after) for j in jumps] == [(6, 0.05, -10.0)]
    assert tracker.lost == 0  # the two NaN-stamped samples in between are there
    assert tracker.last == -10.0


@st.composite
def jumpy_streams(draw):
    """Chunk sizes, and offsets injected before chosen samples: (sample, seconds)."""
    sizes = draw(st.lists(st.integers(1, 40), min_size=1, max_size=20))
    total = sum(sizes)
    at = draw(st.lists(st.integers(1, total - 1), unique=True, max_size=6)) if total > 1 else []
    sizes_s = st.one_of(st.floats(CLOCK_JUMP_S + 0.1, 1e7), st.floats(-1e7, -0.02))
    offsets = [draw(sizes_s) for _ in at]
    return sizes, sorted(zip(at, offsets))


@given(jumpy_streams(), st.sampled_from([100.0, 2048.0]))
@settings(max_examples=500 if FULL else 60, deadline=None)
def test_random_jumps_are_each_found_once_at_their_sample_and_no_sample_is_lost(stream, rate):
    sizes, injected = stream
    total = sum(sizes)
    stamps = np.arange(total) / rate
    for sample, offset in injected:
        stamps[sample:] += offset
    tracker = ClockTracker("emg", rate)
    jumps, at = [], 0
    for n in sizes:
        jumps += tracker.feed(stamps[at : at + n], offset=at)
        at += n
    assert [j.sample for j in jumps] == [s for s, _ in injected]
    assert tracker.jumps == len(injected)
    assert tracker.lost == 0
    for j in jumps:
        assert (j.before, j.after) == (stamps[j.sample - 1], stamps[j.sample])


# --- saturating casts -------------------------------------------------------------------------------
def info(dtype):
    return StreamInfo("s", 1, 100.0, dtype)


def column(*values, dtype=None):
    return np.array(values, dtype=dtype).reshape(-1, 1)


@pytest.mark.parametrize(
    "dtype, given, stored, clipped, non_finite",
    [
        ("int16", column(100000, -100000, 5, dtype=np.int32), [32767, -32768, 5], 2, 0),
        ("int16", column(1e5, -1e5, 2.6, -2.6), [32767, -32768, 3, -3], 2, 0),  # rounded
        ("int16", column(np.nan, np.inf, -np.inf, 1.0), [0, 32767, -32768, 1], 0, 3),
        ("uint8", column(-1, 300, 7, dtype=np.int64), [0, 255, 7], 2, 0),
        ("int64", column(2**63 + 5, 3, dtype=np.uint64), [2**63 - 1, 3], 1, 0),
        ("int64", column(1e300, -1e300), [np.iinfo(np.int64).max - 1023, -(2**63)], 2, 0),
        ("int32", column(True, False), [1, 0], 0, 0),
    ],
)
def test_narrowing_into_integers_saturates_and_counts(dtype, given, stored, clipped, non_finite):
    out = saturate(info(dtype), given)
    assert out.data.dtype == np.dtype(dtype)
    assert out.data[:, 0].tolist() == stored
    assert (out.clipped, out.non_finite) == (clipped, non_finite)


def test_narrowing_into_float32_saturates_and_keeps_non_finite_verbatim():
    out = saturate(info("float32"), column(1e300, -1e300, np.nan, np.inf, 1.5))
    big = np.finfo(np.float32).max
    assert out.data.dtype == np.float32
    assert out.data[:2, 0].tolist() == [big, -big]
    assert np.isnan(out.data[2, 0]) and out.data[3, 0] == np.inf and out.data[4, 0] == 1.5
    assert (out.clipped, out.non_finite) == (2, 2)


def test_data_already_in_the_stream_dtype_is_passed_through_uncopied():
    data = np.array([[1.0, np.nan]], np.float32)
    out = saturate(StreamInfo("s", 2, 100.0), data)
    assert out.data is data and (out.clipped, out.non_finite) == (0, 1)


INT_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


@given(
    target=st.sampled_from(INT_DTYPES + ["float32"]),
    values=st.lists(st.one_of(st.integers(-(2**70), 2**70).map(float),
                              st.floats(allow_nan=True, allow_infinity=True)),
                    min_size=1, max_size=30),
)
@settings(max_examples=400 if FULL else 80, deadline=None)
def test_a_cast_never_wraps_whatever_the_values(target, values):
    data = np.array(values, np.float64).reshape(-1, 1)
    out = saturate(info(target), data).data[:, 0]
    finite = np.isfinite(data[:, 0])
    if target == "float32":
        limit = float(np.finfo(np.float32).max)
        expected = np.clip(data[:, 0], -limit, limit)
        assert np.array_equal(out[finite], expected[finite].astype(np.float32))
        assert np.array_equal(np.isnan(out), np.isnan(data[:, 0]))
        return
    low, high = np.iinfo(target).min, np.iinfo(target).max
    for got, want in zip(out.tolist(), data[:, 0].tolist()):
        if want != want:  # NaN: an integer stream stores 0
            assert got == 0
        elif want >= high:
            assert high - 2048 <= got <= high  # 2**64 - 1 has no float: the float below it
        elif want <= low:
            assert got == low
        else:
            assert abs(got - want) <= 0.5 + abs(want) * 2**-52  # rounded, never wrapped


def test_absurd_geometry_is_a_geometry_error_which_is_a_value_error():
    with pytest.raises(GeometryError, match="channel count 0"):
        StreamInfo("s", 0, 100.0)
    assert issubclass(GeometryError, ValueError)
