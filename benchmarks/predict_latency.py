"""Single-window predict latency of TorchClassifier against the same MLP written in numpy.

Trains a classifier on EMG-like feature vectors, copies its weights into a plain numpy forward
pass (checked to give the same probabilities), then times one-window predicts of both, in the
same process, interleaved, and prints median and p99 and their ratio. A 1-D CNN on raw windows
is timed too, for reference. Run: `.venv/bin/python benchmarks/predict_latency.py [--device cpu]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import zipfile

import numpy as np

from hexloop.adapters.torch import TorchClassifier
from hexloop.adapters.torch.fileformat import open_model_file, read_header
from hexloop.domain.features import emg_features
from hexloop.domain.pipeline import TrainingData, TrainingJob
from hexloop.domain.simulation import EmgSimulator

CHANNELS, RATE, WINDOW = 8, 1000.0, 200


def simulated_windows(repeats: int, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    sim = EmgSimulator(channels=CHANNELS, rate=RATE, seed=seed)
    xs, ys = [], []
    for _ in range(repeats):
        for k in range(len(sim.class_names)):
            sim.set_class(k)
            block = sim.generate(2000).T
            starts = np.arange(0, 2000 - WINDOW + 1, 50)
            xs.append(np.stack([block[:, s : s + WINDOW] for s in starts]))
            ys.append(np.full(len(starts), k))
    return np.concatenate(xs), np.concatenate(ys), sim.class_names


class NumpyMlp:
    """The saved MLP's forward pass in numpy, read from the model file without torch."""

    def __init__(self, path: str):
        with open_model_file(path) as zf:
            header = read_header(zf)
            self.weights = [np.load(zf.open(f"tensors/{name}.npy")) for name in header["tensors"]]
        norm = header["normalization"]
        self.mean = np.asarray(norm["input_mean"], dtype=np.float32)
        self.std = np.asarray(norm["input_std"], dtype=np.float32)
        # state_dict order: weight, bias per Linear layer
        self.layers = list(zip(self.weights[0::2], self.weights[1::2]))

    def predict(self, features: np.ndarray) -> np.ndarray:
        h = (np.asarray(features, dtype=np.float32).ravel() - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = w @ h + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0, out=h)
        e = np.exp(h - h.max())
        return (e / e.sum()).astype(np.float64)


def timed(fn, inputs, repeats: int) -> np.ndarray:
    out = np.empty(repeats)
    for i in range(repeats):
        x = inputs[i % len(inputs)]
        t0 = time.perf_counter()
        fn(x)
        out[i] = time.perf_counter() - t0
    return out


def summary(name: str, seconds: np.ndarray, baseline: np.ndarray | None = None) -> str:
    median, p99 = np.median(seconds) * 1e6, np.percentile(seconds, 99) * 1e6
    line = f"{name:<28} median {median:8.1f} us   p99 {p99:8.1f} us"
    if baseline is not None:
        line += (f"   x{median / (np.median(baseline) * 1e6):5.2f} median, "
                 f"x{p99 / (np.percentile(baseline, 99) * 1e6):5.2f} p99 vs numpy")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto' (default cpu)")
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default half)")
    args = parser.parse_args()

    windows, y, names = simulated_windows(repeats=3, seed=0)
    features = emg_features(windows).astype(np.float32)
    t0 = time.perf_counter()
    mlp = TorchClassifier("mlp", device=args.device, threads=args.threads, seed=0)
    mlp.fit(TrainingData(features, y, names), TrainingJob())
    fit_mlp = time.perf_counter() - t0
    t0 = time.perf_counter()
    cnn = TorchClassifier("cnn1d", device=args.device, threads=args.threads, seed=0, epochs=30)
    cnn.fit(TrainingData(windows.astype(np.float32), y, names), TrainingJob())
    fit_cnn = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mlp.hexmodel")
        mlp.save(path)
        reference = NumpyMlp(path)
        assert zipfile.is_zipfile(path)
    test_windows, _, _ = simulated_windows(repeats=1, seed=1)
    test_features = emg_features(test_windows).astype(np.float32)
    worst = max(np.abs(mlp.predict(f) - reference.predict(f)).max() for f in test_features[:200])
    assert worst < 1e-4, f"numpy and torch disagree by {worst}"

    import torch

    print(f"torch {torch.__version__}, device {mlp.device}, torch threads {torch.get_num_threads()}")
    print(f"training: MLP {len(features)} windows in {fit_mlp:.2f}s "
          f"({mlp.training_summary['epochs_run']} epochs), "
          f"CNN {len(windows)} windows in {fit_cnn:.2f}s ({cnn.training_summary['epochs_run']} epochs)")
    print(f"single-window predict, {args.repeats} calls each, feature vector {features.shape[1]}, "
          f"raw window {windows.shape[1:]}; max |torch - numpy| = {worst:.1e}")
    for fn, inputs in ((reference.predict, test_features), (mlp.predict, test_features),
                       (cnn.predict, test_windows)):
        timed(fn, inputs, 200)  # warm-up
    # Interleave rounds so both see the same machine load.
    numpy_times, torch_times, cnn_times = [], [], []
    rounds = 5
    for _ in range(rounds):
        numpy_times.append(timed(reference.predict, test_features, args.repeats // rounds))
        torch_times.append(timed(mlp.predict, test_features, args.repeats // rounds))
        cnn_times.append(timed(cnn.predict, test_windows, args.repeats // rounds))
    numpy_s, torch_s, cnn_s = (np.concatenate(t) for t in (numpy_times, torch_times, cnn_times))
    print(summary("numpy MLP (baseline)", numpy_s))
    print(summary("TorchClassifier mlp", torch_s, numpy_s))
    print(summary("TorchClassifier cnn1d", cnn_s, numpy_s))
    budget = 1e6 / 50.0
    print(f"a 50 Hz predict loop has {budget:.0f} us per tick; "
          f"torch MLP p99 uses {np.percentile(torch_s, 99) * 1e6 / budget:.1%} of it")


if __name__ == "__main__":
    main()
