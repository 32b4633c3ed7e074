"""Fault matrix, streams (#11 items 1-4), through the real App and Stream with fake sources:
clock jumps, NaN and infinity, narrowing casts and refused geometry. In every case the data is
kept (buffer and recording), the anomaly is counted in `StreamHealth` and said once in the log."""

import os
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hexloop.adapters.fakes import FakeSource, FakeStore
from hexloop.application import App, Stream, StreamStatus
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import CLOCK_JUMP_S, Discontinuity, StreamInfo
from hexloop.ports.source import SourceLost
from tests.helpers import GatedSource, ramp_chunks, started, wait_for

pytestmark = pytest.mark.timeout(60)
FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
INFO = StreamInfo("emg", 2, 100.0, "float32")


def record(chunks, info=INFO, **stream_kw):
    """Run `chunks` through a recording App; returns (stream, recording, app)."""
    source = GatedSource(info, chunks)
    store = FakeStore()
    app = App("faults", store=store)
    stream = Stream(info.name, source, window_ms=100, **stream_kw)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.info is not None)
        app.start_recording()
        source.gate.set()
        # the read after the last chunk starts once that chunk is handled (and recorded)
        assert wait_for(lambda: source.reads > len(chunks))
        app.stop_recording()
    return stream, store.opened[-1], app


def warnings_from(app, stream="emg"):
    return [e.message for e in app.ctx.log.entries("warning") if e.source == f"stream {stream}"]


def shifted(chunks, start, offset):
    """The chunks with `offset` seconds added to every timestamp from chunk `start` on."""
    return [(d, ts + offset if k >= start else ts) for k, (d, ts) in enumerate(chunks)]


# --- 1. clock jumps ------------------------------------------------------------------------------
def test_a_clock_that_jumps_back_500_s_loses_nothing_and_is_marked_in_the_recording():
    chunks = shifted(ramp_chunks([50] * 10), 0, 500.0)
    chunks = shifted(chunks, 4, -500.0)  # a device reboot: from chunk 4 on, 500 s earlier
    stream, rec, app = record(chunks)
    data, ts = rec.data("emg")
    assert np.array_equal(data[0], np.arange(500))  # every sample, in arrival order
    assert np.array_equal(ts, np.concatenate([t for _, t in chunks]))  # with its own stamps
    health = stream.health
    assert (health.samples, health.clock_jumps, health.lost, health.rejected) == (500, 1, 0, 0)
    assert rec.discontinuities == [Discontinuity("emg", 200, 500 + 1.99, 2.0)]
    notes = [w for w in warnings_from(app) if "jumped" in w]
    assert len(notes) == 1
    assert notes[0].startswith("timestamps of stream emg jumped by -499.990 s at sample 200;")
    assert "samples are kept" in notes[0] and "the recording marks the discontinuity" in notes[0]


def test_one_chunk_stamped_a_million_seconds_ahead_shuts_nothing_out():
    chunks = ramp_chunks([10] * 20)
    chunks[5] = (chunks[5][0], chunks[5][1] + 1e6)  # a sender glitch, then normal again
    stream, rec, app = record(chunks)
    data, ts = rec.data("emg")
    assert np.array_equal(data[0], np.arange(200))
    health = stream.health
    assert (health.clock_jumps, health.lost, health.rejected) == (2, 0, 0)  # there and back
    assert [d.sample for d in rec.discontinuities] == [50, 60]
    window, window_ts = stream.get_window()
    assert np.array_equal(window_ts, np.arange(190, 200) / 100.0)  # the anchor came back
    assert len([w for w in warnings_from(app) if "jumped" in w]) == 1  # said once


def test_a_forward_jump_is_not_counted_as_lost_samples():
    chunks = shifted(ramp_chunks([10] * 6), 3, 3600.0)
    stream, rec, app = record(chunks)
    assert (stream.health.clock_jumps, stream.health.lost) == (1, 0)
    assert [(d.sample, round(d.after - d.before, 6)) for d in rec.discontinuities] == [
        (30, 3600.01)]
    assert "1 clock jumps" in app.status_line()


def test_a_gap_below_the_tolerance_still_counts_lost_samples():
    first, _, third = ramp_chunks([10, int(CLOCK_JUMP_S * 50), 10])
    stream, rec, _ = record([first, third])
    assert (stream.health.clock_jumps, stream.health.lost) == (0, CLOCK_JUMP_S * 50)
    assert rec.discontinuities == []


class QueueSource(FakeSource):
    """A FakeSource the test hands chunks to while it runs."""

    def give(self, chunks):
        self._chunks.extend(chunks)


def test_discontinuities_count_samples_of_the_recording_not_of_the_stream():
    chunks = shifted(ramp_chunks([10] * 4), 3, -100.0)
    source = QueueSource(INFO, chunks[:2])
    stream = Stream("emg", source, window_ms=100)
    store = FakeStore()
    stream.start()
    try:
        assert wait_for(lambda: stream.health.samples == 20)
        session = store.open_session(SessionMeta("faults", (INFO,)))
        stream.set_session(session)  # recording starts at stream sample 20
        source.give(chunks[2:])
        assert wait_for(lambda: stream.health.samples == 40)
    finally:
        stream.stop()
    assert [d.sample for d in session.discontinuities] == [10]
    assert session.data("emg")[0].shape == (2, 20)


class PlainRecording:
    """A third-party store's session without `add_discontinuity`."""

    def __init__(self):
        self.appended = []
        self.location, self.error = "plain://", None

    def append(self, stream, data, timestamps):
        self.appended.append(len(timestamps))


def test_a_store_without_add_discontinuity_still_records_every_sample():
    source = FakeSource(INFO, shifted(ramp_chunks([10] * 4), 2, -100.0))
    stream = Stream("emg", source, window_ms=100)
    session = PlainRecording()
    stream.set_session(session)
    stream.start()
    try:
        assert wait_for(lambda: stream.health.samples == 40)
    finally:
        stream.stop()
    assert session.appended == [10] * 4
    assert stream.health.clock_jumps == 1 and stream.health.error is None


@st.composite
def jumpy_chunks(draw):
    sizes = draw(st.lists(st.integers(1, 30), min_size=2, max_size=12))
    starts = np.cumsum([0] + sizes[:-1])
    chunks = ramp_chunks(sizes)
    # jumps at chunk starts: forward beyond the tolerance or any step back
    where = draw(st.lists(st.integers(1, len(sizes) - 1), unique=True, max_size=4))
    offsets = [draw(st.one_of(st.floats(CLOCK_JUMP_S + 1, 1e6), st.floats(-1e6, -1.0)))
               for _ in where]
    for k, offset in zip(where, offsets):
        chunks = shifted(chunks, k, offset)
    return chunks, sorted(int(starts[k]) for k in where)


@given(jumpy_chunks())
@settings(max_examples=150 if FULL else 12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_random_jumps_keep_every_sample_and_are_each_counted_and_marked(case):
    chunks, jump_samples = case
    total = sum(len(ts) for _, ts in chunks)
    source = FakeSource(INFO, chunks)
    stream = Stream("emg", source, window_ms=100)
    session = FakeStore().open_session(SessionMeta("faults", (INFO,)))
    stream.set_session(session)
    stream.start()
    try:
        assert wait_for(lambda: stream.health.samples == total)
    finally:
        stream.stop()
    data, ts = session.data("emg")
    assert np.array_equal(data[0], np.arange(total))
    assert np.array_equal(ts, np.concatenate([t for _, t in chunks]))
    assert stream.health.clock_jumps == len(jump_samples)
    assert [d.sample for d in session.discontinuities] == jump_samples
    assert stream.health.lost == 0


# --- 2. NaN and infinity are data -------------------------------------------------------------------
def test_nan_and_inf_are_kept_verbatim_counted_and_said_once():
    chunks = ramp_chunks([10] * 5)
    chunks[1][0][3, 0] = np.nan  # one dropped sample on one channel
    chunks[3][0][:, 1] = np.inf
    stream, rec, app = record(chunks, buffer_ms=1000, display_buckets=20)  # 5-sample buckets
    data, _ = rec.data("emg")
    expected = np.concatenate([d for d, _ in chunks]).T
    assert np.array_equal(data, expected, equal_nan=True)  # every channel, every sample
    window, _ = stream.buffer.window(50)
    assert np.array_equal(window, expected, equal_nan=True)
    health = stream.health
    assert (health.non_finite, health.rejected, health.samples) == (11, 0, 50)
    notes = [w for w in warnings_from(app) if "NaN or infinite values" in w]
    assert len(notes) == 1 and "kept verbatim" in notes[0]
    assert "11 non-finite" in app.status_line()
    snap = stream.display()
    assert np.isfinite(snap.mins[0]).all()  # one NaN does not blank a display bucket


def test_non_finite_timestamps_keep_their_samples_and_are_counted():
    chunks = ramp_chunks([10] * 3)
    chunks[1][1][4] = np.nan
    stream, rec, app = record(chunks)
    data, ts = rec.data("emg")
    assert np.array_equal(data[0], np.arange(30))
    assert np.isnan(ts[14]) and np.array_equal(np.delete(ts, 14), np.delete(np.arange(30), 14) / 100)
    health = stream.health
    assert (health.non_finite_timestamps, health.clock_jumps, health.lost) == (1, 0, 0)
    assert any("NaN or infinite timestamps" in w for w in warnings_from(app))


# --- 3. narrowing casts saturate -----------------------------------------------------------------
def test_100000_into_an_int16_stream_is_stored_as_32767_counted_and_said_once():
    info = StreamInfo("force", 1, 100.0, "int16")
    chunks = [(np.array([[100000], [-100000], [7]], np.int32), np.arange(3) / 100),
              (np.array([[1e5], [2.6], [np.nan]]), np.arange(3, 6) / 100)]
    stream, rec, app = record(chunks, info)
    data, _ = rec.data("force")
    assert data.dtype == np.int16
    assert data[0].tolist() == [32767, -32768, 7, 32767, 3, 0]  # never -31072
    health = stream.health
    assert (health.clipped, health.non_finite, health.rejected) == (3, 1, 0)
    clipped = [w for w in warnings_from(app, "force") if "saturated" in w]
    assert len(clipped) == 1 and "outside the int16 range" in clipped[0]
    assert any("NaN stored as 0" in w for w in warnings_from(app, "force"))


def test_1e300_into_a_float32_stream_saturates_instead_of_becoming_infinite():
    chunks = [(np.array([[1e300, -1e300], [1.0, np.inf]]), np.arange(2) / 100)]
    stream, rec, _ = record(chunks)
    data, _ = rec.data("emg")
    big = np.finfo(np.float32).max
    assert data[0].tolist() == [big, 1.0] and data[1].tolist() == [-big, np.inf]
    assert (stream.health.clipped, stream.health.non_finite) == (2, 1)


# --- 4. refused streams say why -------------------------------------------------------------------
class Reshaping(FakeSource):
    """Announces `self.channels` channels on each connect; `lose` ends the current read loop."""

    def __init__(self):
        super().__init__(INFO)
        self.channels = 2
        self.lose = threading.Event()

    def connect(self, timeout):
        super().connect(timeout)
        return StreamInfo("emg", self.channels, 100.0)

    def read(self):
        self.reads += 1
        if self.lose.is_set():
            self.lose.clear()
            raise SourceLost("amplifier restarted")
        return ramp_chunks([5], channels=2, start_index=self.reads * 5)[0]


def test_a_refused_geometry_shows_with_its_reason_until_a_good_connect():
    source = Reshaping()
    app = App("geometry")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.health.status is StreamStatus.STREAMING)
        source.channels = 3
        source.lose.set()
        assert wait_for(lambda: stream.health.status is StreamStatus.REFUSED)
        refused_at = source.connects
        seen = set()
        while source.connects < refused_at + 3:  # retries go on; the refusal stays shown
            health = stream.health
            seen.add((health.status, health.error))
        assert len(seen) == 1, seen
        ((status, error),) = seen
        assert status is StreamStatus.REFUSED
        assert "2 ch float32 at 100.0 Hz" in error and "3 ch float32" in error
        assert "restart the app to accept the new geometry" in error
        source.channels = 2  # the amplifier is set back: accepted again
        assert wait_for(lambda: stream.health.status is StreamStatus.STREAMING)
        assert stream.health.error is None


class Absurd(FakeSource):
    def connect(self, timeout):
        super().connect(timeout)
        return StreamInfo("emg", 100_000, 100.0)  # raises: an absurd announcement


def test_an_absurd_geometry_is_refused_with_its_reason_not_shown_as_connecting():
    source = Absurd(INFO)
    app = App("geometry")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: source.connects >= 3)
        health = stream.health
        assert health.status is StreamStatus.REFUSED
        assert "channel count 100000 is outside 1..4096" in health.error
        assert "emg 0 Hz refused" in app.status_line()
