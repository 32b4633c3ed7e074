"""The training report in the window (#15): its view-model (accuracy next to chance, red with a
warning near chance, heat map shares, live learning curve) and its drawing with ImPlot in a pure
ImGui context (no window, no GPU)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")

from imgui_bundle import imgui, implot  # noqa: E402

from hexloop.adapters.imgui.viewmodels.training import training_report_view  # noqa: E402
from hexloop.adapters.imgui.views.training import draw_training_report  # noqa: E402
from hexloop.domain.pipeline import TrainingProgress  # noqa: E402
from hexloop.domain.report import LearningCurve, TrainingReport  # noqa: E402

CURVE = LearningCurve().add(1, 1.2, 1.3).add(2, 0.8, 0.9).add(3, 0.5, 0.7)


class FakePipeline:
    def __init__(self, report=None, curve=None, progress=None):
        self.report, self.progress = report, progress
        self.curve = curve if curve is not None else ("", LearningCurve())


def report(accuracy=0.87, chance=0.25):
    confusion = ((9, 1, 0, 0), (0, 10, 0, 0), (2, 0, 8, 0), (0, 0, 1, 9))
    return TrainingReport(("rest", "fist", "flexion", "extension"), accuracy=accuracy,
                          chance=chance, confusion=confusion, precision=(0.8, 0.9, 0.9, 1.0),
                          recall=(0.9, 1.0, 0.8, 0.9), folds=5, trials=20, windows=40,
                          curve=CURVE)


def test_after_training_the_panel_shows_accuracy_next_to_chance_and_the_heat_map():
    view = training_report_view(FakePipeline(report()), training=False)
    assert view.summary.text == "cross-validated accuracy 87 % (chance 25 %)"
    assert view.summary.tone == "green" and view.warning is None
    assert view.heat_map.shares.shape == (4, 4)
    np.testing.assert_allclose(view.heat_map.shares.sum(axis=1), 1.0)
    assert view.heat_map.shares[2, 0] == pytest.approx(0.2)
    assert view.curve.epochs.tolist() == [1, 2, 3] and "fist: precision 90 %" in view.details


def test_near_chance_is_red_with_the_warning_in_plain_words():
    view = training_report_view(FakePipeline(report(accuracy=0.28)), training=False)
    assert view.summary.tone == "red"
    assert "the classes did not differ in the recording" in view.warning.text


def test_while_training_the_curve_is_the_running_fit_and_no_old_matrix_shows():
    live = FakePipeline(report(), curve=("fold 2 of 5", CURVE),
                        progress=TrainingProgress(2, 10, done=0.3))
    view = training_report_view(live, training=True)
    assert view.heat_map is None and view.curve.title == "learning curve, fold 2 of 5"
    assert view.summary.text == "training: fold 2 of 5 (30%)"
    assert training_report_view(FakePipeline(), training=False) is None


@pytest.fixture
def context():
    ctx, plots = imgui.create_context(), implot.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)
    io.display_size = (1280, 800)
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    try:
        yield io
    finally:
        implot.destroy_context(plots)
        imgui.destroy_context(ctx)


@pytest.mark.parametrize("training", [False, True])
def test_the_report_draws_its_heat_map_and_curve(context, training):
    pipeline = FakePipeline(report(accuracy=0.3), curve=("final model", CURVE),
                            progress=TrainingProgress(3, 3))
    view = training_report_view(pipeline, training)
    for _ in range(2):  # the second frame lays out what the first measured
        context.delta_time = 1 / 60
        imgui.new_frame()
        imgui.set_next_window_pos((0, 0))
        imgui.set_next_window_size((900, 700))
        imgui.begin("pipeline")
        draw_training_report(view, "p")
        imgui.end()
        imgui.render()
    assert imgui.get_draw_data().total_vtx_count > 100


def test_the_pipeline_panel_carries_the_report_of_a_real_pipeline():
    from hexloop.adapters.fakes import FakeModel, FakeStore
    from hexloop.adapters.imgui.state import gui_state
    from hexloop.adapters.imgui.viewmodels.pipeline import pipeline_view
    from hexloop.application import App, Pipeline

    app = App("t", store=FakeStore(), class_names=report().class_names)
    pipeline = Pipeline(app)
    pipeline.use_model(FakeModel)
    assert pipeline_view(app.ctx, gui_state(app.ctx), pipeline).report is None
    pipeline.report = report(accuracy=0.3)  # what a finished training leaves
    view = pipeline_view(app.ctx, gui_state(app.ctx), pipeline).report
    assert view.summary.text == "cross-validated accuracy 30 % (chance 25 %)"
    assert view.summary.tone == "red" and "check the cues" in view.warning.text
