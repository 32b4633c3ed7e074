"""The cue buttons and the Predictions panel on a real App (#15): while predicting the buttons
switch the simulated gesture without labelling; before predicting the panel says why in words."""

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")  # the package's __init__ needs it; nothing here draws

from hexloop.adapters.fakes import FakeModel, FakeStore  # noqa: E402
from hexloop.adapters.imgui.state import GuiState  # noqa: E402
from hexloop.adapters.imgui.state import Tasks as GuiTasks  # noqa: E402
from hexloop.adapters.imgui.viewmodels import log as vl  # noqa: E402
from hexloop.adapters.imgui.viewmodels import pipeline as vp  # noqa: E402
from hexloop.adapters.imgui.viewmodels import predictions as vpr  # noqa: E402
from hexloop.adapters.imgui.viewmodels import recording as vr  # noqa: E402
from hexloop.adapters.simulated import SimulatedSource  # noqa: E402
from hexloop.application import App, Pipeline, Stream  # noqa: E402
from hexloop.domain import features  # noqa: E402
from hexloop.domain.pipeline import TrainingData, TrainingJob  # noqa: E402
from tests.helpers import started, wait_for  # noqa: E402

CLASSES = ("rest", "fist")
pytestmark = pytest.mark.timeout(30)


class Tasks:
    errors: dict = {}

    def busy(self, name):
        return False


def build():
    app = App("gui-cues", store=FakeStore(), class_names=CLASSES)
    source = SimulatedSource(channels=2, rate=500.0, class_names=CLASSES)
    app.streams(Stream("emg", source, window_ms=100, buffer_ms=1000))
    pipeline = Pipeline(app, predict_hz=20.0)
    pipeline.extract(lambda w: features.rms(w["emg"]))
    pipeline.use_model(FakeModel)
    return app, source, pipeline


def test_while_predicting_cue_buttons_switch_the_gesture_without_labelling():
    app, source, pipeline = build()
    gui = GuiState(tasks=Tasks())
    (view,) = vpr.prediction_views(app.ctx)
    assert view.waiting.startswith("No model yet: record labelled trials")
    model = FakeModel()
    model.fit(TrainingData(np.eye(2) * 1e-5, np.array([0, 1]), CLASSES), TrainingJob())
    pipeline.model = model
    (view,) = vpr.prediction_views(app.ctx)
    assert view.waiting == "The model is ready: press Start predicting to see live predictions."
    with started(app):
        assert wait_for(lambda: app.ctx.streams["emg"].info is not None, 5)
        idle = vr.recording_view(app.ctx, gui)
        assert all("press Record first" in b.refusal for b in idle.classes)
        pipeline.start_predicting()
        view = vr.recording_view(app.ctx, gui)
        assert all(b.enabled for b in view.classes)
        vr.apply_recording(app.ctx, gui, vr.Mark("fist"))
        assert source.simulator.current_class == 1
        assert app.ctx.labels is None  # not recording: nothing labelled
        assert vr.recording_view(app.ctx, gui).active_class == 1
        assert vl.status_view(app.ctx, 0).state == "PREDICTING"
        app.start_recording()  # Record while predicting: an online session
        assert vl.status_view(app.ctx, 0).state == "PREDICTING + REC"
        vr.apply_recording(app.ctx, gui, vr.Mark("rest"))
        assert [e.class_index for e in app.ctx.labels.events] == [0]
        assert source.simulator.current_class == 0
        # Stop predicting closes the online session off the frame, as Stop does
        gui = GuiState(tasks=GuiTasks())
        vp.apply_pipeline(app.ctx, gui, vp.StopPredicting("pipeline"))
        assert gui.tasks.join(5) == []
        assert app.ctx.recording is None and "predictions" in app.ctx.last_summary.samples
        assert app.ctx.state.value == "idle"
