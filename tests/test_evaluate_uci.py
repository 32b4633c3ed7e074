"""The worked example of docs/signal-path.md on the UCI EMG gestures data: train on series 1 with
the setup's conditioning, then `hexloop evaluate` series 2 through the online path."""

from pathlib import Path

import numpy as np
import pytest
from shared_data import UCI_EMG

pytest.importorskip("torch")
pytest.importorskip("scipy")

from hexloop.application.composition.build import build  # noqa: E402
from hexloop.application.composition.cli import main  # noqa: E402
from hexloop.application.composition.evaluate import read_session  # noqa: E402
from hexloop.application.composition.labsetup import load_setup  # noqa: E402
from hexloop.application.composition.registry import Registry  # noqa: E402
from hexloop.application.evaluate import evaluate  # noqa: E402
from hexloop.domain.pipeline import TrainingData, TrainingJob  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUBJECT = UCI_EMG / "01"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    if not SUBJECT.is_dir():
        pytest.skip(f"the UCI EMG data set is not at {SUBJECT}")
    tmp = tmp_path_factory.mktemp("uci")
    (series1,) = SUBJECT.glob("1_raw_data_*.txt")
    (series2,) = SUBJECT.glob("2_raw_data_*.txt")
    text = (ROOT / "examples" / "uci-emg.toml").read_text()
    text = text.replace('"../shared/data/uci-emg-gestures/01/2_raw_data_13-13_22.03.16.txt"',
                        f'"{series2}"')
    setup_path = tmp / "uci-emg.toml"
    setup_path.write_text(text)
    registry = Registry.from_entry_points()
    setup = load_setup(setup_path, registry)
    built = build(setup, registry, headless=True)
    pipeline, streams = built.pipeline, setup.section("streams")
    train = read_session(str(series1), built, registry, streams)
    windows = pipeline.training_data(train)  # conditioned exactly as online
    gestures = list(setup.app["class_names"])
    index = {windows.names.index(g): k for k, g in enumerate(gestures)}
    keep = np.isin(windows.y, list(index))
    windows = TrainingData(windows.x[keep], np.array([index[int(c)] for c in windows.y[keep]]),
                           gestures)
    model = built.model_factory()
    model.fit(windows, TrainingJob())
    model_path = tmp / "uci-01.model"
    model.save(model_path)
    pipeline.model = model
    test = read_session(str(series2), built, registry, streams)
    return setup_path, model_path, series2, evaluate(test, pipeline), tmp


def test_the_worked_example_decodes_the_six_gestures(example):
    _, _, _, result, _ = example
    assert result.class_names == ("rest", "fist", "flexion", "extension", "radial", "ulnar")
    assert result.accuracy() > 0.7
    assert result.accuracy(0) > 0.7  # after the majority vote
    latencies = [x for x in result.latencies(0) if x is not None]
    assert len(latencies) >= len(result.cues) - 2 and np.median(latencies) < 1.0


def test_hexloop_evaluate_prints_the_report_and_saves_the_prediction_stream(example, capsys):
    setup_path, model_path, series2, result, tmp = example
    out = tmp / "predictions.csv"
    assert main(["evaluate", str(series2), "--setup", str(setup_path), "--model",
                 str(model_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"online accuracy {result.accuracy():.1%}" in printed
    assert len(out.read_text().splitlines()) == len(result.rows) + 1


def test_hexloop_evaluate_says_what_is_wrong(example, tmp_path, capsys):
    setup_path, model_path, series2, _, _ = example
    assert main(["evaluate", str(tmp_path / "absent"), "--setup", str(setup_path), "--model",
                 str(model_path)]) == 2
    assert "no such session" in capsys.readouterr().err
    assert main(["evaluate", str(series2), "--setup", str(setup_path), "--model",
                 str(tmp_path / "nope.model")]) == 2
    assert "cannot load the model" in capsys.readouterr().err


def test_the_predictions_of_a_text_export_go_to_the_current_folder(
        example, tmp_path, monkeypatch, capsys):
    setup_path, model_path, series2, _, _ = example
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(series2), "--setup", str(setup_path), "--model",
                 str(model_path)]) == 0
    saved = tmp_path / (series2.name + ".predictions.csv")
    assert saved.is_file() and f"predictions saved to {saved.name}" in capsys.readouterr().out
    assert not (series2.parent / saved.name).exists()  # the data set is left as it was
