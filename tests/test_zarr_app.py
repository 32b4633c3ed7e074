"""End to end: a real UCI Myo file replayed through an App's Stream, recorded by the Zarr store."""

import time

import numpy as np
import pytest
from shared_data import UCI_EMG

pytest.importorskip("zarr")

from hexloop.adapters.replay import ReplaySource, read_text_recording  # noqa: E402
from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.application import App, Stream  # noqa: E402

UCI_FILE = UCI_EMG / "03" / "1_raw_data_09-32_11.04.16.txt"


@pytest.mark.skipif(not UCI_FILE.exists(), reason="the UCI EMG gestures data is not here")
def test_an_app_records_a_replayed_lab_file_sample_for_sample_with_its_labels(tmp_path):
    text = read_text_recording(UCI_FILE)
    source = ReplaySource(UCI_FILE, name="emg", speed=8.0)
    app = App("replay", store=ZarrStore(tmp_path, chunk_seconds=0.25),
              class_names=source.class_names)
    stream = Stream("emg", source, window_ms=200, buffer_ms=4000)
    app.streams(stream)
    app.start()
    try:
        deadline = time.monotonic() + 10
        while stream.info is None and time.monotonic() < deadline:
            time.sleep(0.01)
        app.start_recording(slug="uci03")
        time.sleep(2.0)  # 16 s of the recording at 8x; the stream forwards the file's labels
        summary = app.stop_recording()
    finally:
        app.shutdown()
    assert summary.error is None and summary.location.endswith(".session.zip")
    with open_session(summary.location) as session:
        data, ts = session.data("emg")
        assert session.meta.class_names == text.labels.class_names
        events = session.labels.events
    n = data.shape[1]
    assert n == summary.samples["emg"] > 10_000
    assert np.allclose(np.diff(ts), 1 / 8000.0)  # 1 kHz replayed at 8x, no sample missing
    # the recording is one contiguous stretch of the file, sample for sample
    candidates = np.flatnonzero(np.all(text.data == data[:, 0], axis=1))
    assert len(events) >= 3  # gestures change every ~3 s of recording
    # each forwarded label sits where the file changes to that class
    k = next(k for k in candidates if np.array_equal(text.data[k:k + n], data.T))
    for event in events:
        i = int(np.searchsorted(ts, event.time))
        assert text.labels.class_at(text.timestamps[k + i : k + i + 1])[0] == event.class_index
