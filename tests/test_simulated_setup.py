"""examples/simulated.toml rehearses the real thing (#15): the cue buttons drive the simulated
source, so a model trained on a cued recording beats chance clearly, online too."""

import uuid
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("zarr")
pytest.importorskip("pylsl")

from hexloop.application.composition.build import build  # noqa: E402
from hexloop.application.composition.labsetup import load_setup  # noqa: E402
from hexloop.application.composition.registry import Registry  # noqa: E402
from tests.helpers import started, wait_for  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated.toml"
TRIAL_S = 0.4
ROUNDS = 2

pytestmark = pytest.mark.timeout(120)


def setup_file(tmp_path: Path, extra_options: str = "") -> Path:
    text = EXAMPLE.read_text()
    text = text.replace('"emg-gestures-predictions"', f'"sim-{uuid.uuid4().hex[:8]}-predictions"')
    text = text.replace('"recordings"', f'"{tmp_path / "recordings"}"')
    text = text.replace("epochs = 150", "epochs = 40")
    if extra_options:
        text = text.replace("rate = 2048.0 }", f"rate = 2048.0, {extra_options} }}")
    path = tmp_path / "simulated.toml"
    path.write_text(text)
    return path


def newest_sample(app) -> float:
    _, ts = app.ctx.streams["emg"].get_window()
    return float(ts[-1]) if ts.size else float("-inf")


def cue_rounds(app, classes, rounds=ROUNDS, trial_s=TRIAL_S):
    """Press each class's cue button in turn, as a user would, `rounds` times; each trial lasts
    until the stream holds `trial_s` of samples after its cue (not wall time, which a busy
    machine stretches for the acquisition thread)."""
    for _ in range(rounds):
        for name in classes:
            onset = app.clock.now()
            app.cue(name)
            assert wait_for(lambda t=onset: newest_sample(app) >= t + trial_s, 10)


def test_simulated_setup_with_cues_trains_a_model_that_beats_chance(tmp_path):
    registry = Registry.from_entry_points()
    built = build(load_setup(setup_file(tmp_path), registry), registry, headless=True)
    app, pipeline = built.app, built.pipeline
    classes = app.class_names
    with started(app):
        assert wait_for(lambda: app.recording_refusal() is None, 10), app.recording_refusal()
        app.start_recording(slug="s01")
        cue_rounds(app, classes)
        summary = app.stop_recording()
        with app.store.read(summary.location) as session:
            assert session.labels.counts(session.end_time) == dict.fromkeys(classes, ROUNDS)
            data = pipeline.training_data(session)
        pipeline.start_training(data)
        assert pipeline.wait_training(90), "training did not finish"
        assert pipeline.model is not None, pipeline.progress

        pipeline.start_predicting(record=True, slug="s01-online")
        assert wait_for(lambda: pipeline.predictions.count > 0, 10)
        cue_rounds(app, classes)  # not a label click more: the same buttons, while predicting
        pipeline.stop_predicting()
    with app.store.read(app.ctx.last_summary.location) as online:
        score = online.online()
        # a 200 ms window lags the cue: leave out the predictions whose window still holds
        # the previous gesture
        settled = online.online(settle_s=0.2)
    chance = 1 / len(classes)
    assert score.scored > 50
    assert score.accuracy > chance + 0.2, "\n".join(score.lines())
    assert settled.accuracy > chance + 0.5, "\n".join(settled.lines())
    assert score.missed <= 1, "\n".join(score.lines())


def test_follow_cues_false_in_the_setup_leaves_the_simulated_source_alone(tmp_path):
    registry = Registry.from_entry_points()
    built = build(load_setup(setup_file(tmp_path, "follow_cues = false"), registry), registry,
                  headless=True)
    app = built.app
    source = app.ctx.streams["emg"].source
    assert source.follow_cues is False
    with started(app):
        assert wait_for(lambda: app.recording_refusal() is None, 10)
        app.cue("fist")
        assert source.simulator.current_class == 0
