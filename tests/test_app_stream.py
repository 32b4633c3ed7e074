"""Stream health (rate, stalls, lost samples), the display snapshot, and exiting while a source
hangs: run() returns promptly and every thread the app started is a daemon."""

import re
import threading
import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeSource, FakeTransport
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Output, Pipeline, Stream, StreamStatus
from hexloop.domain.streams import StreamInfo
from hexloop.ports.source import SourceLost
from tests.helpers import quiet_headless, ramp_chunks, run_in_thread, started, wait_for

pytestmark = pytest.mark.timeout(30)


class PausableSource(SimulatedSource):
    """A simulated source that delivers nothing while `quiet` is set."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.quiet = threading.Event()

    def read(self):
        if self.quiet.is_set():
            return np.empty((0, self.info.channel_count), np.float32), np.empty(0)
        return super().read()


def test_rate_is_measured_and_a_quiet_source_shows_as_stalled():
    source = PausableSource("sim", channels=2, rate=1000.0)
    app = App("health")
    stream = Stream("emg", source, window_ms=50, buffer_ms=1000, stall_s=0.2)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.health.rate_hz > 0, 3.0)
        health = stream.health
        assert health.status is StreamStatus.STREAMING
        assert 700 < health.rate_hz < 1300  # paced on wall time at 1000 Hz
        assert re.search(r"\bemg \d+ Hz streaming\b", app.status_line())
        source.quiet.set()
        assert wait_for(lambda: stream.health.status is StreamStatus.STALLED, 3.0)
        assert stream.health.age_s > 0.2
        source.quiet.clear()
        assert wait_for(lambda: stream.health.status is StreamStatus.STREAMING, 3.0)
        assert stream.health.lost == 0  # a pause in delivery is not a gap in the data


def test_lost_samples_are_counted_from_timestamp_gaps():
    first, _, third, fourth = ramp_chunks([10, 10, 10, 10], rate=100.0)
    source = FakeSource(StreamInfo("emg", 2, 100.0), [first, third, fourth])  # 10 missing
    app = App("health")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.health.samples == 30)
        assert stream.health.lost == 10
        assert "lost 10" in app.status_line()


def test_irregular_streams_never_count_gaps_as_lost():
    chunks = [(np.ones((2, 1), np.float32), np.array([0.0, 0.5])),
              (np.ones((2, 1), np.float32), np.array([7.0, 7.1]))]
    source = FakeSource(StreamInfo("markers", 1, 0.0), chunks)
    app = App("health")
    stream = Stream("markers", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.health.samples == 4)
        assert stream.health.lost == 0
        assert stream.health.status is StreamStatus.STREAMING  # irregular: never stalled


def test_display_snapshot_matches_brute_force_min_max():
    rng = np.random.default_rng(5)
    sizes = rng.integers(1, 60, size=40)
    total = int(sizes.sum())
    values = rng.standard_normal((total, 2)).astype(np.float32)
    chunks, at = [], 0
    for n in sizes:
        chunks.append((values[at : at + n], np.arange(at, at + n) / 100.0))
        at += n
    source = FakeSource(StreamInfo("emg", 2, 100.0), chunks)
    app = App("display")
    # 10 s at 100 Hz: a 1000-sample buffer drawn as 50 buckets of 20 samples
    stream = Stream("emg", source, window_ms=100, buffer_ms=10_000, display_buckets=50)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.health.samples == total)
        snap = stream.display()
        picked = stream.display([1])
    whole = total // 20
    blocks = values[: whole * 20].reshape(whole, 20, 2)[-50:]
    assert np.array_equal(snap.mins, blocks.min(axis=1).T)
    assert np.array_equal(snap.maxs, blocks.max(axis=1).T)
    assert np.array_equal(snap.times, (np.arange(whole) * 20 + 19)[-50:] / 100.0)
    assert np.array_equal(picked.maxs, snap.maxs[[1]])
    # and against the ring buffer itself: every bucket whose samples are all still buffered
    buffered, ts = stream.buffer.window(stream.buffer.capacity)
    first = round(ts[0] * 100)
    checked = 0
    for k, end_time in enumerate(snap.times):
        start = round(end_time * 100) - 19 - first
        if start >= 0:
            assert np.array_equal(snap.mins[:, k], buffered[:, start : start + 20].min(axis=1))
            assert np.array_equal(snap.maxs[:, k], buffered[:, start : start + 20].max(axis=1))
            checked += 1
    assert checked >= 49  # the display covers the buffer


def test_a_reconnected_stream_with_new_geometry_is_refused():
    class ShapeShifter(FakeSource):
        def connect(self, timeout):
            super().connect(timeout)
            if self.connects == 1:
                return self.info
            return StreamInfo("emg", 3, 100.0)

    source = ShapeShifter.steady("emg", channels=2, chunks=3)
    app = App("geometry")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)

    def lose_after_data(original=source.read):
        data, ts = original()
        if ts.size == 0 and source.connects == 1:
            raise SourceLost("amplifier restarted")
        return data, ts

    source.read = lose_after_data
    with started(app):
        assert wait_for(lambda: stream.health.status is StreamStatus.REFUSED, 3.0)
        assert "restart the app to accept the new geometry" in stream.health.error
        assert stream.info.channel_count == 2


def test_bad_stream_settings_are_refused_with_a_hint():
    source = FakeSource.steady()
    with pytest.raises(ValueError, match="make the buffer at least as long as the window"):
        Stream("emg", source, window_ms=500, buffer_ms=100)
    with pytest.raises(ValueError, match="window_ms and buffer_ms must be positive"):
        Stream("emg", source, window_ms=0)


APP_THREADS = {"acq-emg", "predict-pipeline", "out-output"}


def test_exit_returns_promptly_while_a_source_blocks_and_all_threads_are_daemons():
    before = set(threading.enumerate())
    source = FakeSource.steady("emg", block=True)
    app = App("blocked")
    app.streams(Stream("emg", source, window_ms=100))
    pipeline = Pipeline(app, predict_hz=20.0)
    pipeline.outputs.append(Output(FakeTransport(), hz=20.0, channels=["a"]))
    seen = {}

    def exit_soon():
        assert wait_for(lambda: source.reads > 0)  # the acquisition thread is stuck in read()
        assert wait_for(lambda: APP_THREADS <= {t.name for t in threading.enumerate()})
        seen["threads"] = set(threading.enumerate()) - before
        seen["exit at"] = time.monotonic()
        app.exit()

    exiter, errors = run_in_thread(exit_soon)
    app.run(quiet_headless(interval=0.1, duration=10.0))
    returned = time.monotonic()
    assert not errors, errors
    assert returned - seen["exit at"] < 1.0
    started_by_app = seen["threads"] - {exiter}
    assert {t.name for t in started_by_app} >= APP_THREADS
    assert all(t.daemon for t in started_by_app)
    assert all(t.daemon for t in set(threading.enumerate()) - before)
    assert source.disconnects == 0  # never disconnected under a read in progress
    source.release.set()  # the read returns; the thread disconnects and ends
    assert wait_for(lambda: source.disconnects == 1)
    assert wait_for(lambda: not any(t.name == "acq-emg" for t in threading.enumerate()))


def test_exit_requested_before_run_ends_that_run_and_the_next_run_starts_fresh():
    app = App("early")
    cleaned = []
    app.cleanup_hooks.append(lambda app: cleaned.append(1))
    app.exit()  # e.g. a script thread that failed at once
    t0 = time.monotonic()
    app.run(quiet_headless())
    assert time.monotonic() - t0 < 1.0
    assert cleaned == [1] and app.exit_requested  # pollers still see that the app ended
    t0 = time.monotonic()
    app.run(quiet_headless(duration=0.2))  # a later run is not ended by the old request
    assert time.monotonic() - t0 >= 0.2 and cleaned == [1, 1]
