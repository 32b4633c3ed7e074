"""The whole loop headless: record, label, stop, training data, train, predict, output; the state
machine followed; every refused request says why."""

import threading
import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeModel, FakeSource, FakeStore, FakeTransport
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Output, Pipeline, Stream, StreamStatus
from hexloop.domain import features
from hexloop.domain.labels import LabelEvent
from hexloop.domain.pipeline import TrainingData
from hexloop.domain.state import State, TransitionRefused
from hexloop.ports.model import ModelFileError
from tests.helpers import quiet_headless, run_in_thread, started, wait_for

CLASSES = ("rest", "fist")
RATE = 500.0

pytestmark = pytest.mark.timeout(30)


def rms(windows):
    return features.rms(windows["emg"])


def train_centroids(data, job):
    model = FakeModel()
    model.fit(data, job)
    return model


def class_probabilities(model, features):
    return dict(zip(("p_rest", "p_fist"), np.asarray(model.predict(features)).tolist()))


def build(source, store=None, predict_hz=50.0, window_ms=100.0):
    app = App("flow", store=store, class_names=CLASSES)
    emg = Stream("emg", source, window_ms=window_ms, buffer_ms=2000)
    app.streams(emg)
    pipeline = Pipeline(app, predict_hz=predict_hz)
    pipeline.extract(rms)
    pipeline.train(train_centroids)
    pipeline.predict(class_probabilities)
    return app, emg, pipeline


def first_prediction_after(pipeline, input_time: float, timeout: float = 3.0):
    """The first prediction whose newest input sample is later than `input_time`."""

    def newer():
        return [p for p in pipeline.predictions.recent(50) if p.input_time > input_time]

    assert wait_for(lambda: bool(newer()), timeout), "no prediction on new input"
    return newer()[0]


def transitions(app) -> list[str]:
    return [e.message.split(" (")[0] for e in app.ctx.log.entries() if e.source == "state"]


def test_record_label_train_predict_and_output_end_to_end():
    source = SimulatedSource("sim", channels=4, rate=RATE, class_names=CLASSES, seed=1)
    store, transport = FakeStore(), FakeTransport()
    app, emg, pipeline = build(source, store)
    out = Output(transport, hz=50.0, channels=["p_rest", "p_fist"])
    pipeline.outputs.append(out)
    found = {}

    def experiment():
        try:
            assert wait_for(lambda: emg.health.status is StreamStatus.STREAMING)
            app.start_recording(slug="s01")
            for k in (0, 1, 0, 1):
                source.set_class(k)
                app.mark(CLASSES[k])
                time.sleep(0.25)
            found["summary"] = summary = app.stop_recording()
            session = store.read(summary.location)
            found["data"] = data = pipeline.training_data(session, step_ms=20)
            pipeline.start_training(data)
            assert pipeline.wait_training(5.0)
            pipeline.start_predicting()
            for k in (1, 0, 1):
                source.set_class(k)
                switched = app.clock.now() + 0.1 + 0.02  # a whole window after the switch
                found[f"predicted after switching to {k}"] = first_prediction_after(
                    pipeline, switched)
        finally:
            app.exit()

    driver, errors = run_in_thread(experiment)
    app.run(quiet_headless(interval=0.1, duration=20.0))  # duration: a backstop only
    driver.join(5.0)
    assert not errors, errors

    # recorded: every sample since start, contiguous, with its labels
    summary = found["summary"]
    session = store.read(summary.location)
    data, ts = session.data("emg")
    assert data.shape == (4, summary.samples["emg"]) and summary.samples["emg"] > 0.8 * RATE
    assert np.allclose(np.diff(ts), 1 / RATE)  # nothing dropped while recording
    assert [e.class_index for e in session.labels.events] == [0, 1, 0, 1]
    assert session.meta.slug == "s01" and session.meta.class_names == CLASSES
    assert summary.labels == 4 and summary.error is None
    # trained on both classes, windows never longer than a trial
    assert set(found["data"].y.tolist()) == {0, 1}
    assert found["data"].x.shape[1] == 4
    # predictions follow the simulated gesture
    for k in (1, 0, 1):
        p = found[f"predicted after switching to {k}"]
        assert np.argmax(p.vector(["p_rest", "p_fist"])) == k
    # the output sent prediction vectors, then closed
    assert transport.channels == ["p_rest", "p_fist"] and transport.closed
    vectors = {tuple(p.vector(["p_rest", "p_fist"])) for p in pipeline.predictions.recent()}
    assert transport.sent and all(tuple(s) in vectors for s, _ in transport.sent[-5:])
    assert transitions(app) == [
        "idle -> recording", "recording -> idle", "idle -> training", "training -> idle",
        "idle -> predicting", "predicting -> idle",
    ]
    assert app.ctx.state is State.IDLE


def test_training_while_predicting_stops_predicting_first():
    release = threading.Event()

    def slow_train(data, job):
        release.wait(5.0)
        return "new model"

    app, _, pipeline = build(FakeSource.steady("emg", channels=2, chunks=30), predict_hz=100.0)
    pipeline.predict(lambda model, features: {"model": float(model == "new model")})
    pipeline.model = "old model"
    with started(app):
        pipeline.start_predicting()
        assert wait_for(lambda: pipeline.predictions.count >= 3)
        pipeline.train(slow_train)
        pipeline.start_training(TrainingData(np.zeros((2, 2)), np.array([0, 1]), CLASSES))
        assert app.ctx.state is State.TRAINING
        workers = [t for t in threading.enumerate() if t.name.split("-")[0] in
                   ("acq", "predict", "out", "train")]
        assert {t.name for t in workers} >= {"acq-emg", "predict-pipeline", "train-pipeline"}
        assert all(t.daemon for t in workers)
        before = pipeline.predictions.count
        time.sleep(0.1)  # ten ticks at 100 Hz: none may predict now
        assert pipeline.predictions.count <= before + 1  # at most the tick already running
        release.set()
        assert pipeline.wait_training(5.0)
        assert app.ctx.state is State.IDLE and pipeline.model == "new model"
        settled = pipeline.predictions.count
        time.sleep(0.05)
        assert pipeline.predictions.count == settled  # predicting does not resume by itself
    assert transitions(app)[-3:] == ["idle -> predicting", "predicting -> training",
                                     "training -> idle"]


def test_recording_without_a_store_is_refused_with_the_fix():
    app, _, _ = build(FakeSource.steady("emg"))
    with started(app):
        with pytest.raises(TransitionRefused, match=r"no store configured: give App\(store=...\)"):
            app.start_recording()
        assert app.recording_refusal().startswith("no store configured")
        assert app.ctx.state is State.IDLE


def test_recording_waits_for_streams_and_needs_one():
    assert App("empty", store=FakeStore()).recording_refusal() == (
        "no streams to record: add one with app.streams(...)")
    app, _, _ = build(FakeSource.steady("emg", fail_connects=1000), FakeStore())
    with started(app):
        with pytest.raises(TransitionRefused, match=r"streams \['emg'\] are not connected yet"):
            app.start_recording()


def test_requests_the_state_does_not_allow_are_refused_and_change_nothing():
    gate = threading.Event()

    def blocking_train(data, job):
        gate.wait(5.0)
        return "model"

    store = FakeStore()
    app, emg, pipeline = build(FakeSource.steady("emg", chunks=50), store)
    pipeline.train(blocking_train)
    data = TrainingData(np.zeros((2, 2)), np.array([0, 1]), CLASSES)
    with started(app):
        assert wait_for(lambda: emg.info is not None)
        with pytest.raises(TransitionRefused, match="start recording first"):
            app.mark("fist")
        with pytest.raises(TransitionRefused, match=r"nothing is running \(state is idle\)"):
            app.stop_recording()
        with pytest.raises(TransitionRefused, match="no model yet: train or load one first"):
            pipeline.start_predicting()
        pipeline.model = "previous model"
        app.start_recording()
        with pytest.raises(TransitionRefused, match="while recording: stop the recording first"):
            pipeline.start_training(data)
        with pytest.raises(TransitionRefused, match="predicting while recording: stop the rec"):
            pipeline.start_predicting()
        with pytest.raises(ValueError, match="unknown class 'open'"):
            app.mark("open")
        with pytest.raises(ValueError, match="class index 5 is outside"):
            app.mark(5)
        app.stop_recording()
        pipeline.start_training(data)
        with pytest.raises(TransitionRefused, match="wait for training to finish or cancel it"):
            app.start_recording()
        with pytest.raises(TransitionRefused, match="wait for training to finish or cancel it"):
            pipeline.start_predicting()
        assert app.ctx.state is State.TRAINING
        assert len(store.opened) == 1
        gate.set()
        assert pipeline.wait_training(5.0)


def test_predicting_needs_the_user_functions():
    app = App("bare")
    pipeline = Pipeline(app)
    with pytest.raises(TransitionRefused, match=r"define @pipeline.extract and @pipeline.predict"):
        pipeline.start_predicting()
    with pytest.raises(TransitionRefused, match=r"no @pipeline.train function"):
        pipeline.start_training(TrainingData(np.zeros((1, 1)), np.array([0]), ("a",)))
    assert app.ctx.state is State.IDLE


def test_a_store_that_cannot_open_leaves_the_app_idle():
    class BrokenStore(FakeStore):
        def open_session(self, meta):
            raise PermissionError("read-only disk")

    app, emg, _ = build(FakeSource.steady("emg"), BrokenStore())
    with started(app):
        assert wait_for(lambda: emg.info is not None)
        with pytest.raises(RuntimeError, match="could not open a recording session: read-only"):
            app.start_recording()
        assert app.ctx.state is State.IDLE and app.ctx.recording is None


def test_training_data_from_a_session_without_complete_trials_explains_itself():
    store = FakeStore()
    app, emg, pipeline = build(FakeSource.steady("emg", chunks=3), store)  # 30 samples
    with started(app):
        assert wait_for(lambda: emg.health.samples == 30)
        app.start_recording()
        summary = app.stop_recording()
    session = store.read(summary.location)
    session.labels.add(LabelEvent(0.0, 1))  # every sample labelled, but the window is 10 long
    with pytest.raises(ValueError, match="no complete .*window: record longer .*trials"):
        pipeline.training_data(session)


def test_a_bad_model_file_keeps_the_current_model(tmp_path):
    app, _, pipeline = build(FakeSource.steady("emg"))
    pipeline.use_model(FakeModel)
    data = TrainingData(np.eye(2), np.array([0, 1]), CLASSES)
    pipeline.start_training(data)
    assert pipeline.wait_training(5.0)
    trained = pipeline.model
    good, bad = tmp_path / "model.json", tmp_path / "bad.json"
    pipeline.save_model(good)
    bad.write_text("{}")
    with pytest.raises(ModelFileError):
        pipeline.load_model(bad)
    assert pipeline.model is trained
    pipeline.load_model(good)
    assert pipeline.model is not trained
    assert pipeline.model.predict(np.array([1.0, 0.0])).argmax() == 0


def test_a_mark_while_the_session_closes_is_refused_not_added_to_the_closed_session():
    closing, release = threading.Event(), threading.Event()

    class SlowClosingStore(FakeStore):
        def open_session(self, meta):
            session = super().open_session(meta)
            close = session.close

            def slow_close():
                closing.set()
                release.wait(5)
                return close()

            session.close = slow_close
            return session

    store = SlowClosingStore()
    app, _, _ = build(FakeSource.steady("emg"), store)
    with started(app):
        assert wait_for(lambda: app.recording_refusal() is None)
        app.start_recording()
        app.mark("rest")
        stopper, errors = run_in_thread(app.stop_recording)
        assert closing.wait(5)
        threading.Timer(0.2, release.set).start()
        with pytest.raises(TransitionRefused, match="start recording first"):
            app.mark("fist")
        stopper.join(5)
        assert not errors
        assert [e.class_index for e in store.opened[0].labels.events] == [0]
