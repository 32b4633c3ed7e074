"""evaluate(): a recorded session replayed through the online path on a simulated clock."""

import math

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeModel, FakeSource, FakeStore
from hexloop.application import App, Output, Pipeline, Stream
from hexloop.application.evaluate import ReplayClock, evaluate
from hexloop.domain.labels import LabelEvent
from hexloop.domain.pipeline import TrainingJob
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo
from hexloop.ports.contracts import check_clock

RATE, CH = 1000.0, 4


def record(seconds: float = 16.0, trial: float = 2.0, seed: int = 0):
    """Class 0 quiet, class 1 loud, alternating every `trial` seconds from t=1."""
    rng = np.random.default_rng(seed)
    info = StreamInfo("emg", CH, RATE)
    store = FakeStore()
    session = store.open_session(SessionMeta("eval", (info,), ("rest", "fist")))
    n = int(seconds * RATE)
    ts = 100.0 + np.arange(n) / RATE
    cls = np.where(ts < 101.0, 0, ((ts - 101.0) // trial).astype(int) % 2)
    data = (rng.standard_normal((n, CH)) * np.where(cls == 1, 5.0, 1.0)[:, None]).astype(np.float32)
    for i in range(0, n, 37):  # chunked as acquisition appends it
        session.append("emg", data[i:i + 37], ts[i:i + 37])
    for k, t in enumerate(np.arange(101.0, 100.0 + seconds, trial)):
        session.add_label(LabelEvent(float(t), k % 2))
    return store.read(session.close().location)


def rms(windows):
    return np.sqrt(np.mean(windows["emg"].astype(np.float64) ** 2, axis=1))


def make_pipeline(stages=None):
    app = App("eval")
    app.streams(Stream("emg", FakeSource(StreamInfo("emg", CH, RATE)), window_ms=200))
    pipeline = Pipeline(app, predict_hz=20)
    pipeline.extract(rms)
    pipeline.use_model(FakeModel)
    if stages is not None:
        pipeline.outputs.append(Output(_Null(), hz=20, name="prosthesis", **stages))
    return pipeline


class _Null:
    def open(self, channels, rate):
        pass

    def send(self, sample, timestamp):
        pass

    def close(self):
        pass


def trained(session, **kw):
    pipeline = make_pipeline(**kw)
    model = FakeModel()
    model.fit(pipeline.training_data(session), TrainingJob())
    pipeline.model = model
    return pipeline


def test_the_replay_clock_is_a_clock():
    check_clock(ReplayClock(5.0))


def test_replay_predicts_on_the_windows_a_ring_buffer_would_hold():
    session = record()
    pipeline = trained(session)
    result = evaluate(session, pipeline)
    data, ts = session.data("emg")
    assert len(result.rows) > 250  # 16 s at 20 Hz, less the first window
    for row in result.rows[::40]:
        stop = int(np.searchsorted(ts, row.time, side="right"))
        want = pipeline._predict(pipeline.model, rms({"emg": data[:, stop - 200:stop]}))
        assert row.prediction.values == pytest.approx(want)
        assert row.prediction.input_time == ts[stop - 1]
    ticks = [r.prediction.tick for r in result.rows]
    assert ticks == sorted(ticks) and np.allclose(np.diff([r.time for r in result.rows]), 0.05)


def test_accuracy_confusion_and_latency_tell_what_the_live_system_would_do():
    session = record()
    result = evaluate(session, trained(session))
    assert result.accuracy() > 0.85
    conf = result.confusion()
    assert conf.shape == (2, 3) and conf.sum() == sum(r.cue >= 0 for r in result.rows)
    assert np.trace(conf) / conf.sum() == pytest.approx(result.accuracy())
    latencies = result.latencies()
    assert len(latencies) == len(result.cues) == 8
    assert all(x is not None and 0 <= x < 0.3 for x in latencies)  # within a window and a tick
    assert "online accuracy" in result.text()


def test_output_stages_are_applied_as_the_live_output_would():
    session = record()
    stages = [{"type": "threshold", "min_confidence": 0.0}, {"type": "majority", "n": 5}]
    result = evaluate(session, trained(session, stages={"stages": stages}))
    raw, voted = result.decisions(), result.decisions(0)
    flips = lambda d: int(np.sum(d[1:] != d[:-1]))  # noqa: E731
    assert flips(voted) <= flips(raw)
    assert result.accuracy(0) > 0.8 and not math.isnan(result.accuracy(0))


def test_the_prediction_stream_is_saved(tmp_path):
    session = record(seconds=4.0)
    result = evaluate(session, trained(session))
    path = result.save_csv(tmp_path / "s.predictions.csv")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("tick,time,input_time,stale,cue,rest,fist,decision")
    assert len(lines) == len(result.rows) + 1


def test_no_model_is_refused_with_what_to_do():
    with pytest.raises(RuntimeError, match="load it"):
        evaluate(record(seconds=2.0), make_pipeline())


def test_a_zarr_session_is_read_for_evaluate_through_the_store(tmp_path):
    pytest.importorskip("zarr")
    from types import SimpleNamespace

    from hexloop.adapters.zarr import ZarrStore
    from hexloop.application.composition.evaluate import read_session
    from hexloop.application.composition.registry import Registry

    memory = record(seconds=3.0)
    session = ZarrStore(tmp_path).open_session(memory.meta)
    data, ts = memory.data("emg")
    session.append("emg", np.ascontiguousarray(data.T), ts)
    for event in memory.labels.events:
        session.add_label(event)
    location = session.close().location
    built = SimpleNamespace(app=SimpleNamespace(store=None))  # no [store]: zarr is used
    back = read_session(location, built, Registry.from_entry_points())
    np.testing.assert_array_equal(back.data("emg")[0], data)
    result = evaluate(back, trained(back))
    assert result.accuracy() > 0.8 and len(result.cues) == len(memory.labels.events)
