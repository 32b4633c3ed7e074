"""Online sessions: recording while predicting, read back with every prediction, every send,
the cues and the model; cues drive simulated sources unless they say follow_cues = false."""

import contextlib
import hashlib
import os
import pathlib
import tempfile

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hexloop.adapters.fakes import FakeModel, FakeStore, FakeTransport
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Output, Pipeline, Stream
from hexloop.domain import features
from hexloop.domain.pipeline import TrainingData, TrainingJob
from hexloop.domain.state import State, TransitionRefused
from tests.helpers import started, wait_for

pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore  # noqa: E402

CLASSES = ("rest", "fist", "flexion")
pytestmark = pytest.mark.timeout(60)


def build(store, sources=None, model=True, tmp_path=None):
    app = App("online", store=store, class_names=CLASSES)
    sources = sources or {"emg": SimulatedSource(channels=4, rate=500.0, class_names=CLASSES)}
    for name, source in sources.items():
        app.streams(Stream(name, source, window_ms=100, buffer_ms=2000))
    pipeline = Pipeline(app, predict_hz=50.0)
    first = next(iter(sources))
    pipeline.extract(lambda w: features.rms(w[first]))
    pipeline.use_model(FakeModel)
    transport = FakeTransport()
    pipeline.outputs.append(Output(transport, hz=50.0, name="hand"))
    if model:  # a model loaded from a file, so the session can name its hash
        fitted = FakeModel()
        x = np.repeat(np.eye(3, 4), 2, axis=0) * 1e-4
        fitted.fit(TrainingData(x, np.array([0, 0, 1, 1, 2, 2]), CLASSES), TrainingJob())
        path = tmp_path / "model.json"
        fitted.save(path)
        pipeline.load_model(path)
    return app, pipeline, transport


def connected(app):
    assert wait_for(lambda: all(s.info is not None for s in app.ctx.streams.values()), 5)


def predictions_in(pipeline, n):
    assert wait_for(lambda: pipeline.predictions.count >= n, 10), "no predictions"


def test_an_online_session_holds_inputs_predictions_sends_cues_and_the_model(tmp_path):
    app, pipeline, transport = build(ZarrStore(tmp_path / "rec"), tmp_path=tmp_path)
    with started(app):
        connected(app)
        location = pipeline.start_predicting(record=True, slug="online")
        assert (app.ctx.state, app.ctx.machine.recording) == (State.PREDICTING, True)
        assert app.recording and location == app.ctx.recording.location
        for k in (1, 2, 0):
            predictions_in(pipeline, pipeline.predictions.count + 5)
            assert app.cue(CLASSES[k]) is not None  # recording: the cue is a label
        predictions_in(pipeline, pipeline.predictions.count + 5)
        pipeline.stop_predicting()
        assert (app.ctx.state, app.ctx.machine.recording) == (State.IDLE, False)
        assert app.ctx.recording is None
        predicted = pipeline.predictions.recent()
        sent = list(transport.sent)
    summary = app.ctx.last_summary
    assert summary.error is None and summary.labels == 3
    with app.store.read(summary.location) as session:
        assert session.stream_names == ("emg", "predictions", "output:hand")
        assert [session.info(n).type for n in session.stream_names] == \
            ["EMG", "Predictions", "Output"]
        assert session.info("predictions").channel_names == CLASSES
        # every prediction, in order, with its input time (all made while the session recorded)
        values, ts = session.data("predictions")
        n = ts.size
        assert n >= 20
        assert ts.tolist() == [p.input_time for p in predicted[:n]]
        assert values.T.tolist() == [[p.values[c] for c in CLASSES] for p in predicted[:n]]
        emg_ts = session.timestamps("emg")
        # on the inputs' clock, within the recorded inputs (give or take the chunk being
        # acquired when the session opened and closed)
        assert emg_ts[0] - 0.1 <= ts[0] and ts[-1] <= emg_ts[-1] + 0.1
        # every send of the output, as sent
        out, out_ts = session.data("output:hand")
        assert out_ts.size >= 10
        assert out_ts.tolist() == [t for _, t in sent[:out_ts.size]]
        assert np.array_equal(out.T, np.array([s for s, _ in sent[:out_ts.size]]))
        # the cues, and the model by its file's hash
        assert [CLASSES[e.class_index] for e in session.labels.events] == \
            ["fist", "flexion", "rest"]
        model = session.meta.extras["online"]["pipelines"][0]["model"]
        digest = hashlib.sha256((tmp_path / "model.json").read_bytes()).hexdigest()
        assert (model["file"], model["sha256"]) == (str(tmp_path / "model.json"), digest)
        assert model["type"].endswith("FakeModel") and model["output_names"] == list(CLASSES)
        score = session.online()
        assert score.scored > 0 and len(score.latencies) == 3
        assert "online   recorded while predicting" in session.summary_text()
        assert session.online("output:hand").scored > 0


def test_record_while_predicting_and_stop_keeps_predicting(tmp_path):
    app, pipeline, _ = build(ZarrStore(tmp_path / "rec"), tmp_path=tmp_path)
    with started(app):
        connected(app)
        pipeline.start_predicting()
        assert app.recording_refusal() is None  # Record is available while predicting
        predictions_in(pipeline, 3)
        app.start_recording(slug="later")
        assert (app.ctx.state, app.ctx.machine.recording) == (State.PREDICTING, True)
        with pytest.raises(TransitionRefused, match="already recording"):
            app.start_recording()  # nothing is recorded twice
        with pytest.raises(TransitionRefused, match="already predicting"):
            pipeline.start_predicting(record=True)
        with pytest.raises(TransitionRefused, match="stop predicting first"):
            pipeline.start_training(TrainingData(np.zeros((2, 4)), np.array([0, 1]), CLASSES))
        event = app.mark("fist")
        predictions_in(pipeline, pipeline.predictions.count + 5)
        summary = app.stop_recording()
        assert (app.ctx.state, app.ctx.machine.recording) == (State.PREDICTING, False)
        count = pipeline.predictions.count
        predictions_in(pipeline, count + 3)  # predicting went on
        assert "rec " not in app.status_line()
    with app.store.read(summary.location) as session:
        assert session.labels.events == (event,)  # one label, once
        assert session.sample_count("predictions") >= 5
        assert "online" in session.meta.extras


def test_record_just_after_start_predicting_waits_for_the_first_predictions_names(tmp_path):
    app, pipeline, _ = build(FakeStore(), tmp_path=tmp_path)
    pipeline.predict(lambda model, x: {f"p_{c}": float(p)
                                       for c, p in zip(CLASSES, model.predict(x))})
    with started(app):
        connected(app)
        pipeline.start_predicting()
        app.start_recording()  # the windows may not be full yet: no prediction so far
        predictions_in(pipeline, pipeline.predictions.count + 5)
        pipeline.stop_predicting()
    session = app.store.read(app.ctx.last_summary.location)
    assert session.meta.stream("predictions").channel_names == ("p_rest", "p_fist", "p_flexion")
    values, _ = session.data("predictions")
    assert values.shape[1] >= 5 and np.isfinite(values).all()


def test_stop_predicting_stops_even_when_the_session_fails_to_close(tmp_path):
    store = FakeStore()

    def open_session(meta, _open=store.open_session):
        session = _open(meta)
        session.close = lambda: (_ for _ in ()).throw(OSError("disk gone"))
        return session

    store.open_session = open_session
    app, pipeline, _ = build(store, tmp_path=tmp_path)
    with started(app):
        connected(app)
        pipeline.start_predicting(record=True)
        with pytest.raises(OSError, match="disk gone"):
            pipeline.stop_predicting()
        assert (app.ctx.state, app.ctx.machine.recording) == (State.IDLE, False)
        assert app.ctx.recording is None and pipeline.online is None


def test_shutdown_closes_an_online_session(tmp_path):
    app, pipeline, _ = build(ZarrStore(tmp_path / "rec"), tmp_path=tmp_path)
    with started(app):
        connected(app)
        pipeline.start_predicting(record=True)
        predictions_in(pipeline, 3)
    assert app.ctx.recording is None and app.ctx.state is State.IDLE
    assert app.ctx.last_summary.samples["predictions"] >= 3


def test_a_store_that_cannot_open_leaves_the_app_idle_and_not_predicting(tmp_path):
    store = FakeStore()
    store.open_session = lambda meta: (_ for _ in ()).throw(OSError("disk full"))
    app, pipeline, _ = build(store, tmp_path=tmp_path)
    with started(app):
        connected(app)
        with pytest.raises(RuntimeError, match="disk full"):
            pipeline.start_predicting(record=True)
        assert (app.ctx.state, app.ctx.machine.recording) == (State.IDLE, False)
        assert pipeline.online is None


def test_a_failing_append_of_predictions_never_stops_predicting(tmp_path):
    store = FakeStore()
    opened = []

    def open_session(meta, _open=store.open_session):
        session = _open(meta)
        inputs = session.append

        def append(stream, data, timestamps):
            if stream != "emg":
                raise OSError("no space left for predictions")
            inputs(stream, data, timestamps)

        session.append = append
        opened.append(session)
        return session

    store.open_session = open_session
    app, pipeline, transport = build(store, tmp_path=tmp_path)
    with started(app):
        connected(app)
        pipeline.start_predicting(record=True)
        predictions_in(pipeline, 10)
        assert wait_for(lambda: len(transport.sent) >= 5, 5)  # the outputs go on sending
        pipeline.stop_predicting()
    errors = [e for e in app.ctx.log.entries() if "no space left" in e.message]
    assert len(errors) == 1 and errors[0].level == "error"  # once, not per prediction
    assert app.ctx.last_summary.samples["emg"] > 0  # the inputs are kept


def test_without_a_store_record_is_refused_with_the_fix(tmp_path):
    app, pipeline, _ = build(None, tmp_path=tmp_path)
    with started(app):
        connected(app)
        with pytest.raises(TransitionRefused, match="no store configured"):
            pipeline.start_predicting(record=True)
        assert app.ctx.state is State.IDLE
        pipeline.start_predicting()  # predicting alone needs no store
        assert app.ctx.state is State.PREDICTING


def test_cues_drive_simulated_sources_unless_they_say_follow_cues_false(tmp_path):
    follows = SimulatedSource(channels=4, rate=500.0, class_names=CLASSES)
    stays = SimulatedSource(channels=4, rate=500.0, class_names=CLASSES, follow_cues=False)
    by_name = SimulatedSource(channels=4, rate=500.0, class_names=("flexion", "rest", "fist"))
    app, pipeline, _ = build(FakeStore(), {"a": follows, "b": stays, "c": by_name},
                             tmp_path=tmp_path)
    with started(app):
        connected(app)
        assert app.cue("fist") is None  # not recording: nothing is labelled
        assert app.ctx.labels is None
        assert follows.simulator.current_class == 1
        assert stays.simulator.current_class == 0
        assert by_name.simulator.current_class == 2  # the source's own "fist"
        pipeline.start_predicting()
        app.cue(2)  # while predicting, cues keep switching the gesture
        assert (follows.simulator.current_class, by_name.simulator.current_class) == (2, 0)
        assert app.cue_class == 2
        pipeline.stop_predicting()
        app.start_recording()
        event = app.cue("rest")  # recording: labelled once, and followed
        assert app.ctx.labels.events == (event,) and follows.simulator.current_class == 0
        app.mark("fist")  # mark drives them too
        assert follows.simulator.current_class == 1 and stays.simulator.current_class == 0
        app.stop_recording()
    with pytest.raises(ValueError, match="unknown class"):
        app.cue("wave")


def test_a_source_that_cannot_follow_a_cue_is_warned_about_once(tmp_path):
    two = SimulatedSource(channels=4, rate=500.0, class_names=("rest", "fist"))
    app, _, _ = build(FakeStore(), {"emg": two}, tmp_path=tmp_path)
    with started(app):
        connected(app)
        app.cue("flexion")  # index 2: the source has no third gesture
        app.cue("flexion")
        assert two.simulator.current_class == 0
    warnings = [e for e in app.ctx.log.entries() if "cannot follow the cue" in e.message]
    assert len(warnings) == 1 and "follow_cues = false" in warnings[0].message


def test_before_predicting_the_pipeline_says_why_there_is_nothing_yet(tmp_path):
    app, pipeline, _ = build(FakeStore(), model=False, tmp_path=tmp_path)
    assert pipeline.waiting_reason().startswith("No model yet")
    app, pipeline, _ = build(FakeStore(), tmp_path=tmp_path)
    assert pipeline.waiting_reason().startswith("The model is ready: press Start predicting")


def test_follow_cues_must_be_a_bool():
    with pytest.raises(ValueError, match="follow_cues must be true or false"):
        SimulatedSource(follow_cues="no")


def test_hexloop_run_with_a_model_and_record_saves_an_online_session(tmp_path, monkeypatch,
                                                                     capsys):
    from hexloop.application.composition import cli
    from hexloop.application.composition.registry import Registry
    from hexloop.domain.features import emg_features

    def registry():
        r = Registry.from_entry_points()
        r.register("model", "fake", FakeModel)
        return r

    monkeypatch.setattr(cli, "_registry", registry)
    size = emg_features(np.zeros((4, 100), np.float32)).size
    model = FakeModel()
    model.fit(TrainingData(np.eye(2, size), np.array([0, 1]), ("rest", "fist")), TrainingJob())
    model.save(tmp_path / "model.json")
    setup = tmp_path / "setup.toml"
    setup.write_text(f"""
[app]
name = "online-cli"
class_names = ["rest", "fist"]

[[streams]]
name = "emg"
source = "simulated"
window_ms = 100
options = {{ channels = 4, rate = 500.0 }}

[store]
adapter = "zarr"
options = {{ base_dir = "{tmp_path / 'rec'}" }}

[model]
adapter = "fake"

[pipeline]
predict_hz = 20
""")
    assert cli.main(["run", str(setup), "--headless", "--duration", "1.5",
                     "--model", str(tmp_path / "model.json"), "--record", "s01"]) == 0
    out = capsys.readouterr().out
    saved = [line for line in out.splitlines() if line.startswith("session saved to ")]
    assert saved, out
    with ZarrStore(tmp_path).read(saved[-1].removeprefix("session saved to ")) as session:
        assert session.sample_count("predictions") > 0
        model_meta = session.meta.extras["online"]["pipelines"][0]["model"]
        assert model_meta["file"] == str(tmp_path / "model.json")


class AppFlag(RuleBasedStateMachine):
    """Any order of Record / Stop / Start predicting (with or without record) / Stop predicting
    / cue on a real App: the recording flag and the open session agree, each session opened
    while predicting declares its prediction streams, and every cue while recording is
    labelled exactly once."""

    def __init__(self):
        super().__init__()
        tmp = tempfile.mkdtemp()
        self.app, self.pipeline, _ = build(FakeStore(), tmp_path=pathlib.Path(tmp))
        self.app.start()
        connected(self.app)
        self.labelled: dict[str, int] = {}  # session location -> labels recorded into it

    def teardown(self):
        self.app.shutdown()

    @rule(record=st.booleans())
    def start_predicting(self, record):
        try:
            location = self.pipeline.start_predicting(record=record)
        except TransitionRefused:
            return
        if record:
            self.labelled[location] = 0

    @rule()
    def stop_predicting(self):
        with contextlib.suppress(TransitionRefused):
            self.pipeline.stop_predicting()

    @rule()
    def start_recording(self):
        with contextlib.suppress(TransitionRefused):
            self.labelled[self.app.start_recording()] = 0

    @rule()
    def stop_recording(self):
        with contextlib.suppress(TransitionRefused):
            self.app.stop_recording()

    @rule(k=st.integers(0, len(CLASSES) - 1))
    def cue(self, k):
        if self.app.cue(k) is not None:
            self.labelled[self.app.ctx.recording.location] += 1

    @invariant()
    def the_flag_is_the_open_session(self):
        app = self.app
        assert app.ctx.machine.recording == (app.ctx.recording is not None)
        if app.ctx.state in (State.IDLE, State.TRAINING):
            assert app.ctx.recording is None
        for location, labels in self.labelled.items():
            session = app.store.sessions.get(location)
            if session is not None:  # closed: every cue labelled once
                assert len(session.labels) == labels
                online = "predictions" in [s.name for s in session.meta.streams]
                assert online == ("online" in session.meta.extras)


TestAppFlag = AppFlag.TestCase
TestAppFlag.settings = settings(max_examples=200 if os.environ.get("HEXLOOP_FULL_FUZZ") else 15,
                                stateful_step_count=12, deadline=None)
