"""An experiment script written with @pipeline.extract/train/predict (docs/getting-started.md).

Needs hexloop's core and the `zarr` extra (the recording is saved with ZarrStore:
`pip install "hexloop[zarr]"`); no LSL, no torch: an in-process simulated amplifier, an LDA
classifier written here, predictions printed. `python examples/my_experiment.py`
"""

import threading
import time

import numpy as np

from hexloop.adapters.simulated import SimulatedSource
from hexloop.adapters.zarr import ZarrStore
from hexloop.application import App, Pipeline, Stream
from hexloop.domain.features import emg_features

CLASSES = ("rest", "fist", "flexion", "extension")

amp = SimulatedSource(channels=8, rate=2048, class_names=CLASSES)
app = App("my-experiment", store=ZarrStore("recordings"), class_names=CLASSES)
app.streams(Stream("emg", amp, window_ms=200))
pipeline = Pipeline(app, predict_hz=20)


@pipeline.extract
def features(windows):
    """Same function for training windows and live windows: log MAV, RMS, WL per channel."""
    return emg_features(windows["emg"])


@pipeline.train
def train(data, job):
    """A linear discriminant: class means and a shared covariance."""
    means = np.stack([data.x[data.y == k].mean(axis=0) for k in range(len(data.names))])
    centered = data.x - means[data.y]
    cov = centered.T @ centered / len(data.x) + 1e-6 * np.eye(data.x.shape[1])
    job.report(epoch=1, epochs=1, message="fitted LDA")
    return {"weights": np.linalg.solve(cov, means.T), "means": means, "names": data.names}


@pipeline.predict
def predict(model, x):
    w, m = model["weights"], model["means"]
    scores = x @ w - 0.5 * np.einsum("ij,ji->i", m, w)
    p = np.exp(scores - scores.max())
    return dict(zip(model["names"], p / p.sum()))


def protocol():
    """Cue each class twice while recording, train on the session, then predict."""
    while app.recording_refusal():
        time.sleep(0.05)
    app.start_recording(slug="my-experiment")
    for k in [0, 1, 2, 3] * 2:
        app.mark(k)  # labels the recording; the simulated amplifier follows the cue
        time.sleep(1.5)  # (on a real amplifier the participant does)
    summary = app.stop_recording()
    pipeline.start_training(pipeline.training_data(app.store.read(summary.location)))
    pipeline.wait_training()
    pipeline.start_predicting()
    for k in [3, 1, 0, 2]:
        app.cue(k)  # not recording: only the simulated gesture changes
        time.sleep(1.0)
        latest = pipeline.predictions.latest
        print(f"cued {CLASSES[k]:10} predicted {max(latest.values, key=latest.values.get)}")
    app.exit()


if __name__ == "__main__":
    threading.Thread(target=protocol, daemon=True).start()
    app.run()  # a status line; pass ImGuiRenderer() for the window
