"""Failures in every callback and adapter: reported once, counted, and the app goes on."""

import threading
import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeSource, FakeStore
from hexloop.adapters.fakes.store import FakeRecording
from hexloop.application import App, Log, Pipeline, Stream, StreamStatus
from hexloop.domain.pipeline import TrainingData
from hexloop.domain.state import State
from hexloop.domain.streams import StreamInfo
from hexloop.ports.source import SourceLost
from tests.helpers import GatedSource, quiet_headless, ramp_chunks, started, wait_for

pytestmark = pytest.mark.timeout(30)

CLASSES = ("rest", "fist")
DATA = TrainingData(np.zeros((2, 2)), np.array([0, 1]), CLASSES)


def errors_from(app, source: str) -> list[str]:
    return [e.message for e in app.ctx.log.entries("error") if e.source == source]


# --- pipeline callbacks ---------------------------------------------------------------------


class Flaky:
    """A callback that raises `error` while `broken`, else returns what `ok` gives."""

    def __init__(self, ok, error):
        self.ok, self.error, self.broken = ok, error, True

    def __call__(self, *args):
        if self.broken:
            raise self.error if isinstance(self.error, BaseException) else None
        return self.ok(*args)


def mean_features(windows):
    return windows["emg"].mean(axis=1)


def predict_ok(model, features):
    return {"p_rest": 0.25, "p_fist": 0.75}


class ReturnsList:
    broken = True

    def __call__(self, model, features):
        return [0.25, 0.75] if self.broken else predict_ok(model, features)


@pytest.mark.parametrize(
    "which, callback, message",
    [
        ("extract", Flaky(mean_features, ValueError("window has 3 channels")),
         "ValueError: window has 3 channels"),
        ("predict", Flaky(predict_ok, RuntimeError("model exploded")),
         "RuntimeError: model exploded"),
        ("predict", ReturnsList(),
         "TypeError: @pipeline.predict must return a mapping of name to value, got list; "
         "return e.g. {'p_rest': 0.9}"),
    ],
    ids=["extract-raises", "predict-raises", "predict-returns-a-list"],
)
def test_callback_errors_are_reported_once_counted_and_the_loop_goes_on(which, callback, message):
    app = App("errors", class_names=CLASSES)
    app.streams(Stream("emg", FakeSource.steady("emg", chunks=30), window_ms=100))
    pipeline = Pipeline(app, predict_hz=200.0)
    pipeline.extract(callback if which == "extract" else mean_features)
    pipeline.predict(callback if which == "predict" else predict_ok)
    pipeline.model = "model"
    with started(app):
        pipeline.start_predicting()
        assert wait_for(lambda: pipeline.errors >= 5)
        assert errors_from(app, "pipeline") == [message]  # once, however often it failed
        callback.broken = False
        failed = pipeline.errors
        assert wait_for(lambda: pipeline.predictions.count >= 3)  # the loop went on
        assert app.ctx.log.occurrences("pipeline", message) == failed
        assert pipeline.errors == failed
        assert app.ctx.state is State.PREDICTING
    assert pipeline.predictions.latest.values == {"p_rest": 0.25, "p_fist": 0.75}


def test_train_raising_returns_to_idle_and_keeps_the_previous_model():
    app = App("errors")
    pipeline = Pipeline(app)
    pipeline.model = "previous"

    @pipeline.train
    def train(data, job):
        job.report(epoch=1, epochs=3)
        raise np.linalg.LinAlgError("singular matrix")

    pipeline.start_training(DATA)
    assert pipeline.wait_training(5.0)
    assert app.ctx.state is State.IDLE and pipeline.model == "previous"
    assert pipeline.errors == 1
    assert pipeline.progress.message == "failed: LinAlgError: singular matrix"
    assert pipeline.progress.epoch == 1
    assert errors_from(app, "pipeline") == [
        "training failed, previous model kept: LinAlgError: singular matrix"]


def test_train_returning_nothing_is_a_failure_not_a_model():
    app = App("errors")
    pipeline = Pipeline(app)
    pipeline.model = "previous"
    pipeline.train(lambda data, job: None)  # forgot `return model`
    pipeline.start_training(DATA)
    assert pipeline.wait_training(5.0)
    assert app.ctx.state is State.IDLE and pipeline.model == "previous"
    assert "return the trained model" in pipeline.progress.message


@pytest.mark.parametrize("honours_cancel", [True, False])
def test_cancel_mid_training_returns_to_idle_and_keeps_the_previous_model(honours_cancel):
    app = App("errors")
    pipeline = Pipeline(app)
    pipeline.model = "previous"
    training = threading.Event()

    @pipeline.train
    def train(data, job):
        training.set()
        for epoch in range(500):
            if honours_cancel:
                job.raise_if_cancelled()
            elif job.cancelled:
                return "a model trained despite the cancel"
            job.report(epoch=epoch, epochs=500)
            time.sleep(0.01)
        return "finished model"

    pipeline.start_training(DATA)
    assert training.wait(5.0)
    pipeline.cancel_training()
    assert pipeline.wait_training(5.0)
    assert app.ctx.state is State.IDLE and pipeline.model == "previous"
    assert pipeline.progress.message == "cancelled; the previous model is kept"
    assert pipeline.progress.epoch < 499


# --- the main thread: UI functions and cleanup hooks ----------------------------------------


def test_headless_runs_never_call_ui_functions_which_need_a_window():
    app = App("errors")
    frames = []

    @app.ui
    def panel(ctx):  # an ImGui call here without a window would crash the interpreter
        frames.append(ctx.state)

    app.run(quiet_headless(duration=0.3))
    assert frames == []


def test_a_failing_cleanup_hook_does_not_stop_the_others():
    app = App("errors")
    ran = []

    def first(app):
        ran.append("first")

    def release_camera(app):
        raise OSError("camera already closed")

    def last(app):
        ran.append("last")

    app.cleanup_hooks += [first, release_camera, last]
    app.run(quiet_headless(duration=0.1))
    assert ran == ["first", "last"]
    assert errors_from(app, "app") == [
        "cleanup hook release_camera failed: camera already closed"]


# --- sources --------------------------------------------------------------------------------


class RecordingSource(FakeSource):
    """A FakeSource that notes when, and on which thread, connect/disconnect are called."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.connect_times: list[float] = []
        self.disconnect_threads: list[str] = []

    def connect(self, timeout):
        self.connect_times.append(time.monotonic())
        return super().connect(timeout)

    def disconnect(self):
        self.disconnect_threads.append(threading.current_thread().name)
        super().disconnect()


def assert_backs_off(times, first=0.05):
    gaps = np.diff(times)
    assert len(gaps) >= 3
    for k, gap in enumerate(gaps[:4]):
        assert gap >= 0.9 * first * 2**k, f"retry {k + 1} came after {gap:.3f}s: no backoff"


@pytest.mark.parametrize(
    "error, status, message",
    [
        (SourceLost("amplifier unplugged"), StreamStatus.STALLED,
         "SourceLost: amplifier unplugged"),
        (ValueError("driver returned garbage"), StreamStatus.ERROR,
         "ValueError: driver returned garbage"),
    ],
    ids=["source-lost", "source-bug"],
)
def test_a_source_failing_on_read_is_retried_with_backoff(error, status, message):
    source = RecordingSource.steady("emg", chunks=20, fail_reads=4, error=error)
    app = App("errors")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: len(source.connect_times) >= 4, 3.0)
        health = stream.health
        assert health.error == message and health.status is status
        assert errors_from(app, "stream emg") == [message]
        assert wait_for(lambda: stream.health.samples == 200, 3.0)  # it recovered, thread alive
        assert stream.health.status is StreamStatus.STREAMING and stream.health.error is None
    assert app.ctx.log.occurrences("stream emg", message) == 4
    assert stream.health.reconnects == 4
    assert_backs_off(source.connect_times)
    assert set(source.disconnect_threads) == {"acq-emg"}  # only its own thread touches it


def test_a_source_that_cannot_connect_is_retried_with_backoff():
    source = RecordingSource.steady("emg", chunks=5, fail_connects=4)
    app = App("errors")
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: len(source.connect_times) >= 3, 3.0)
        assert stream.health.status is StreamStatus.CONNECTING
        assert stream.health.error == "TimeoutError: fake stream 'emg' not found"
        assert wait_for(lambda: stream.health.samples == 50, 3.0)
    assert errors_from(app, "stream emg") == ["TimeoutError: fake stream 'emg' not found"]
    assert_backs_off(source.connect_times)


def test_unstorable_chunks_are_rejected_and_anomalies_are_kept_and_counted():
    """Only a chunk that cannot be stored (3 channels for 2) is refused; NaN values and a
    clock that steps back are data (#11): kept in order, counted, never refused."""
    info = StreamInfo("emg", 2, 100.0, "float32")
    good1, _, good2 = ramp_chunks([10, 5, 10], channels=2)
    nan = (np.full((5, 2), np.nan, np.float32), np.arange(10, 15) / 100.0)
    wide = (np.zeros((5, 3), np.float32), np.arange(15, 20) / 100.0)
    backwards = (np.zeros((5, 2), np.float32), np.arange(0, 5) / 100.0)
    source = GatedSource(info, [good1, nan, wide, good2, backwards])
    store = FakeStore()
    app = App("errors", store=store)
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.info is not None)
        app.start_recording()
        source.gate.set()
        assert wait_for(lambda: stream.health.samples == 30)
        summary = app.stop_recording()
    health = stream.health
    assert (health.rejected, health.lost, health.clock_jumps, health.non_finite) == (1, 0, 1, 10)
    data, ts = store.read(summary.location).data("emg")
    assert np.array_equal(ts, np.r_[np.arange(25), np.arange(5)] / 100.0)  # all kept, in order
    assert np.array_equal(data[0, :10], np.arange(10))
    assert np.isnan(data[:, 10:15]).all()
    rejections = errors_from(app, "stream emg")
    assert rejections == ["ChunkRejected: stream 'emg': expected 2 channels, got 3 channels"]


class FailingRecording(FakeRecording):
    def append(self, stream, data, timestamps):
        raise OSError("disk full")


class FailingStore(FakeStore):
    def open_session(self, meta):
        rec = FailingRecording(self, meta, "memory://failing")
        self.opened.append(rec)
        return rec


def test_a_store_failing_on_append_does_not_stop_acquisition():
    info = StreamInfo("emg", 2, 100.0, "float32")
    source = GatedSource(info, ramp_chunks([10] * 10, channels=2))
    app = App("errors", store=FailingStore())
    stream = Stream("emg", source, window_ms=100)
    app.streams(stream)
    with started(app):
        assert wait_for(lambda: stream.info is not None)
        app.start_recording()
        source.gate.set()
        assert wait_for(lambda: stream.health.samples == 100)
        assert stream.health.error == "OSError: disk full"
        data, ts = stream.get_window()
        assert np.array_equal(ts, np.arange(90, 100) / 100.0)  # the buffer kept filling
        summary = app.stop_recording()
    assert summary.location == "memory://failing"
    assert errors_from(app, "stream emg") == ["OSError: disk full"]
    assert app.ctx.log.occurrences("stream emg", "OSError: disk full") == 10
    assert app.ctx.state is State.IDLE


def test_the_log_is_bounded_and_error_once_counts_every_occurrence():
    echoed = []
    log = Log(maxlen=3, max_distinct=2, echo=echoed.append)
    for k in range(5):
        log.info("app", f"message {k}")
    assert [e.message for e in log.entries()] == ["message 2", "message 3", "message 4"]
    assert log.error_once("stream emg", ValueError("bad chunk")) is True
    assert log.error_once("stream emg", ValueError("bad chunk")) is False
    assert log.occurrences("stream emg", "ValueError: bad chunk") == 2
    assert [e.level for e in log.entries()][-1] == "error" and len(echoed) == 6
    log.error_once("stream emg", "second")
    log.error_once("stream emg", "third")  # only the newest two distinct errors are remembered
    assert log.occurrences("stream emg", "ValueError: bad chunk") == 0


def test_headless_runs_show_warnings_and_errors_as_they_happen():
    import io

    from hexloop.application import HeadlessRenderer

    app = App("problems")
    app.before_run_hooks.append(lambda a: a.ctx.log.error("stream emg", "TimeoutError: gone"))
    app.before_run_hooks.append(lambda a: a.ctx.log.info("app", "all fine"))
    problems = io.StringIO()
    app.run(HeadlessRenderer(interval=0, duration=0.2, out=io.StringIO(), problems=problems))
    assert problems.getvalue() == "error: stream emg: TimeoutError: gone\n"
