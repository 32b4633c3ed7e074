"""evaluate() against the live path: the same session played at 1x through a ReplaySource, real
threads and the real clock gives the same prediction wherever a window ends on the same sample,
and the same online accuracy within two points; raw, and through a conditioning chain (chunk by
chunk live, in one call offline)."""

import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeModel, FakeStore
from hexloop.adapters.replay import ReplaySource
from hexloop.application import App, Pipeline, Stream
from hexloop.application.conditioning import conditioned_data
from hexloop.application.evaluate import evaluate
from hexloop.domain.labels import LabelEvent
from hexloop.domain.pipeline import TrainingJob
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo

pytestmark = pytest.mark.slow
RATE, CH, SECONDS, TRIAL, HZ = 1000.0, 4, 10.0, 2.5, 20.0
CHAIN = [{"type": "highpass", "cutoff": 5, "order": 2}, {"type": "notch", "freq": 50}]


def record():
    """Quiet (class 0) and loud (class 1) trials of TRIAL seconds, labelled, 1 kHz."""
    rng = np.random.default_rng(7)
    info = StreamInfo("emg", CH, RATE)
    store = FakeStore()
    session = store.open_session(SessionMeta("live", (info,), ("rest", "fist")))
    n = int(SECONDS * RATE)
    ts = 50.0 + np.arange(n) / RATE
    cls = ((ts - ts[0]) // TRIAL).astype(int) % 2
    data = (rng.standard_normal((n, CH)) * np.where(cls == 1, 4.0, 1.0)[:, None]).astype(np.float32)
    session.append("emg", data, ts)
    for k in range(int(SECONDS // TRIAL)):
        session.add_label(LabelEvent(float(ts[0] + k * TRIAL), k % 2))
    return store.read(session.close().location)


def rms(windows):
    return np.sqrt(np.mean(windows["emg"].astype(np.float64) ** 2, axis=1))


def pipeline_for(app: App, model) -> Pipeline:
    pipeline = Pipeline(app, predict_hz=HZ)
    pipeline.extract(rms)
    pipeline.use_model(FakeModel)
    pipeline.model = model
    return pipeline


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("chain", [None, CHAIN], ids=["raw", "conditioned"])
def test_live_replay_at_1x_matches_evaluate(chain):
    if chain:
        pytest.importorskip("scipy")
    session = record()
    model = FakeModel()
    offline_app = App("offline")
    offline_app.streams(Stream("emg", ReplaySource(session), window_ms=200, conditioning=chain))
    offline = pipeline_for(offline_app, None)
    model.fit(offline.training_data(session), TrainingJob())
    offline.model = model
    result = evaluate(session, offline)

    app = App("live")
    source = ReplaySource(session, speed=1.0)
    stream = Stream("emg", source, window_ms=200, buffer_ms=20_000, conditioning=chain)
    app.streams(stream)
    live = pipeline_for(app, model)
    app.start()
    try:
        live.start_predicting()
        wait_for(lambda: source.finished, SECONDS + 10)
        count = live.predictions.count
        wait_for(lambda: live.predictions.count >= count + 2, 5)
    finally:
        app.shutdown()

    data, ts = conditioned_data(stream, session)  # conditioned in one call, as evaluate does
    live_ts = stream.buffer.window(10**9)[1]
    assert live_ts.size == ts.size
    cues, predictions = session.labels.class_at(ts), live.predictions.recent()
    assert len(predictions) > SECONDS * HZ * 0.8
    correct = []
    for p in predictions:
        k = int(np.searchsorted(live_ts, p.input_time))
        assert live_ts[k] == p.input_time
        window = {"emg": data[:, k - 199:k + 1]}  # what evaluate sees when a window ends at k
        assert p.values == pytest.approx(offline._predict(model, rms(window)), rel=1e-4)
        decided = int(np.argmax(list(p.values.values())))
        correct.append(decided == cues[k])
    live_accuracy = float(np.mean(correct))
    assert abs(live_accuracy - result.accuracy()) <= 0.02, (live_accuracy, result.accuracy())
