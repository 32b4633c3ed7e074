"""Progress on the CLI (#16): adapters report a fraction, the CLI draws it on stderr (a tqdm bar on
a terminal, an occasional line elsewhere); training reaches 100 %; the data commands show it."""

from __future__ import annotations

import io

import numpy as np
import pytest

from hexloop.application import App, Pipeline, Stream
from hexloop.application.composition.progress import ProgressBar
from hexloop.application.composition.train import train_and_report
from hexloop.domain.pipeline import TrainingData


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gets_a_line_per_quarter_and_no_carriage_returns():
    err = io.StringIO()
    with ProgressBar("packing", stream=err) as bar:
        for k in range(1001):
            bar(k / 1000)
    lines = err.getvalue().splitlines()
    assert lines == ["packing 0%", "packing 25%", "packing 50%", "packing 75%", "packing 100%"]
    assert "\r" not in err.getvalue() and "\x1b" not in err.getvalue()


def test_not_a_terminal_names_each_stage_and_ends_on_the_last_value():
    err = io.StringIO()
    with ProgressBar("training", stream=err) as bar:
        bar(0.1, "fold 1 of 2")
        bar(0.2, "fold 1 of 2")
        bar(0.45, "fold 2 of 2")
        bar(0.6, "fold 2 of 2")
        bar(float("nan"))  # ignored
        bar(5.0, "fold 2 of 2")  # clamped
    assert err.getvalue().splitlines() == ["training 10% fold 1 of 2", "training 45% fold 2 of 2",
                                           "training 60% fold 2 of 2", "training 100% fold 2 of 2"]
    stopped = io.StringIO()
    with ProgressBar("verifying", stream=stopped) as bar:
        bar(0.3)
        bar(0.4)
    assert stopped.getvalue().splitlines() == ["verifying 30%", "verifying 40%"]


def test_a_terminal_gets_a_bar_that_reaches_100():
    pytest.importorskip("tqdm")
    err = Terminal()
    with ProgressBar("importing", stream=err) as bar:
        for k in range(11):
            bar(k / 10)
    text = err.getvalue()
    assert "\r" in text and "importing 100%|" in text
    assert text.rstrip().endswith("]") or "100%" in text.splitlines()[-1]


def train(data, job):
    """A nearest-centroid 'model', reporting progress as a real one does."""
    job.report(epoch=1, epochs=1, loss=0.0)
    return {c: data.x[data.y == c].mean(axis=0) for c in np.unique(data.y)}


def predict(model, features):
    distance = {c: float(np.linalg.norm(features - m)) for c, m in model.items()}
    return {name: -distance.get(i, np.inf) for i, name in enumerate(("rest", "fist"))}


@pytest.mark.parametrize("tty", [False, True])
def test_training_progress_reaches_100_on_the_cli(tty):
    app = App("progress", class_names=("rest", "fist"))
    app.streams(Stream("emg", source=None, window_ms=100))
    pipeline = Pipeline(app)
    pipeline.extract(lambda w: w["emg"].mean(axis=1))
    pipeline.train(train)
    pipeline.predict(predict)
    pipeline.cv_folds = 3
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 2)) + y[:, None] * 4.0
    data = TrainingData(X, y, ("rest", "fist"), groups=np.repeat(np.arange(12), 5))
    out, err = io.StringIO(), (Terminal() if tty else io.StringIO())
    assert train_and_report(pipeline, data, out=out, err=err)
    assert pipeline.progress.fraction == 1.0
    text = err.getvalue()
    if tty:
        assert "training 100%|" in text
    else:
        assert text.splitlines()[-1] == "training 100%"
        assert "\r" not in text
    assert "cross-validated accuracy" in out.getvalue()


def recorded_folder(base):
    """A small closed session left as a folder (as a crash before packing leaves it)."""
    pytest.importorskip("zarr")
    from hexloop.adapters.zarr import ZarrStore
    from hexloop.domain.labels import LabelEvent
    from hexloop.domain.session import SessionMeta
    from hexloop.domain.streams import StreamInfo

    session = ZarrStore(base, chunk_seconds=0.1).open_session(
        SessionMeta("progress", [StreamInfo("emg", 2, 100.0)], class_names=("rest", "fist")))
    session.append("emg", np.ones((300, 2)), 10.0 + np.arange(300) / 100.0)
    session.add_label(LabelEvent(10.5, 1))
    return session.close(pack=False).location


def test_recover_verify_and_export_show_progress_lines_when_stderr_is_not_a_terminal(
        tmp_path, capsys):
    from hexloop.application.composition.cli import main

    folder = recorded_folder(tmp_path)
    assert main(["recover", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[-1] == "packing 100%" and "\r" not in err
    assert out.strip() and not out.startswith("\n")  # the result, not glued to a bar's line
    archive = next(tmp_path.glob("*.session.zip"))
    assert main(["inspect", "--verify", str(archive)]) == 0
    err = capsys.readouterr().err
    percents = [int(line.removeprefix("verifying ").rstrip("%")) for line in err.splitlines()]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)
    assert 3 <= len(percents) <= 6  # occasional lines, not one per block
    pytest.importorskip("mne")
    assert main(["export", str(archive), "--format", "fif", "--out", str(tmp_path / "fif")]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "exporting 100%" and "\r" not in err


def test_each_run_draws_one_bar_per_packing():
    from hexloop.application.composition.progress import EachRun

    err = io.StringIO()
    packing = EachRun("packing", stream=err)
    for _ in range(2):  # two sessions recorded in one run, each packed
        for k in range(5):
            packing(k / 4)
    packing(0.0)
    packing(0.1)  # a third one cut short: close() writes where it got to
    packing.close()
    assert err.getvalue().splitlines() == [
        *["packing 0%", "packing 25%", "packing 50%", "packing 75%", "packing 100%"] * 2,
        "packing 0%", "packing 10%"]


def test_hexloop_run_record_shows_the_packing_of_the_session(tmp_path, capsys):
    pytest.importorskip("zarr")
    from hexloop.application.composition.cli import main

    setup = tmp_path / "rec.toml"
    setup.write_text(f'[app]\nname = "packing"\n\n[[streams]]\nname = "emg"\n'
                     f'source = "simulated"\noptions = {{ channels = 2, rate = 200.0 }}\n\n'
                     f'[store]\nadapter = "zarr"\noptions = {{ base_dir = "{tmp_path / "rec"}" }}\n')
    assert main(["run", str(setup), "--headless", "--duration", "1.5", "--record", "pk"]) == 0
    out, err = capsys.readouterr()
    assert "session saved to" in out
    assert "packing 100%" in err.splitlines() and "\r" not in err
