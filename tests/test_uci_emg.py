"""Real Myo armband EMG (UCI "EMG data for gestures"): train on series 1, predict series 2.

For both subjects the torch classifier must match a linear discriminant (written here in numpy)
on the same window features, within 3 points or above: first offline on arrays, then live,
through the Pipeline, with series 2 replayed as a stream by the replay source.
"""

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from shared_data import UCI_EMG

pytest.importorskip("torch")

from hexloop.adapters.replay import ReplaySource  # noqa: E402
from hexloop.adapters.torch import TorchClassifier  # noqa: E402
from hexloop.application import App, Pipeline, Stream  # noqa: E402
from hexloop.application.headless import HeadlessRenderer  # noqa: E402
from hexloop.domain.features import emg_features  # noqa: E402
from hexloop.domain.labels import LabelTrack  # noqa: E402
from hexloop.domain.pipeline import TrainingData, TrainingJob  # noqa: E402

DATA = UCI_EMG
GESTURES = ("rest", "fist", "flexion", "extension", "radial", "ulnar")  # classes 1..6
RAW_NAMES = {0: "unmarked", **{k + 1: name for k, name in enumerate(GESTURES)}, 7: "palm"}
WINDOW, STEP = 200, 50  # samples at about 1 kHz: 200 ms windows every 50 ms
SUBJECTS = ("01", "03")


def series(subject: str, number: int) -> Path:
    folder = DATA / subject
    if not folder.is_dir():
        pytest.skip(f"the UCI EMG data set is not at {folder}")
    (path,) = folder.glob(f"{number}_raw_data_*.txt")
    return path


def gesture_windows(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Windows (k, 8, 200) inside runs of one gesture (classes 1-6), and class indices 0..5."""
    table = np.loadtxt(path, skiprows=1)
    emg, classes = table[:, 1:9].T, table[:, 9].astype(int)
    change = np.flatnonzero(np.diff(classes)) + 1
    windows, labels = [], []
    for start, stop in zip(np.r_[0, change], np.r_[change, len(classes)]):
        k = classes[start]
        if 1 <= k <= 6:
            for s in range(start, stop - WINDOW + 1, STEP):
                windows.append(emg[:, s : s + WINDOW])
                labels.append(k - 1)
    return np.stack(windows), np.array(labels)


class Lda:
    """Linear discriminant analysis: class means, one pooled covariance (slightly shrunk)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, shrinkage: float = 1e-2):
        self.mean, self.std = x.mean(0), x.std(0) + 1e-12
        z = (x - self.mean) / self.std
        classes = np.arange(y.max() + 1)
        means = np.stack([z[y == k].mean(0) for k in classes])
        residual = z - means[y]
        cov = residual.T @ residual / (len(z) - len(classes))
        d = cov.shape[0]
        cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / d * np.eye(d)
        self.weights = np.linalg.solve(cov, means.T).T
        prior = np.bincount(y, minlength=len(classes)) / len(y)
        self.bias = -0.5 * np.sum(self.weights * means, axis=1) + np.log(prior)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(((x - self.mean) / self.std) @ self.weights.T + self.bias, axis=-1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Per subject: features of series 1, the LDA and the torch classifier trained on them."""
    out = {}
    for subject in SUBJECTS:
        windows, y = gesture_windows(series(subject, 1))
        x = emg_features(windows)
        model = TorchClassifier(seed=0)
        model.fit(TrainingData(x.astype(np.float32), y, GESTURES), TrainingJob())
        path = tmp_path_factory.mktemp(f"uci{subject}") / "model.hexmodel"
        model.save(path)
        out[subject] = (Lda(x, y), model, path)
    return out


@pytest.mark.parametrize("subject", SUBJECTS)
def test_offline_series2_matches_lda(subject, trained):
    lda, model, _ = trained[subject]
    windows, y = gesture_windows(series(subject, 2))
    x = emg_features(windows)
    lda_accuracy = np.mean(lda.predict(x) == y)
    torch_accuracy = np.mean([model.predict(f).argmax() == k for f, k in zip(x, y)])
    assert lda_accuracy > 0.8, f"LDA baseline {lda_accuracy:.1%}: the features broke"
    assert torch_accuracy >= lda_accuracy - 0.03, (
        f"subject {subject}: torch {torch_accuracy:.1%} vs LDA {lda_accuracy:.1%}")


class HeldClock:
    """A monotonic clock that stands still until `release()`: a replay on it starts on cue."""

    def __init__(self):
        self._start = time.monotonic()
        self._released_at: float | None = None

    def release(self) -> None:
        self._released_at = time.monotonic()

    def now(self) -> float:
        if self._released_at is None:
            return self._start
        return self._start + time.monotonic() - self._released_at

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is not None:
            return interrupt.wait(seconds)
        time.sleep(seconds)
        return False


def _replay(path: Path, speed: float, clock=None) -> ReplaySource:
    return ReplaySource(path, speed=speed, name="emg", class_names=RAW_NAMES, clock=clock)


def _run_app(app: App, protocol, limit_s: float = 30.0) -> None:
    """app.run() on this (main) thread with `protocol(app)` on a worker; re-raise its error."""
    errors = []

    def worker():
        try:
            protocol(app)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            errors.append(e)
        finally:
            app.exit()

    thread = threading.Thread(target=worker, daemon=True)
    app.before_run_hooks.append(lambda _app: thread.start())
    watchdog = threading.Timer(limit_s, app.exit)
    watchdog.start()
    try:
        app.run(HeadlessRenderer(interval=0, out=io.StringIO()))
    finally:
        watchdog.cancel()
        thread.join(5)
    if errors:
        raise errors[0]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("subject", SUBJECTS)
def test_live_through_pipeline_with_replay(subject, trained, tmp_path):
    """Record series 1 from a replay, train through the pipeline, predict series 2 live."""
    zarr = pytest.importorskip("hexloop.adapters.zarr")
    lda, _, _ = trained[subject]

    # 1. Record series 1 as it streams in (replayed 40x faster from the moment recording
    # starts); the stream marks the file's cues into the recording.
    clock = HeldClock()
    source = _replay(series(subject, 1), speed=40.0, clock=clock)
    recorder = App("uci-record", store=zarr.ZarrStore(tmp_path), class_names=tuple(RAW_NAMES.values()))
    stream = Stream("emg", source, window_ms=200, buffer_ms=5000)
    recorder.streams(stream)
    pipeline = Pipeline(recorder, predict_hz=50.0)
    pipeline.extract(lambda windows: emg_features(windows["emg"]))
    pipeline.use_model(lambda: TorchClassifier(seed=0))

    def record(app):
        _wait(lambda: app.recording_refusal() is None, 5, "the replay stream")
        app.start_recording(slug=f"uci{subject}")
        clock.release()
        _wait(lambda: source.finished, 20, "the end of the replay")  # the stream marks its cues
        _wait(lambda: stream.health.samples >= source.samples_sent, 5, "acquisition to drain")
        summary = app.stop_recording()
        assert stream.health.lost == 0, "samples were lost while recording"
        # All but the first sample (delivered at connect, before recording) are in the session.
        assert source.samples_sent - summary.samples["emg"] <= 1
        session = app.store.read(summary.location)
        counts = session.labels.counts(float("inf"))
        assert all(counts[g] == 2 for g in GESTURES), counts
        everything = pipeline.training_data(session, step_ms=50.0)
        keep = (everything.y >= 1) & (everything.y <= 6)  # drop unmarked (0) and palm (7)
        pipeline.start_training(TrainingData(everything.x[keep], everything.y[keep] - 1, GESTURES))
        assert pipeline.wait_training(30), "training did not finish"
        assert pipeline.model is not None, pipeline.progress
        pipeline.save_model(tmp_path / "pipeline.hexmodel")

    _run_app(recorder, record)
    assert pipeline.model.output_names == GESTURES

    # 2. Replay series 2 (10x) into a fresh app that loads the saved model and predicts live.
    source = _replay(series(subject, 2), speed=10.0)
    app = App("uci-live")
    stream = Stream("emg", source, window_ms=200, buffer_ms=2000)
    app.streams(stream)
    live = Pipeline(app, predict_hz=100.0)  # a tick every 100 samples of the recording
    live.extract(lambda windows: emg_features(windows["emg"]))
    live.use_model(lambda: TorchClassifier(seed=0))
    live.load_model(tmp_path / "pipeline.hexmodel")

    @live.predict
    def predict(model, features):  # the torch probabilities, and the LDA on the same features
        values = dict(zip(model.output_names, model.predict(features).tolist()))
        values["lda"] = float(lda.predict(features))
        return values

    def run_live(app):
        _wait(lambda: stream.get_window()[1].size >= stream.window_samples, 5, "a full window")
        live.start_predicting()
        _wait(lambda: source.finished, 20, "the end of the replay")
        time.sleep(0.1)
        live.stop_predicting()

    _run_app(app, run_live)

    # Score each fresh prediction whose whole window lies in one run of a gesture.
    track = LabelTrack(tuple(RAW_NAMES.values()), stream.label_events)  # the file's cues, live
    span = (WINDOW - 1) / 1000.0 / source.speed  # a window's length on the live clock
    events = np.array([e.time for e in track.events])
    scored = torch_right = lda_right = 0
    for p in live.predictions.recent():
        if p.stale:
            continue
        end = p.input_time
        raw = int(track.class_at(np.array([end]))[0])
        inside = not np.any((events > end - span) & (events <= end))
        if not (1 <= raw <= 6 and inside):
            continue
        scored += 1
        torch_right += int(np.argmax(p.vector(GESTURES)) == raw - 1)
        lda_right += int(p.values["lda"] == raw - 1)
    assert live.errors == 0, app.ctx.log.entries("error")
    assert scored >= 120, f"only {scored} live predictions fell inside gestures"
    torch_accuracy, lda_accuracy = torch_right / scored, lda_right / scored
    print(f"subject {subject} live: torch {torch_accuracy:.1%}, LDA {lda_accuracy:.1%}, "
          f"{scored} windows")
    assert lda_accuracy > 0.8, f"LDA baseline {lda_accuracy:.1%} live: windows are misaligned"
    assert torch_accuracy >= lda_accuracy - 0.03, (
        f"subject {subject} live over {scored} windows: torch {torch_accuracy:.1%} vs LDA "
        f"{lda_accuracy:.1%}")
