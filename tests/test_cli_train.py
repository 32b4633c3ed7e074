"""`hexloop train` prints the training report with its confusion matrix and saves the model
with report.json and report.png; `hexloop run --model` refuses a model trained for another
setup, saying what differs (#15)."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore  # noqa: E402
from hexloop.application.composition import cli  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.simulation import EmgSimulator  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

CLASSES = ("rest", "fist", "flexion")
RATE = 500.0

SETUP = """
[app]
name = "grip"
class_names = {classes}

[[streams]]
name = "emg"
source = "simulated"
window_ms = 200
options = {{ channels = 8, rate = 500.0 }}

[store]
adapter = "zarr"
options = {{ base_dir = "{base}" }}

[model]
adapter = "torch_classifier"
options = {{ architecture = "mlp", epochs = 4, threads = 1 }}

[pipeline]
predict_hz = 20
features = "{features}"

[renderer]
adapter = "headless"
"""


def setup_file(tmp_path, name="setup.toml", classes=CLASSES, features="emg_features"):
    path = tmp_path / name
    path.write_text(SETUP.format(classes=json.dumps(list(classes)), base=tmp_path / "rec",
                                 features=features))
    return path


def recorded_session(tmp_path, per_class=3):
    sim = EmgSimulator(8, RATE, CLASSES, seed=2)
    store = ZarrStore(tmp_path / "rec")
    rec = store.open_session(SessionMeta("grip", (StreamInfo("emg", 8, RATE),),
                                         class_names=CLASSES))
    order = np.random.default_rng(2).permutation(np.repeat(np.arange(len(CLASSES)), per_class))
    n, start = int(RATE), 0
    for k in order:
        sim.set_class(int(k))
        rec.add_label(LabelEvent(start / RATE, int(k)))
        rec.append("emg", sim.generate(n), (start + np.arange(n)) / RATE)
        start += n
    return rec.close().location


def test_train_prints_the_matrix_and_saves_model_and_report(tmp_path, capsys):
    session = recorded_session(tmp_path)
    model = tmp_path / "out" / "grip.model"
    model.parent.mkdir()
    rc = cli.main(["train", str(session), "--setup", str(setup_file(tmp_path)),
                   "--out", str(model), "--folds", "3"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "cross-validated accuracy" in out and "(chance 33 %)" in out
    assert "confusion matrix" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["flexion"]]
    assert rows and len(rows[0]) == 1 + len(CLASSES)  # the class and one count per class
    assert "training 100%" in err
    assert model.exists() and (model.parent / "report.png").exists()
    doc = json.loads((model.parent / "report.json").read_text())
    assert doc["folds"] == 3 and sum(map(sum, doc["confusion_matrix"])) == doc["windows"]

    other = setup_file(tmp_path, "other.toml", classes=("rest", "fist", "pinch"))
    rc = cli.main(["run", str(other), "--headless", "--duration", "0.1", "--model", str(model)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"cannot load the model {model}: it was trained for another setup" in err
    assert "class names: the model was trained for ['rest', 'fist', 'flexion'], this setup has " \
           "['rest', 'fist', 'pinch']" in err

    features = setup_file(tmp_path, "features.toml", features="raw")
    assert cli.main(["run", str(features), "--headless", "--duration", "0.1",
                     "--model", str(model)]) == 2
    assert "feature function: the model was trained for 'emg_features', this setup has 'raw'" \
        in capsys.readouterr().err


def test_train_on_a_missing_session_says_so(tmp_path, capsys):
    rc = cli.main(["train", str(tmp_path / "nothing"), "--setup", str(setup_file(tmp_path))])
    assert rc == 2 and "cannot train on" in capsys.readouterr().err
