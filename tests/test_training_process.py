"""Training in a child process (training="process"): the same kind of model and report as in a
thread, progress to 1.0, cancel kills the child, a factory the child cannot rebuild is refused."""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeModel, FakeStore
from hexloop.application import App, Pipeline, Stream
from hexloop.application.training_process import check_factory
from hexloop.domain.pipeline import TrainingData
from hexloop.domain.state import State
from tests.helpers import needs_all_extras, wait_for

pytestmark = pytest.mark.timeout(120)

CLASSES = ("rest", "fist", "pinch")


def simulated_data(per_class: int = 4, windows: int = 12) -> TrainingData:
    """Feature rows of three separable classes, `windows` per trial, trials as groups."""
    rng = np.random.default_rng(0)
    xs, ys, groups = [], [], []
    trial = 0
    for _ in range(per_class):
        for k in range(len(CLASSES)):
            xs.append(rng.normal(3.0 * k, 0.5, size=(windows, 6)))
            ys.append(np.full(windows, k))
            groups.append(np.full(windows, trial))
            trial += 1
    return TrainingData(np.concatenate(xs).astype(np.float32), np.concatenate(ys), CLASSES,
                        groups=np.concatenate(groups))


def make_pipeline(factory, training="process"):
    app = App("t", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", source=None, window_ms=200))
    pipeline = Pipeline(app, training=training)
    pipeline.extract(lambda w: w["emg"].mean(axis=1))
    pipeline.use_model(factory)
    pipeline.cv_folds = 3
    pipeline.features_name = "means"
    return pipeline


def train(pipeline, data):
    pipeline.start_training(data)
    assert pipeline.wait_training(90)
    assert pipeline.app.ctx.state is State.IDLE
    return pipeline


def test_a_child_process_trains_the_same_kind_of_model_and_report_as_a_thread():
    data = simulated_data()
    runs = {mode: train(make_pipeline(FakeModel, mode), data) for mode in ("thread", "process")}
    thread, process = runs["thread"], runs["process"]
    assert process.errors == 0, process.progress.message
    assert type(process.model) is type(thread.model) is FakeModel
    assert process.progress.fraction == 1.0 and process.progress.message.startswith("trained")
    a, b = thread.report, process.report
    assert b.validated and (b.folds, b.trials, b.windows) == (a.folds, a.trials, a.windows)
    assert b.confusion == a.confusion and b.accuracy == a.accuracy  # the same deterministic fits
    assert process.model.metadata["setup"] == thread.model.metadata["setup"]
    x = np.asarray(data.x)[:5]
    assert np.allclose([process.model.predict(r) for r in x], [thread.model.predict(r) for r in x])


def test_a_torch_model_trains_in_a_child_process():
    pytest.importorskip("torch")
    from hexloop.adapters.torch import TorchClassifier

    pipeline = train(make_pipeline(functools.partial(TorchClassifier, epochs=3, threads=1)),
                     simulated_data())
    assert pipeline.errors == 0, pipeline.progress.message
    assert isinstance(pipeline.model, TorchClassifier) and pipeline.report.validated
    assert pipeline.curve[0] == "final model" and len(pipeline.curve[1].epochs) == 3
    assert pipeline.progress.fraction == 1.0


class StubbornModel(FakeModel):
    """Writes its process id, reports an epoch and then never looks at cancel: only a kill
    stops it."""

    def __init__(self, pid_file: str = ""):
        super().__init__()
        self.pid_file = pid_file

    def fit(self, data, job):
        with open(self.pid_file, "w") as f:
            f.write(str(os.getpid()))
        job.report(epoch=1, epochs=1000, loss=1.0)
        while True:
            time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancel_kills_the_child_and_keeps_the_previous_model(tmp_path):
    pid_file = tmp_path / "pid"
    pipeline = make_pipeline(functools.partial(StubbornModel, pid_file=str(pid_file)))
    previous = pipeline.model = FakeModel()
    pipeline.start_training(simulated_data())
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=60)
    assert wait_for(lambda: pipeline.progress.epoch == 1, timeout=30)
    pid = int(pid_file.read_text())
    assert alive(pid) and pid != os.getpid()
    pipeline.cancel_training()
    assert pipeline.wait_training(30)
    assert not alive(pid)  # killed, and reaped
    assert pipeline.model is previous and "cancelled" in pipeline.progress.message
    assert pipeline.app.ctx.state is State.IDLE


def local_factory():
    return FakeModel()


@pytest.mark.parametrize(("factory", "says"), [
    (lambda: FakeModel(), "cannot .*lambda"),
    (None, "use_model"),
])
def test_a_factory_the_child_cannot_rebuild_is_refused_before_training(factory, says):
    if factory is None:
        app = App("t", class_names=CLASSES)
        app.streams(Stream("emg", source=None, window_ms=200))
        pipeline = Pipeline(app, training="process")
        pipeline.train(lambda data, job: FakeModel())
    else:
        pipeline = make_pipeline(factory)
    with pytest.raises(TypeError, match=f"training='process'.*{says}"):
        pipeline.start_training(simulated_data())
    assert pipeline.app.ctx.state is State.IDLE  # nothing started


def test_a_factory_from_the_script_run_as_main_is_refused(monkeypatch):
    """It pickles (by reference to __main__) but a child cannot import it from there."""
    monkeypatch.setattr(local_factory, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "local_factory", local_factory, raising=False)
    with pytest.raises(TypeError, match="script run as __main__"):
        check_factory(local_factory)


def test_an_unknown_training_mode_is_refused():
    with pytest.raises(ValueError, match="'thread' or 'process'"):
        Pipeline(App("t"), training="fork")


@needs_all_extras
def test_hexloop_check_validates_the_training_and_output_mode_keys(tmp_path, capsys):
    from hexloop.application.composition import cli

    example = (Path(__file__).parents[1] / "examples" / "simulated.toml").read_text()
    good = tmp_path / "good.toml"
    good.write_text(example.replace("[pipeline]", '[pipeline]\ntraining = "process"')
                    .replace("\nhz = 50\n", '\nhz = 50\nmode = "fixed_rate"\n'))
    assert cli.main(["check", str(good)]) == 0, capsys.readouterr()
    bad = tmp_path / "bad.toml"
    bad.write_text(example.replace("[pipeline]", '[pipeline]\ntraining = "fork"')
                   .replace("\nhz = 50\n", '\nhz = 50\nmode = "sometimes"\n'))
    assert cli.main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert 'pipeline.training: must be one of "thread", "process"' in err
    assert 'outputs[0].mode: must be one of "on_prediction", "fixed_rate", "auto"' in err


def test_hexloop_train_with_a_process_setup_saves_the_model_and_its_report(tmp_path, capsys,
                                                                           monkeypatch):
    """The setup file's model (registry class + options) is rebuilt in the child."""
    pytest.importorskip("torch")
    pytest.importorskip("zarr")
    from hexloop.application import training_process
    from hexloop.application.composition import cli
    from tests.test_cli_train import recorded_session, setup_file

    children = []
    real = training_process.run_in_process

    def counted(*args, **kwargs):
        children.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(training_process, "run_in_process", counted)

    setup = setup_file(tmp_path)
    setup.write_text(setup.read_text().replace("[pipeline]\n", '[pipeline]\ntraining = "process"\n'))
    model = tmp_path / "grip.model"
    rc = cli.main(["train", str(recorded_session(tmp_path)), "--setup", str(setup),
                   "--out", str(model), "--folds", "3"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert len(children) == 1  # trained in a child process
    assert model.exists() and (tmp_path / "report.json").exists()
    assert "confusion" in out.lower() or "accuracy" in out.lower(), out
