"""A webcam bridge inside a recording: frames packed with the session, its clock recorded as a
stream, and `session.frame_at(t)` aligning video with the recording after the fact."""

import time
import uuid

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("zarr")
pytest.importorskip("pylsl")

from hexloop.adapters.opencv import WebCamBridge  # noqa: E402
from hexloop.adapters.pylsl import PylslSource  # noqa: E402
from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.application import App, Stream  # noqa: E402


def write_video(path, frames=45, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 5) % 256, np.uint8))
    writer.release()
    return str(path)


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_frames_land_in_the_session_and_frame_at_aligns_them(tmp_path):
    name = f"cam{uuid.uuid4().hex[:6]}"
    bridge = WebCamBridge(name, write_video(tmp_path / "clip.avi"), fps=30, loop=True,
                          zarr_path=tmp_path / "outside.zarr", log_dir=tmp_path / "logs")
    app = App("video", store=ZarrStore(tmp_path / "sessions"))
    app.streams(Stream("clock", PylslSource(name=f"{name}_clock", timeout=10.0)))
    app.bridges(bridge)
    app.before_run_hooks.append(lambda a: bridge.start())
    app.start()
    try:
        assert wait_for(lambda: app.recording_refusal() is None), app.recording_refusal()
        app.start_recording(slug="video")
        clock = app.ctx.streams["clock"]
        got = clock.health.samples
        assert wait_for(lambda: clock.health.samples > got + 30)  # ~1 s of frames in the session
        summary = app.stop_recording()
    finally:
        app.shutdown()
    assert summary.error is None
    assert summary.location.endswith(".session.zip")
    session = open_session(summary.location)
    assert session.bridges() == [name]
    frames = session.frames()
    data, ts = session.data("clock")  # channels: frame index, capture time
    in_session = ts >= frames.timestamps[0]  # the clock of the child writing into the session
    indices, stamps = data[0, in_session].astype(int), data[1, in_session]
    assert indices.size > 10 and len(frames) >= indices.max() + 1
    for index, stamp in zip(indices[::5], stamps[::5]):
        assert np.array_equal(session.frame_at(stamp), frames.frame(int(index)))
    with pytest.raises(LookupError, match="no frames of bridge 'other'"):
        session.frames("other")
