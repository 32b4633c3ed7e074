"""The inspect summary: streams, durations, sample counts, gaps and labels per class, as text."""

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore, inspect_text  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402


def test_inspect_reports_streams_gaps_and_labels(tmp_path):
    infos = [StreamInfo("emg", 4, 100.0), StreamInfo("force", 1, 10.0, "int16")]
    session = ZarrStore(tmp_path).open_session(
        SessionMeta("study", infos, class_names=("rest", "fist", "pinch"), slug="p07",
                    extras={"participant": "P07"}))
    t = np.arange(1000) / 100.0
    keep = (t < 3.0) | (t >= 3.5)  # a 0.5 s hole: 50 samples missing
    keep &= (t < 7.0) | (t >= 7.2)  # and a 0.2 s one: 20 samples
    session.append("emg", np.zeros((keep.sum(), 4), np.float32), t[keep])
    tf = np.arange(100) / 10.0
    session.append("force", np.zeros((100, 1), np.int16), tf)
    for time_s, k in [(1.0, 0), (2.0, 1), (4.0, 0), (5.0, 1), (8.0, 2)]:
        session.add_label(LabelEvent(time_s, k))
    summary = session.close()

    text = inspect_text(summary.location)
    lines = text.splitlines()
    assert "status   closed" in lines
    assert "participant='P07'" in text
    assert "  emg: 4 ch, 100 Hz, float32, 930 samples, 9.99 s" in lines
    assert "    effective rate 92.99 Hz; 2 gaps (about 70 samples missing, longest 0.51 s)" in lines
    assert "  force: 1 ch, 10 Hz, int16, 100 samples, 9.90 s" in lines
    assert "labels   5 events, 5 trials" in lines
    assert "  rest: 2 trials, 2.00 s" in lines  # 1-2 s and 4-5 s
    assert "  fist: 2 trials, 5.00 s" in lines  # 2-4 s and 5-8 s
    assert "  pinch: 1 trials, 1.99 s" in lines  # 8 s to the last sample at 9.99 s


def test_inspect_says_an_interrupted_session_needs_recovering(tmp_path):
    session = ZarrStore(tmp_path, chunk_seconds=0.5).open_session(
        SessionMeta("x", [StreamInfo("emg", 1, 100.0)]))
    session.append("emg", np.zeros((120, 1), np.float32), np.arange(120) / 100.0)
    text = inspect_text(session.location)  # still open: as after a crash
    assert "status   recording" in text
    assert "hexloop recover" in text
    session.close()
