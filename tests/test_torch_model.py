"""TorchClassifier / TorchRegressor: the Model contract, learning, stopping, and safe model files."""

import json
import os
import pickle
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hexloop.adapters.torch import TorchClassifier, TorchRegressor  # noqa: E402
from hexloop.adapters.torch.model import training_threads  # noqa: E402
from hexloop.domain.features import emg_features  # noqa: E402
from hexloop.domain.pipeline import TrainingCancelled, TrainingData, TrainingJob  # noqa: E402
from hexloop.domain.simulation import EmgSimulator  # noqa: E402
from hexloop.ports import ModelFileError  # noqa: E402
from hexloop.ports.contracts import check_model  # noqa: E402

CLASSES = ("rest", "fist", "pinch")


def feature_data(n=600, dims=12, seed=0, noise=0.3, draw=0):
    """Three well separated clusters in feature space (placed by `seed`), points drawn by `draw`."""
    centres = np.random.default_rng(seed).standard_normal((len(CLASSES), dims)) * 2
    rng = np.random.default_rng([seed, draw])
    y = rng.integers(0, len(CLASSES), n)
    x = centres[y] + noise * rng.standard_normal((n, dims))
    return TrainingData(x.astype(np.float32), y, CLASSES)


def window_data(n=240, channels=4, samples=64, seed=0):
    """Raw windows whose classes differ in which channels are active."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    gain = np.full((len(CLASSES), channels), 0.2)
    gain[1, :2] = 1.0
    gain[2, 2:] = 1.0
    x = rng.standard_normal((n, channels, samples)) * gain[y][:, :, None]
    return TrainingData(x.astype(np.float32), y, CLASSES)


def regression_data(n=600, dims=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dims))
    y = np.stack([3 * x[:, 0] - x[:, 1] + 10, 0.5 * x[:, 2] * x[:, 3]], axis=1)
    return TrainingData(x.astype(np.float32), y, ("force", "angle"), task="regression")


def fitted(model, data):
    model.fit(data, TrainingJob())
    return model


@pytest.fixture(scope="module")
def mlp_classifier():
    return fitted(TorchClassifier(epochs=40, seed=1), feature_data())


# --- the port contract -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, data",
    [
        (lambda: TorchClassifier("mlp", epochs=5), feature_data(200)),
        (lambda: TorchClassifier("cnn1d", epochs=3, conv_channels=(8, 8)), window_data(90)),
        (lambda: TorchRegressor("mlp", epochs=5), regression_data(200)),
        (lambda: TorchRegressor("cnn1d", epochs=3, conv_channels=(8,)),
         TrainingData(window_data(90).x, np.linspace(0, 1, 90)[:, None], ("level",), "regression")),
    ],
    ids=["mlp-classifier", "cnn1d-classifier", "mlp-regressor", "cnn1d-regressor"],
)
def test_contract(make, data):
    check_model(make, data)


# --- learning --------------------------------------------------------------------------------


def test_classifier_learns_separable_problem_with_probabilities(mlp_classifier):
    test = feature_data(300, draw=1)  # the same clusters, points never seen in training
    x, y = test.x, test.y
    probs = np.stack([mlp_classifier.predict(row) for row in x])
    assert probs.shape == (300, 3) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    assert np.mean(probs.argmax(axis=1) == y) > 0.97
    assert mlp_classifier.output_names == CLASSES


def test_cnn1d_learns_which_channels_are_active():
    data = window_data(360)
    model = fitted(TorchClassifier("cnn1d", epochs=30, conv_channels=(16, 16), seed=0),
                   TrainingData(data.x[:240], data.y[:240], CLASSES))
    predicted = [model.predict(w).argmax() for w in data.x[240:]]
    assert np.mean(np.array(predicted) == data.y[240:]) > 0.9


def test_regressor_learns_targets_in_their_own_units():
    data = regression_data(1200)
    model = fitted(TorchRegressor(epochs=80, seed=0),
                   TrainingData(data.x[:900], data.y[:900], data.names, "regression"))
    predicted = np.stack([model.predict(row) for row in data.x[900:]])
    truth = data.y[900:]
    r2 = 1 - ((predicted - truth) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)
    assert r2[0] > 0.95  # the linear target (offset 10, well away from 0)
    assert r2[1] > 0.5  # the product is harder for a small net
    assert model.output_names == ("force", "angle")


def test_simulated_emg_through_emg_features_well_above_chance():
    sim = EmgSimulator(channels=8, rate=1000.0, seed=3)
    classes = len(sim.class_names)

    def windows(repeats):
        xs, ys = [], []
        for _ in range(repeats):
            for k in range(classes):
                sim.set_class(k)
                block = sim.generate(2000).T  # 2 s of one gesture, (channels, n)
                starts = np.arange(0, 2000 - 200 + 1, 100)
                xs.append(np.stack([block[:, s : s + 200] for s in starts]))
                ys.append(np.full(len(starts), k))
        return emg_features(np.concatenate(xs)), np.concatenate(ys)

    x, y = windows(3)
    model = fitted(TorchClassifier(epochs=60, seed=0), TrainingData(x, y, sim.class_names))
    x_test, y_test = windows(1)
    accuracy = np.mean([model.predict(f).argmax() == k for f, k in zip(x_test, y_test)])
    assert accuracy > 0.85, f"accuracy {accuracy:.2f} (chance {1 / classes:.2f})"


def test_a_class_without_windows_still_gets_an_output():
    data = feature_data(300)
    two = data.y < 2
    model = fitted(TorchClassifier(epochs=20, seed=0), TrainingData(data.x[two], data.y[two], CLASSES))
    probs = np.stack([model.predict(row) for row in data.x[two][:50]])
    assert probs.shape == (50, 3)
    assert probs[:, 2].max() < 0.5  # never trained on, never the answer for these windows
    assert np.mean(probs.argmax(axis=1) == data.y[two][:50]) > 0.95


def test_regressor_takes_one_dimensional_targets_for_one_name():
    data = regression_data(300)
    one = TrainingData(data.x, data.y[:, 0], ("force",), "regression")
    model = fitted(TorchRegressor(epochs=30, seed=0), one)
    assert model.predict(data.x[0]).shape == (1,)
    with pytest.raises(ValueError, match=r"shaped \(windows, 2\)"):
        TorchRegressor().fit(TrainingData(data.x, data.y[:, 0], ("a", "b"), "regression"),
                             TrainingJob())


def test_progress_reports_every_epoch_and_early_stopping_happens():
    rng = np.random.default_rng(0)
    noise = TrainingData(rng.standard_normal((400, 8)).astype(np.float32),
                         rng.integers(0, 2, 400), ("a", "b"))
    reports = []
    job = TrainingJob(on_progress=reports.append)
    model = TorchClassifier(epochs=300, patience=5, seed=0)
    model.fit(noise, job)
    summary = model.training_summary
    assert summary["stopped_early"] is True
    assert summary["epochs_run"] < 300
    assert summary["epochs_run"] - summary["best_epoch"] == 5
    epochs = [r.epoch for r in reports[:-1]]
    assert epochs == list(range(1, summary["epochs_run"] + 1))
    assert all(np.isfinite(r.loss) and 0 <= r.score <= 1 for r in reports[:-1])
    assert "stopped early" in job.progress.message
    assert job.progress.fraction == 1.0


def test_training_is_repeatable_for_a_seed():
    data = feature_data(300)
    a = fitted(TorchClassifier(epochs=8, seed=5), data)
    b = fitted(TorchClassifier(epochs=8, seed=5), data)
    c = fitted(TorchClassifier(epochs=8, seed=6), data)
    probe = data.x[:20]
    pa, pb, pc = (np.stack([m.predict(r) for r in probe]) for m in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(pa, pc)


def test_cancel_from_another_thread_stops_and_keeps_previous_model(mlp_classifier, tmp_path):
    data = feature_data(2000)
    model = TorchClassifier(epochs=10_000, patience=10_000, seed=1)
    model.load(_saved(mlp_classifier, tmp_path))
    before = model.predict(data.x[0])
    started = threading.Event()
    job = TrainingJob(on_progress=lambda p: started.set() if p.epoch >= 2 else None)
    outcome = []

    def train():
        try:
            model.fit(data, job)
            outcome.append("finished")
        except TrainingCancelled:
            outcome.append("cancelled")

    worker = threading.Thread(target=train)
    worker.start()
    assert started.wait(20), "training never reached epoch 2"
    job.cancel()
    worker.join(5)
    assert not worker.is_alive(), "fit did not stop within 5 s of cancel"
    assert outcome == ["cancelled"]
    np.testing.assert_array_equal(model.predict(data.x[0]), before)


@pytest.mark.parametrize("threads", [1, None])
def test_fit_limits_torch_threads_and_gil_switching_then_restores_them(threads):
    """Training must not starve acquisition (#13): while fit runs, torch uses `threads` (by
    default every core but one) and the GIL changes hands every millisecond; afterwards the
    process settings are as they were."""
    previous, switch = torch.get_num_threads(), sys.getswitchinterval()
    seen = []
    job = TrainingJob(on_progress=lambda p: seen.append(
        (torch.get_num_threads(), sys.getswitchinterval())))
    torch.set_num_threads(2)
    try:
        TorchClassifier(epochs=2, threads=threads).fit(feature_data(60), job)
        assert torch.get_num_threads() == 2
        assert sys.getswitchinterval() == switch
    finally:
        torch.set_num_threads(previous)
    want = threads if threads is not None else training_threads()
    assert seen and all(t == want and s <= 0.001 for t, s in seen)


# --- bad input gets a clear error ------------------------------------------------------------


def test_bad_training_data_says_what_to_do():
    data = feature_data(60)
    with pytest.raises(ValueError, match="use TorchRegressor"):
        TorchClassifier().fit(regression_data(60), TrainingJob())
    with pytest.raises(ValueError, match="use TorchClassifier"):
        TorchRegressor().fit(data, TrainingJob())
    with pytest.raises(ValueError, match="raw windows"):
        TorchClassifier("cnn1d").fit(data, TrainingJob())
    x = data.x.copy()
    x[7, 3] = np.nan
    with pytest.raises(ValueError, match="first at window 7"):
        TorchClassifier().fit(TrainingData(x, data.y, CLASSES), TrainingJob())
    with pytest.raises(ValueError, match="at least two classes"):
        TorchClassifier().fit(TrainingData(data.x, np.zeros(60, int), CLASSES), TrainingJob())
    with pytest.raises(ValueError, match="architecture"):
        TorchClassifier("transformer")
    with pytest.raises(ValueError, match="epochs"):
        TorchClassifier(epochs=0)
    with pytest.raises(ValueError, match="kernel_size"):
        TorchClassifier("cnn1d", kernel_size=4)


def test_bad_predict_input_says_what_to_do(mlp_classifier):
    with pytest.raises(RuntimeError, match="before fit"):
        TorchClassifier().predict(np.zeros(12))
    with pytest.raises(ValueError, match=r"trained on \(12,\)"):
        mlp_classifier.predict(np.zeros(13))
    with pytest.raises(ValueError, match="NaN"):
        mlp_classifier.predict(np.full(12, np.nan))
    # Same number of values in another layout is fine for the MLP (it flattens).
    assert mlp_classifier.predict(np.zeros((3, 4))).shape == (3,)


def test_device_selection():
    auto = TorchClassifier(device="auto")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto.device.type == want
    assert TorchClassifier(device="cpu").device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            TorchClassifier(device="cuda")
    with pytest.raises(ValueError, match="device"):
        TorchClassifier(device="tpu")


# --- model files -----------------------------------------------------------------------------


def _saved(model, tmp_path, name="model.hexmodel"):
    path = tmp_path / name
    model.save(path)
    return path


def test_save_load_round_trip_and_readable_header(mlp_classifier, tmp_path):
    path = _saved(mlp_classifier, tmp_path)
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
        names = zf.namelist()
    assert header["format"] == "hexloop.torch-model"
    assert header["network"]["architecture"] == "mlp"
    assert header["network"]["input_shape"] == [12]
    assert header["output_names"] == list(CLASSES)
    assert len(header["normalization"]["input_mean"]) == 12
    assert header["hexloop_version"] and header["torch_version"]
    assert all(n == "header.json" or n.endswith(".npy") for n in names)

    loaded = TorchClassifier(device="cpu")
    loaded.load(path)
    probe = feature_data(50, draw=9).x
    for row in probe:
        np.testing.assert_array_equal(loaded.predict(row), mlp_classifier.predict(row))
    assert loaded.output_names == CLASSES
    assert loaded.training_summary == mlp_classifier.training_summary
    assert not list(tmp_path.glob(".hexloop-model-*")), "temporary file left behind"


def test_cnn1d_regressor_round_trip(tmp_path):
    data = window_data(60)
    data = TrainingData(data.x, data.x.std(axis=(1, 2))[:, None], ("level",), "regression")
    model = fitted(TorchRegressor("cnn1d", epochs=3, conv_channels=(8, 8)), data)
    loaded = TorchRegressor("cnn1d")
    loaded.load(_saved(model, tmp_path))
    np.testing.assert_array_equal(loaded.predict(data.x[3]), model.predict(data.x[3]))


def _rewrite(path, out, header_edit=None, tensor_edit=None):
    """Copy a model file, editing its header and/or a tensor, with valid zip checksums."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(members["header.json"])
    if header_edit:
        header_edit(header)
    members["header.json"] = json.dumps(header).encode()
    if tensor_edit:
        tensor_edit(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out


class _Bomb:
    """Unpickling this would create a file: proof that nothing got unpickled."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def _bad_files(good, tmp_path):
    sentinel = tmp_path / "pwned"
    raw = good.read_bytes()
    offset_data = raw.index(b"\x93NUMPY") + 200  # inside the first tensor's values
    files = {}

    def flipped(name, offset):
        blob = bytearray(raw)
        blob[offset] ^= 0xFF
        path = tmp_path / name
        path.write_bytes(bytes(blob))
        return path

    files["flipped header byte"] = flipped("flip_header", raw.index(b'"format"') + 3)
    files["flipped weight byte"] = flipped("flip_weight", offset_data)
    files["flipped directory byte"] = flipped("flip_dir", len(raw) - 30)
    files["truncated"] = tmp_path / "truncated"
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    files["empty"] = tmp_path / "empty"
    files["empty"].write_bytes(b"")

    def set_architecture(h):
        h["network"]["architecture"] = "cnn1d"
        h["network"]["input_shape"] = [3, 4]

    files["header says cnn1d"] = _rewrite(good, tmp_path / "arch", set_architecture)
    files["header says regressor"] = _rewrite(
        good, tmp_path / "kind", lambda h: h["network"].update(kind="regressor"))
    files["wrong output count"] = _rewrite(
        good, tmp_path / "names", lambda h: h.update(output_names=["a", "b"]))
    files["future format"] = _rewrite(
        good, tmp_path / "future", lambda h: h.update(format_version=99))
    files["huge shape"] = _rewrite(
        good, tmp_path / "huge", lambda h: h["network"].update(hidden=[10**9]))
    files["negative std in normalization"] = _rewrite(
        good, tmp_path / "negative_std", lambda h: h["normalization"]["input_std"].__setitem__(0, -1.0))

    def edit_weight(members):
        name = next(n for n in members if n.endswith(".npy"))
        blob = bytearray(members[name])
        blob[-1] ^= 0x01  # a valid zip, a valid .npy, but not the weights the header lists
        members[name] = bytes(blob)

    files["edited weight, checksum kept"] = _rewrite(good, tmp_path / "edited", None, edit_weight)

    def pickled_tensor(members):
        name = next(n for n in members if n.endswith(".npy"))
        import io

        buffer = io.BytesIO()
        np.save(buffer, np.array([_Bomb(sentinel)], dtype=object), allow_pickle=True)
        members[name] = buffer.getvalue()

    files["pickle inside a tensor"] = _rewrite(good, tmp_path / "objnpy", None, pickled_tensor)
    files["plain pickle bomb"] = tmp_path / "bomb.pkl"
    files["plain pickle bomb"].write_bytes(pickle.dumps(_Bomb(sentinel)))
    files["torch.save of a pickle bomb"] = tmp_path / "bomb.pt"
    torch.save({"state": _Bomb(sentinel)}, files["torch.save of a pickle bomb"])
    return files, sentinel


def test_a_saved_model_is_on_disk_before_it_replaces_the_old_file(mlp_classifier, tmp_path,
                                                                    monkeypatch):
    from hexloop.adapters.torch import fileformat

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(fileformat.os, "fsync",
                        lambda fd: (calls.append(("fsync", os.fstat(fd).st_size)), real_fsync(fd)))
    monkeypatch.setattr(fileformat.os, "replace",
                        lambda a, b: (calls.append(("replace", None)), real_replace(a, b)))
    path = _saved(mlp_classifier, tmp_path)
    assert [c[0] for c in calls] == ["fsync", "replace"]
    assert calls[0][1] == path.stat().st_size  # the whole archive was synced


def test_bad_files_are_refused_and_the_model_stays(mlp_classifier, tmp_path):
    good = _saved(mlp_classifier, tmp_path)
    model = TorchClassifier()
    model.load(good)
    probe = feature_data(5, draw=4).x[0]
    before = model.predict(probe)
    files, sentinel = _bad_files(good, tmp_path)
    for what, path in files.items():
        with pytest.raises(ModelFileError) as info:
            model.load(path)
        assert str(path) in str(info.value), what
        np.testing.assert_array_equal(model.predict(probe), before, err_msg=what)
        assert model.output_names == CLASSES
    assert not sentinel.exists(), "a pickle got executed while loading"


def test_architecture_mismatch_names_the_fix(tmp_path):
    data = window_data(60)
    cnn = fitted(TorchClassifier("cnn1d", epochs=1, conv_channels=(4,)), data)
    path = _saved(cnn, tmp_path)
    with pytest.raises(ModelFileError, match=r"TorchClassifier\(architecture='cnn1d'\)"):
        TorchClassifier("mlp").load(path)
    with pytest.raises(ModelFileError, match="classifier"):
        TorchRegressor("cnn1d").load(path)


def test_save_before_fit_and_missing_file():
    with pytest.raises(RuntimeError, match="nothing to save"):
        TorchClassifier().save("never-written")
    with pytest.raises(ModelFileError, match="no such file"):
        TorchClassifier().load("/nonexistent/model.hexmodel")


def test_import_without_torch_names_the_extra():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import hexloop.domain.features, hexloop.ports\n"
        "try:\n"
        "    import hexloop.adapters.torch\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert 'pip install "hexloop[torch]"' in out.stdout
