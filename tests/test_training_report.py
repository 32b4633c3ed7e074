"""Training reports (#15): a real torch training on simulated EMG cross-validated by trial, the
report beside the saved model (report.json, report.png), a model that learnt nothing flagged
near chance, progress reaching 1.0, cancelling mid-run, and a model for another setup refused."""

import functools
import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("torch")

from helpers import wait_for  # noqa: E402

from hexloop.adapters.fakes import FakeStore  # noqa: E402
from hexloop.adapters.torch import TorchClassifier  # noqa: E402
from hexloop.application import App, Pipeline, Stream  # noqa: E402
from hexloop.application.training import run_training  # noqa: E402
from hexloop.domain.features import emg_features  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.pipeline import TrainingCancelled, TrainingJob  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.simulation import EmgSimulator  # noqa: E402
from hexloop.domain.state import State  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from hexloop.ports import ModelFileError  # noqa: E402

CLASSES = ("rest", "fist", "flexion", "extension")
RATE = 500.0


def recorded(store, follow=True, per_class=3, seed=0):
    """One-second cued trials in random order; the simulated muscle follows the cue unless not
    `follow` (the bug in #15: cues recorded, signal unchanged)."""
    sim = EmgSimulator(8, RATE, CLASSES, seed=seed)
    rec = store.open_session(SessionMeta("t", (StreamInfo("emg", 8, RATE),), class_names=CLASSES))
    order = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(CLASSES)), per_class))
    n, start = int(RATE), 0
    for k in order:
        if follow:
            sim.set_class(int(k))
        rec.add_label(LabelEvent(start / RATE, int(k)))
        rec.append("emg", sim.generate(n), (start + np.arange(n)) / RATE)
        start += n
    return store.read(rec.close().location)


def make_pipeline(class_names=CLASSES, features="emg_features", window_ms=200):
    app = App("t", store=FakeStore(), class_names=class_names)
    app.streams(Stream("emg", source=None, window_ms=window_ms))
    pipeline = Pipeline(app)
    pipeline.extract(lambda w: emg_features(w["emg"]).ravel())
    pipeline.use_model(functools.partial(TorchClassifier, epochs=5, threads=1))
    pipeline.cv_folds = 3
    pipeline.features_name = features
    return pipeline


def trained(pipeline, follow=True):
    data = pipeline.training_data(recorded(pipeline.app.store, follow), step_ms=100)
    pipeline.start_training(data)
    assert pipeline.wait_training(120)
    assert pipeline.app.ctx.state is State.IDLE
    return data


@pytest.fixture(scope="module")
def good():
    pipeline = make_pipeline()
    data = trained(pipeline)
    return pipeline, data


def test_training_reports_accuracy_on_held_out_trials_far_above_chance(good):
    pipeline, data = good
    report = pipeline.report
    assert report.validated and report.accuracy > 0.8 and not report.near_chance
    assert report.chance == pytest.approx(np.bincount(data.y).max() / len(data))
    assert report.folds == 3 and report.trials == np.unique(data.groups).size
    assert np.sum(report.confusion) == len(data)  # every window scored once, held out
    assert np.array_equal(np.sum(report.confusion, axis=1), np.bincount(data.y, minlength=4))
    assert len(report.precision) == len(report.recall) == len(CLASSES)
    curve = report.curve
    assert len(curve.epochs) >= 2 and len(curve.train_loss) == len(curve.val_loss)
    assert np.isfinite(curve.val_loss).all()
    assert pipeline.progress.fraction == 1.0
    assert "cross-validated accuracy" in pipeline.progress.message
    line = pipeline.app.status_line()
    assert f"cross-validated accuracy {100 * report.accuracy:.0f} %" in line
    assert f"(chance {100 * report.chance:.0f} %)" in line and "NEAR CHANCE" not in line


def test_saving_writes_report_json_and_png_beside_the_model(good, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    from hexloop.adapters.matplotlib import FIGURE_PIXELS
    from hexloop.application.composition.build import draw_report

    pipeline, data = good
    pipeline.report_figure = draw_report
    path = tmp_path / "grip.model"
    try:
        pipeline.save_model(path)
    finally:
        pipeline.report_figure = None
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["cross_validated_accuracy"] == pytest.approx(pipeline.report.accuracy)
    assert doc["confusion_matrix"] == [list(row) for row in pipeline.report.confusion]
    assert doc["class_names"] == list(CLASSES) and doc["chance_rule"].startswith("majority")
    assert len(doc["learning_curve"]["train_loss"]) == len(pipeline.report.curve.epochs)
    image = imread(tmp_path / "report.png")
    assert image.shape[:2] == (FIGURE_PIXELS[1], FIGURE_PIXELS[0])
    assert image[..., :3].std() > 0.05  # something was drawn

    with zipfile.ZipFile(path) as zf:  # the model file carries the report and the setup
        header = json.loads(zf.read("header.json"))
    setup = header["metadata"]["setup"]
    assert setup["class_names"] == list(CLASSES) and setup["features"] == "emg_features"
    assert setup["streams"] == [{"name": "emg", "window_ms": 200.0}]
    assert setup["conditioning"] == {"emg": []}
    assert header["metadata"]["report"]["summary"] == pipeline.report.summary()

    same = make_pipeline()
    same.load_model(path)
    assert same.report.summary() == pipeline.report.summary()
    x = data.x[0]
    np.testing.assert_allclose(same.model.predict(x), pipeline.model.predict(x))


@pytest.mark.parametrize("change, named", [
    (dict(class_names=("rest", "fist", "pinch", "point")), "class names"),
    (dict(features="mine:rms"), "feature function: the model was trained for 'emg_features'"),
    (dict(window_ms=300), "input streams"),
])
def test_a_model_for_another_setup_is_refused_saying_what_differs(good, tmp_path, change, named):
    pipeline, _ = good
    path = tmp_path / "m.model"
    pipeline.save_model(path)
    other = make_pipeline(**change)
    with pytest.raises(ValueError, match="trained for another setup") as e:
        other.load_model(path)
    assert named in str(e.value)
    assert other.model is None  # nothing replaced


def test_a_model_file_without_a_report_still_loads(good, tmp_path):
    pipeline, _ = good
    path, old = tmp_path / "new.model", tmp_path / "old.model"
    pipeline.save_model(path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            blob = src.read(item)
            if item.filename == "header.json":
                header = json.loads(blob)
                del header["metadata"]  # as saved before #15
                blob = json.dumps(header).encode()
            dst.writestr(item, blob)
    other = make_pipeline(class_names=("a", "b", "c", "d"))  # not checked: nothing recorded
    other.load_model(old)
    assert other.report is None and other.model.metadata == {}
    with pytest.raises(ModelFileError):  # still checked for tampering
        TorchClassifier().load(tmp_path / "missing.model")


def test_a_recording_whose_classes_do_not_differ_is_reported_near_chance():
    pipeline = make_pipeline()
    trained(pipeline, follow=False)
    report = pipeline.report
    assert report.near_chance and report.accuracy < report.chance + 0.10
    warnings = [e.message for e in pipeline.app.ctx.log.since(0)[0] if e.level == "warning"]
    assert any("the classes did not differ in the recording" in w for w in warnings)
    assert "NEAR CHANCE" in pipeline.app.status_line()


def test_progress_covers_every_fold_and_the_final_model_and_reaches_one(good):
    pipeline, data = good
    seen = []
    job = TrainingJob(on_progress=lambda p: seen.append((p.fraction, p.stage)))
    model, report = run_training(pipeline._train, pipeline._predict, data, job, folds=3)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = list(dict.fromkeys(stage for _, stage in seen if stage))
    assert stages == ["fold 1 of 3", "fold 2 of 3", "fold 3 of 3", "final model"]
    assert report.folds == 3 and model is not None


def test_cancelling_during_cross_validation_keeps_the_previous_model(good):
    pipeline, data = good
    previous, previous_report = pipeline.model, pipeline.report
    calls = []
    train = pipeline._train

    def slow_second_fold(d, job):
        calls.append(len(d))
        if len(calls) == 2:  # in the middle of the run: fold 2 of 3
            pipeline.cancel_training()
        return train(d, job)

    pipeline.train(slow_second_fold)
    try:
        pipeline.start_training(data)
        assert pipeline.wait_training(120)
    finally:
        pipeline.train(train)
    assert len(calls) == 2  # no third fold, no final model
    assert pipeline.model is previous and pipeline.report is previous_report
    assert pipeline.progress.message.startswith("cancelled")
    assert 0 < pipeline.progress.fraction < 1
    assert wait_for(lambda: pipeline.app.ctx.state is State.IDLE)


def test_too_few_trials_train_a_model_and_say_why_there_is_no_accuracy():
    pipeline = make_pipeline()
    data = pipeline.training_data(recorded(pipeline.app.store, per_class=1), step_ms=100)
    subset = data.subset(np.flatnonzero(np.isin(data.groups, np.unique(data.groups)[:1])))
    with pytest.raises(ValueError):
        TorchClassifier(epochs=1).fit(subset, TrainingJob())  # one class: nothing to learn
    pipeline.cv_folds = 1
    pipeline.start_training(data)
    assert pipeline.wait_training(120)
    assert pipeline.model is not None and not pipeline.report.validated
    assert pipeline.report.summary() == ("no cross-validated accuracy: cross-validation is off "
                                         "(cv_folds < 2)")


def test_a_cancel_reaches_the_fit_that_is_running(good):
    pipeline, data = good
    job = TrainingJob()

    def cancel_in_fold_two(progress):
        if progress.stage == "fold 2 of 3":
            job.cancel()

    job._on_progress = cancel_in_fold_two
    with pytest.raises(TrainingCancelled):
        run_training(pipeline._train, pipeline._predict, data, job, folds=3)
    assert job.progress.stage == "fold 2 of 3" and job.progress.fraction < 0.5


def test_without_matplotlib_the_model_and_report_json_are_still_saved(good, tmp_path):
    pipeline, _ = good

    def no_matplotlib(report, path):
        raise ImportError('report.png needs matplotlib; install it with: pip install '
                          '"hexloop[report]"')

    pipeline.report_figure = no_matplotlib
    try:
        pipeline.save_model(tmp_path / "m.model")
    finally:
        pipeline.report_figure = None
    assert (tmp_path / "m.model").exists() and (tmp_path / "report.json").exists()
    assert not (tmp_path / "report.png").exists()
    warnings = [e.message for e in pipeline.app.ctx.log.since(0)[0] if e.level == "warning"]
    assert any('pip install "hexloop[report]"' in w for w in warnings)


class Centroids:
    """A model that is no Model port: nearest class mean, from a user's @pipeline.train."""

    def __init__(self, data):
        x = np.asarray(data.x).reshape(len(data.x), -1)
        self.means = np.stack([x[data.y == k].mean(axis=0) if (data.y == k).any()
                               else np.full(x.shape[1], np.inf) for k in range(len(data.names))])

    def scores(self, features):
        return -np.linalg.norm(self.means - np.ravel(features), axis=1)


@pytest.mark.parametrize("keys, validated", [(lambda c: c, True), (lambda c: f"p_{c}", False)])
def test_any_model_is_cross_validated_through_the_pipelines_predict(keys, validated):
    pipeline = make_pipeline()
    pipeline.train(lambda data, job: Centroids(data))
    pipeline.predict(lambda m, f: {keys(c): s for c, s in zip(CLASSES, m.scores(f))})
    trained(pipeline)
    assert pipeline.report.validated is validated
    if validated:
        assert pipeline.report.accuracy > 0.8
    else:  # the predict names no class: the report says why there is no accuracy
        assert "not one value per class" in pipeline.report.note


def test_a_predict_that_renames_a_model_ports_outputs_is_still_cross_validated():
    pipeline = make_pipeline()  # like the demo: p_rest, p_fist, ... from a TorchClassifier
    pipeline.predict(lambda m, f: {f"p_{c}": v for c, v in zip(m.output_names, m.predict(f))})
    trained(pipeline)
    assert pipeline.report.validated and pipeline.report.accuracy > 0.8


def test_a_streams_conditioning_chain_is_recorded_and_a_different_one_refused(good, tmp_path):
    from hexloop.application.conditioning import StreamConditioning

    pipeline, data = good
    chain = [{"type": "bandpass", "low": 20, "high": 200}]
    conditioned = make_pipeline()
    conditioned.app.ctx.streams["emg"].conditioning = StreamConditioning(chain)
    conditioned.start_training(data)
    assert conditioned.wait_training(120)
    assert conditioned.report.setup["conditioning"] == {
        "emg": [{"type": "bandpass", "low": 20.0, "high": 200.0, "order": 4}]}
    path = tmp_path / "m.model"
    conditioned.save_model(path)
    with pytest.raises(ValueError, match="conditioning of stream 'emg': the model was trained "
                                         "on .*'bandpass'.*, this setup has none"):
        make_pipeline().load_model(path)  # the same setup without the filter
