"""The streams table shows a refused stream and the anomalies a stream kept (#11 items 1-4), and
the viewer's autoscale ignores display buckets with no finite sample."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")

from imgui_bundle import imgui, implot  # noqa: E402

from hexloop.adapters.imgui import panels  # noqa: E402
from hexloop.application import StreamHealth, StreamStatus  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from tests.test_gui_panels import Frames  # noqa: E402


@pytest.fixture
def frames():
    """A pure ImGui + ImPlot context, as in tests/test_gui_panels.py."""
    context = imgui.create_context()
    plot_context = implot.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)
    io.display_size = (1280, 800)
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    try:
        yield Frames()
    finally:
        implot.destroy_context(plot_context)
        imgui.destroy_context(context)


def health(status=StreamStatus.STREAMING, error=None, **counts):
    return StreamHealth(status, 0.01, 100.0, 500, 0, 0, 0, error, **counts)


def drawn_row(frames, monkeypatch, name, stream_health):
    drawn = []

    def recording(fn):
        def record(*args):
            drawn.append(args[-1])
            return fn(*args)
        return record

    for fn in ("text", "text_colored"):
        monkeypatch.setattr(panels.imgui, fn, recording(getattr(imgui, fn)))
    stream = SimpleNamespace(health=stream_health, info=StreamInfo(name, 2, 100.0))
    frames(SimpleNamespace(streams={name: stream}), panels.streams_panel)
    return drawn[drawn.index(name):]


def test_the_streams_row_counts_kept_anomalies(frames, monkeypatch):
    row = drawn_row(frames, monkeypatch, "emg",
                    health(clock_jumps=2, non_finite=5, clipped=3))
    assert row[-1] == "2 J 5 NaN 3 clip"
    assert drawn_row(frames, monkeypatch, "eeg", health())[-1] == "0"


def test_a_refused_stream_says_refused_in_red(frames, monkeypatch):
    reason = "StreamRefusedError: stream 'emg': expected 2 ch float32 at 100.0 Hz, got ..."
    row = drawn_row(frames, monkeypatch, "emg", health(StreamStatus.REFUSED, reason))
    assert row[1] == "refused"
    assert panels.STATUS_COLORS["refused"] == panels.RED


def test_autoscale_ignores_buckets_with_no_finite_sample():
    settings = panels.ViewerSettings()
    lows = np.array([[np.nan, -1.0, -3.0], [np.nan, np.nan, np.nan]], np.float32)
    highs = np.array([[np.nan, 1.0, 5.0], [np.nan, np.nan, np.nan]], np.float32)
    panels._update_scale(settings, lows, highs)
    assert settings.centers[0] == 1.0  # (-3 + 5) / 2: the NaN bucket is a gap, not a value
    assert np.isnan(settings.centers[1])  # nothing measured on that channel yet
    assert settings.spacing == pytest.approx(8.0 * 1.1)
