"""Sessions exported to MNE: one RawArray per stream, volts, trials as annotations."""

import datetime as dt

import numpy as np
import pytest

pytest.importorskip("zarr")
pytest.importorskip("mne")

from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402


def test_to_mne_round_trip(tmp_path):
    emg = StreamInfo("emg", 2, 500.0, "float32", channel_names=("flexor", "extensor"),
                     units=("uV", "uV"), type="EMG")
    aux = StreamInfo("aux", 1, 100.0, "int16", channel_names=("button",), type="button")
    events = StreamInfo("events", 1, 0.0, "float32")
    created = dt.datetime(2025, 3, 1, 10, 15, tzinfo=dt.UTC)
    session = ZarrStore(tmp_path).open_session(
        SessionMeta("mne", [emg, aux, events], class_names=("rest", "fist"), created=created))
    rng = np.random.default_rng(0)
    t = 50.0 + np.arange(2000) / 500.0  # 4 s starting at t = 50 s on the stream clock
    emg_data = (rng.standard_normal((2000, 2)) * 30).astype(np.float32)
    session.append("emg", emg_data, t)
    ta = 50.0 + np.arange(400) / 100.0
    session.append("aux", np.arange(400, dtype=np.int16)[:, None], ta)
    session.append("events", np.ones((3, 1), np.float32), np.array([50.5, 51.0, 52.0]))
    session.add_label(LabelEvent(51.0, 0))
    session.add_label(LabelEvent(52.5, 1))
    summary = session.close()

    with open_session(summary.location) as back, pytest.warns(UserWarning, match="irregular"):
        raws = back.to_mne()
    assert set(raws) == {"emg", "aux"}  # the irregular stream cannot be a RawArray
    raw = raws["emg"]
    assert raw.info["sfreq"] == 500.0
    assert raw.ch_names == ["flexor", "extensor"]
    assert raw.get_channel_types() == ["emg", "emg"]
    assert np.allclose(raw.get_data(), emg_data.T.astype(np.float64) * 1e-6)  # uV -> V
    assert raw.info["meas_date"] == created
    ann = raw.annotations
    assert list(ann.description) == ["rest", "fist"]
    assert np.allclose(ann.onset, [1.0, 2.5])  # seconds from the first sample
    assert np.allclose(ann.duration, [1.5, 4.0 - 2.5])  # the last trial runs to the end
    aux_raw = raws["aux"]
    assert aux_raw.get_channel_types() == ["misc"]
    assert np.array_equal(aux_raw.get_data()[0], np.arange(400))
    assert list(aux_raw.annotations.description) == ["rest", "fist"]
    with open_session(summary.location) as back, pytest.raises(ValueError, match="irregular"):
        back.to_mne(["events"])
