"""StreamInfo geometry checks and validate_chunk: every rejection names stream, expected, got."""

import math

import numpy as np
import pytest

from hexloop.domain.streams import (
    MAX_CHANNELS,
    MAX_RATE_HZ,
    ChunkRejected,
    StreamInfo,
    geometry_problems,
    validate_chunk,
)


def test_defaults_fill_channel_names_and_units():
    info = StreamInfo("emg", 3, 1000.0)
    assert info.channel_names == ("ch1", "ch2", "ch3")
    assert info.units == ("", "", "")
    assert info.np_dtype == np.float32


def test_dict_round_trip_ignores_unknown_keys():
    info = StreamInfo("force", 2, 10.0, "int16", ("x", "y"), ("N", "N"), "Force", "dev-1")
    d = info.to_dict()
    assert d["channel_names"] == ["x", "y"]
    assert StreamInfo.from_dict({**d, "future_field": 1}) == info


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(name="", channel_count=1, sampling_rate=1.0), "non-empty name"),
        (dict(name="s", channel_count=0, sampling_rate=1.0), f"channel count 0 is outside 1..{MAX_CHANNELS}"),
        (dict(name="s", channel_count=MAX_CHANNELS + 1, sampling_rate=1.0), "check the device configuration"),
        (dict(name="s", channel_count=1, sampling_rate=-1.0), "sampling rate -1.0 Hz is outside"),
        (dict(name="s", channel_count=1, sampling_rate=MAX_RATE_HZ * 2), "is outside 0.."),
        (dict(name="s", channel_count=1, sampling_rate=math.nan), "sampling rate nan Hz"),
        (dict(name="s", channel_count=1, sampling_rate=1.0, dtype="str"), "is not numeric"),
        (dict(name="s", channel_count=1, sampling_rate=1.0, dtype="nonsense"), "not a numpy dtype"),
        (dict(name="s", channel_count=2, sampling_rate=1.0, channel_names=("a",)), "1 channel_names given for 2 channels"),
        (dict(name="s", channel_count=2, sampling_rate=1.0, units=("V", "V", "V")), "3 units given for 2 channels"),
    ],
)
def test_bad_geometry_is_refused_with_a_sentence(kwargs, fragment):
    with pytest.raises(ValueError, match="stream") as e:
        StreamInfo(**kwargs)
    assert fragment in str(e.value)


def test_all_problems_are_reported_together():
    info = StreamInfo("ok", 1, 1.0)
    bad = object.__new__(StreamInfo)
    for field, value in [("name", "s"), ("channel_count", 0), ("sampling_rate", -5.0),
                         ("dtype", "U4"), ("channel_names", ()), ("units", ())]:
        object.__setattr__(bad, field, value)
    assert len(geometry_problems(bad)) == 3
    assert geometry_problems(info) == []


INFO = StreamInfo("emg", 2, 100.0, "float32")
TS = np.array([1.0, 1.01, 1.02])


@pytest.mark.parametrize(
    "data, ts, last, expected, got",
    [
        ([[1.0, 2.0]], np.array([1.0]), None, "a 2-D array (samples, 2)", "list"),
        (np.zeros(3, np.float32), TS, None, "a 2-D array (samples, 2)", "(3,)"),
        (np.zeros((3, 3), np.float32), TS, None, "2 channels", "3 channels"),
        (np.zeros((3, 2), np.complex64), TS, None, "numbers (stored as float32)",
         "dtype complex64"),
        (np.full((3, 2), "x"), TS, None, "numbers (stored as float32)", "dtype <U1"),
        (np.zeros((3, 2), np.float32), TS[:2], None, "3 timestamps", "shape (2,)"),
        (np.zeros((3, 2), np.float32), np.array(["a", "b", "c"]), None, "numeric timestamps",
         "timestamps of dtype <U1"),
    ],
)
def test_each_rejection_names_stream_expected_and_got(data, ts, last, expected, got):
    with pytest.raises(ChunkRejected) as e:
        validate_chunk(INFO, data if isinstance(data, list) else data, ts, last)
    assert (e.value.stream, e.value.expected, e.value.got) == ("emg", expected, got)
    assert str(e.value) == f"stream 'emg': expected {expected}, got {got}"


def test_acceptable_chunks_pass():
    validate_chunk(INFO, np.zeros((3, 2), np.float64), TS, 1.0)  # same kind, equal timestamp ok
    # anomalies are data, kept and counted by the stream (tests/test_faults_streams.py)
    validate_chunk(INFO, np.array([[0, 0], [np.nan, 0], [0, np.inf]], np.float32), TS)
    validate_chunk(INFO, np.zeros((3, 2), np.float32), np.array([1.0, np.nan, 0.5]), 1.5)
    validate_chunk(INFO, np.zeros((3, 2), np.int32), TS)  # converted by saturate()
    validate_chunk(INFO, np.zeros((0, 2), np.float32), np.zeros(0), 5.0)  # empty chunk
    ints = StreamInfo("counts", 1, 0.0, "int16")
    validate_chunk(ints, np.array([[1], [2]], np.int16), np.array([3.0, 3.0]), None)
