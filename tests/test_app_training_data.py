"""Pipeline.training_data: classification from labels, regression from a target stream."""

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeStore
from hexloop.application import App, Pipeline, Stream
from hexloop.application.composition.build import make_extract
from hexloop.application.composition.featurespec import resolve_features
from hexloop.domain.labels import LabelEvent
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo

RATE = 100.0


def recorded_session(seconds=6.0):
    """emg (3 ch) and force (1 ch, = 10 x the sample index of emg) on the same clock."""
    emg, force = StreamInfo("emg", 3, RATE), StreamInfo("force", 1, RATE)
    store = FakeStore()
    session = store.open_session(SessionMeta("t", (emg, force), class_names=("rest", "fist")))
    n = int(seconds * RATE)
    ts = np.arange(n) / RATE
    data = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)
    session.append("emg", data, ts)
    session.append("force", (10 * np.arange(n, dtype=np.float32))[:, None], ts)
    for t, k in ((1.0, 0), (2.5, 1), (4.0, 0)):
        session.add_label(LabelEvent(t, k))
    return store.read(session.close().location)


def pipeline_for(*streams, window_ms=200.0):
    app = App("t")
    app.streams(*[Stream(name, source=None, window_ms=window_ms) for name in streams])
    pipeline = Pipeline(app)
    pipeline.extract(lambda w: w["emg"][0, [0, -1]])  # first and last sample index of the window
    return pipeline


def test_classification_windows_stay_inside_trials_and_carry_their_cue():
    data = pipeline_for("emg").training_data(recorded_session(), step_ms=50)
    assert data.task == "classification" and data.names == ("rest", "fist")
    first, last = data.x[:, 0] / RATE, data.x[:, 1] / RATE
    assert np.allclose(last - first, 0.19)  # 20 samples
    cue = np.select([first >= 4.0, first >= 2.5, first >= 1.0], [0, 1, 0], -1)
    assert (cue >= 0).all() and np.array_equal(cue, data.y)
    assert not ((first < 2.5) & (last >= 2.5)).any() and not ((first < 4.0) & (last >= 4.0)).any()


def test_regression_learns_the_target_streams_value_at_each_window_end():
    data = pipeline_for("emg").training_data(recorded_session(), step_ms=100, target="force")
    assert data.task == "regression" and data.names == ("ch1",)
    assert data.y.shape == (len(data.x), 1)
    assert np.array_equal(data.y[:, 0], 10 * data.x[:, 1])  # force at the window's last sample
    assert data.x[0, 0] == 0 and len(data.x) == (600 - 20) // 10 + 1  # the whole recording


def test_a_session_too_short_for_one_window_says_what_to_do():
    with pytest.raises(ValueError, match="record longer labelled trials"):
        pipeline_for("emg", window_ms=5000).training_data(recorded_session())


def test_raw_features_pass_windows_through_for_networks_on_raw_data():
    assert resolve_features("raw") == "raw"
    extract = make_extract("raw", ["emg", "acc"])
    out = extract({"emg": np.ones((3, 20)), "acc": np.zeros((2, 20))})
    assert out.shape == (5, 20) and out[:3].all() and not out[3:].any()
    with pytest.raises(LookupError, match="'raw'"):
        resolve_features("no_such_feature")
