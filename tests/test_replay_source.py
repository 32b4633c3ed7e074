"""ReplaySource on text recordings: exact pacing, re-based timestamps, loops, labels, the contract."""

import time

import numpy as np
import pytest
from shared_data import UCI_EMG

from hexloop.adapters.fakes import FakeClock
from hexloop.adapters.replay import ReplaySource, load_text_recording
from hexloop.domain.pacing import MonotonicClock
from hexloop.ports.contracts import check_source

UCI_FILE = UCI_EMG / "01" / "2_raw_data_13-13_22.03.16.txt"


@pytest.fixture
def small(tmp_path):
    """10 rows at 100 Hz with a class change at row 4 and one at row 8."""
    classes = [1, 1, 1, 1, 2, 2, 2, 2, 1, 1]
    text = "time\tx\ty\tclass\n" + "".join(
        f"{10 * i}\t{i}\t{2 * i}\t{k}\n" for i, k in enumerate(classes))
    path = tmp_path / "small.txt"
    path.write_text(text)
    return path


def test_the_replay_source_passes_the_source_contract(small):
    info = check_source(lambda: ReplaySource(small, loop=True, speed=20.0), min_samples=25)
    assert info.channel_count == 2 and info.sampling_rate == 100.0
    if UCI_FILE.exists():
        check_source(lambda: ReplaySource(UCI_FILE, name="myo"), min_samples=50)


@pytest.mark.skipif(not UCI_FILE.exists(), reason="the UCI EMG gestures data is not here")
@pytest.mark.parametrize("speed", [1.0, 2.5])
def test_exactly_the_recorded_samples_are_due_at_every_moment(speed):
    _, data, ts, _ = load_text_recording(UCI_FILE)
    rel = ts - ts[0]
    clock = FakeClock(start=500.0)
    source = ReplaySource(UCI_FILE, speed=speed, clock=clock)
    source.connect(1.0)
    rng = np.random.default_rng(0)
    got, stamps, elapsed = [], [], 0.0
    for _ in range(300):
        step = float(rng.uniform(0.0, 0.03))  # irregular reads, as a busy thread makes them
        clock.advance(step)
        elapsed += step
        chunk, chunk_ts = source.read()
        got.append(chunk)
        stamps.append(chunk_ts)
        delivered = sum(len(c) for c in got)
        assert delivered == np.searchsorted(rel, elapsed * speed, side="right")
    delivered_data = np.concatenate(got)
    assert np.array_equal(delivered_data, data[: len(delivered_data)])
    assert np.allclose(np.concatenate(stamps), 500.0 + rel[: len(delivered_data)] / speed)


def test_a_looping_replay_keeps_time_rising_and_repeats_the_data(small):
    clock = FakeClock(start=0.0)
    source = ReplaySource(small, loop=True, clock=clock)
    source.connect(1.0)
    chunks, stamps = [], []
    for _ in range(35):
        clock.advance(0.01)
        data, ts = source.read()
        chunks.append(data)
        stamps.append(ts)
    data, ts = np.concatenate(chunks), np.concatenate(stamps)
    assert len(ts) == 36  # samples at 0, 10, ..., 350 ms: the loop lasts 10 samples = 100 ms
    assert np.allclose(np.diff(ts), 0.01)
    assert np.array_equal(data[:, 0], np.tile(np.arange(10), 4)[:36])
    assert not source.finished


def test_labels_arrive_on_the_live_clock_as_they_are_reached(small):
    clock = FakeClock(start=100.0)
    source = ReplaySource(small, loop=True, clock=clock)
    source.connect(1.0)
    assert source.class_names == ("1", "2")
    clock.advance(0.035)
    source.read()
    assert [(round(e.time, 6), e.class_index) for e in source.poll_labels()] == [(100.0, 0)]
    assert source.poll_labels() == []
    clock.advance(0.1)  # past both changes of the first loop and into the second
    data, ts = source.read()
    events = [(round(e.time, 6), e.class_index) for e in source.poll_labels()]
    assert events == [(100.04, 1), (100.08, 0), (100.1, 0)]
    assert ts[-1] == pytest.approx(100.13)


def test_a_replay_that_does_not_loop_ends_with_every_sample_once(small):
    clock = FakeClock(start=0.0)
    source = ReplaySource(small, clock=clock, speed=3.0)
    source.connect(1.0)
    clock.advance(5.0)
    data, ts = source.read()
    assert len(ts) == 10 and source.finished
    assert np.allclose(ts, np.arange(10) * 0.01 / 3.0)
    clock.advance(1.0)
    assert len(source.read()[1]) == 0


def test_the_sample_count_follows_the_wall_clock_over_a_measured_interval(small):
    clock = MonotonicClock()
    source = ReplaySource(small, loop=True, speed=10.0, clock=clock)  # 1000 samples/s
    before = clock.now()
    source.connect(1.0)
    after = clock.now()
    delivered = 0
    while clock.now() - after < 0.5:
        start = clock.now()
        delivered += len(source.read()[1])
        end = clock.now()
        # everything due when the read began has arrived, nothing not yet due by its end
        assert source.expected_samples(start - after) <= delivered
        assert delivered <= source.expected_samples(end - before)
        time.sleep(0.007)
    assert delivered >= 450


def test_bad_arguments_are_refused(small, tmp_path):
    with pytest.raises(ValueError, match="speed"):
        ReplaySource(small, speed=0)
    with pytest.raises(FileNotFoundError):
        ReplaySource(tmp_path / "missing.txt")
    source = ReplaySource(small)
    with pytest.raises(RuntimeError, match="before connect"):
        source.read()
