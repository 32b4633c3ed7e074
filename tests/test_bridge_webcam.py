"""WebCamBridge end to end: a video file written here plays the camera; the child records it to
Zarr and publishes its LSL clock on loopback; frame_at finds frames; crashes are reported.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
zarr = pytest.importorskip("zarr")
pylsl = pytest.importorskip("pylsl")

from hexloop.adapters.opencv import (  # noqa: E402
    CHILD_MODULE,
    RecordedFrames,
    WebCamBridge,
    frame_at,
    recording_frames_path,
)
from hexloop.adapters.opencv.child import FrameRecorder  # noqa: E402
from hexloop.adapters.subprocess import CommandBridge  # noqa: E402
from hexloop.domain.bridges import BridgeExit  # noqa: E402
from hexloop.ports.bridge import BridgeStartError  # noqa: E402
from hexloop.ports.bridge_contracts import check_bridge  # noqa: E402

W, H, N_FRAMES, BITS = 160, 120, 60, 8


def encode(index: int) -> np.ndarray:
    """A frame whose 8 vertical bands spell `index` in binary: survives JPEG compression."""
    frame = np.zeros((H, W, 3), np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            frame[:, bit * 20:(bit + 1) * 20] = 255
    return frame


def decode(frame: np.ndarray) -> int:
    return sum(1 << bit for bit in range(BITS) if frame[H // 2, bit * 20 + 10].mean() > 128)


def unique_name() -> str:
    return f"cam{uuid.uuid4().hex[:8]}"


def live_children() -> set[int]:
    """Pids of this process's children that are still alive (not zombies)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry))
    return found


def process_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an orphan's zombie may never be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(step)
    return predicate()


def frames_on_disk(path) -> int:
    """Frames a running child has written so far (0 while there is no readable array yet)."""
    try:
        return len(RecordedFrames(path))
    except Exception:  # noqa: BLE001 - not created yet, or mid-write: not there yet
        return 0


def final_frame_count(status) -> int:
    """The child's last stderr line says how many frames the output holds."""
    match = re.search(r"; (\d+) frames in ", status.stderr_tail[-1])
    assert match, status.stderr_tail
    return int(match.group(1))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "frames.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (W, H))
    assert writer.isOpened()
    for index in range(N_FRAMES):
        writer.write(encode(index))
    writer.release()
    return str(path)


@pytest.fixture
def bridges(tmp_path):
    """Make bridges; afterwards stop them and check that no child process is left behind."""
    before = live_children()
    made = []

    def make(*args, **kwargs):
        kwargs.setdefault("log_dir", tmp_path / "logs")
        bridge = (kwargs.pop("cls", WebCamBridge))(*args, **kwargs)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.stop(5.0)
    assert wait_for(lambda: not (live_children() - before), timeout=5.0), "a child outlived its test"


@pytest.fixture(scope="module")
def recorded(video, tmp_path_factory):
    """One whole run over the video at 30 frames/s, its clock read by a pylsl inlet meanwhile."""
    folder = tmp_path_factory.mktemp("recorded")
    name = unique_name()
    bridge = WebCamBridge(name, video, folder / "cam.zarr", fps=30, log_dir=folder)
    bridge.start()
    try:
        found = pylsl.resolve_byprop("name", bridge.clock_stream, timeout=10.0)
        assert found, f"no {bridge.clock_stream} stream; {bridge.status.summary()}"
        inlet = pylsl.StreamInlet(found[0], recover=False)
        info = inlet.info(timeout=5.0)
        samples, stamps = [], []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                chunk, ts = inlet.pull_chunk(timeout=0.1)
            except pylsl.util.LostError:  # the child ended at the end of the video
                break
            samples += chunk
            stamps += ts
        inlet.close_stream()
        status = wait_for(lambda: bridge.status.state != "running") and bridge.status
    finally:
        bridge.stop(5.0)
    return {"bridge": bridge, "status": status, "samples": np.array(samples),
            "stamps": np.array(stamps), "info": info, "path": folder / "cam.zarr"}


def test_every_frame_of_the_video_is_recorded_in_order(recorded):
    status = recorded["status"]
    assert status.state == "stopped" and status.exit_code == 0, status.summary()
    assert "end of" in status.stderr_tail[-1]
    frames = RecordedFrames(recorded["path"])
    assert len(frames) == N_FRAMES == final_frame_count(status)
    assert frames.frame_shape == (H, W, 3)
    assert [decode(frames.frame(i)) for i in range(len(frames))] == list(range(N_FRAMES))
    intervals = np.diff(frames.timestamps)
    assert np.all(intervals > 0)
    assert abs(np.median(intervals) - 1 / 30) < 0.25 / 30  # played at the requested rate
    assert abs(frames.timestamps[-1] - pylsl.local_clock()) < 60  # on the LSL clock
    assert frames.attrs["clock_stream"] == recorded["bridge"].clock_stream


def test_the_clock_stream_maps_each_frame_index_to_its_recorded_timestamp(recorded):
    info = recorded["info"]
    assert info.channel_count() == 2 and info.nominal_srate() == 30.0
    assert info.channel_format() == pylsl.cf_double64
    assert info.desc().child_value("frames_path") == str(recorded["path"].resolve())
    samples, stamps = recorded["samples"], recorded["stamps"]
    assert len(samples) >= 10, "the inlet saw too little of the 2 s video"
    index = samples[:, 0].astype(int)
    assert np.array_equal(index, np.arange(index[0], N_FRAMES))  # none lost, up to the last
    frames = RecordedFrames(recorded["path"])
    assert np.array_equal(samples[:, 1], frames.timestamps[index])
    assert np.allclose(stamps, samples[:, 1], atol=1e-3)  # sample time = capture time


def test_frame_at_returns_the_last_frame_captured_at_or_before_a_time(recorded):
    frames = RecordedFrames(recorded["path"])
    ts = frames.timestamps
    for k in (0, 1, 29, N_FRAMES - 1):
        assert decode(frame_at(recorded["path"], ts[k])) == k
        between = ts[k] + 0.5 * (ts[k + 1] - ts[k]) if k + 1 < N_FRAMES else ts[k] + 0.01
        assert decode(frame_at(str(recorded["path"]), between)) == k
    group = zarr.open_group(recorded["path"], mode="r")
    assert decode(frame_at(group, ts[10] - 1e-6)) == 9
    with pytest.raises(LookupError, match="before the first frame"):
        frames.frame_at(ts[0] - 0.001)
    with pytest.raises(LookupError, match="after the last frame"):
        frames.frame_at(ts[-1] + 1.0)


def test_frame_at_explains_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError, match="no bridge frames"):
        frame_at(tmp_path / "missing.zarr", 0.0)
    zarr.open_group(tmp_path / "other.zarr", mode="w", attributes={"format": "something"})
    with pytest.raises(ValueError, match="not a hexloop bridge frame group"):
        frame_at(tmp_path / "other.zarr", 0.0)


def test_passes_the_bridge_contract(bridges, video, tmp_path):
    made = []

    def make():
        made.append(bridges(unique_name(), video, tmp_path / f"c{len(made)}.zarr", fps=30,
                            loop=True))
        return made[-1]

    check_bridge(make, timeout=5.0, make_failing=lambda: bridges(
        unique_name(), str(tmp_path / "no.avi"), tmp_path / "failing.zarr"))


def test_sigterm_flushes_a_readable_array_and_exits_cleanly(bridges, video, tmp_path):
    bridge = bridges(unique_name(), video, tmp_path / "cam.zarr", fps=60, loop=True,
                     chunk_frames=25)
    bridge.start()
    assert wait_for(lambda: any("capturing" in ln for ln in bridge.status.stderr_tail))
    # Past the end of the 60-frame video once: it loops.
    assert wait_for(lambda: frames_on_disk(bridge.frames_path) >= 75, timeout=20)
    status = bridge.stop(5.0)
    assert status.state == "stopped" and status.exit_code == 0, status.summary()
    assert "received SIGTERM" in status.stderr_tail[-1]
    frames = RecordedFrames(bridge.frames_path)
    assert len(frames) == final_frame_count(status) >= 75
    decoded = [decode(frames.frame(i)) for i in range(len(frames))]
    assert decoded == [i % N_FRAMES for i in range(len(frames))]
    assert np.all(np.diff(frames.timestamps) > 0)


def test_sigkill_is_a_crash_keeping_whole_shards_and_the_restart_resumes(bridges, video, tmp_path):
    bridge = bridges(unique_name(), video, tmp_path / "cam.zarr", fps=60, loop=True,
                     chunk_frames=10, restart=True, backoff_s=0.5)
    bridge.start()
    assert wait_for(lambda: any("capturing" in ln for ln in bridge.status.stderr_tail))
    assert wait_for(lambda: frames_on_disk(bridge.frames_path) >= 20, timeout=20)
    first_pid = bridge.status.pid
    os.kill(first_pid, signal.SIGKILL)
    status = wait_for(lambda: bridge.status.crashed) and bridge.status
    assert status.exit_code == -signal.SIGKILL, bridge.status.summary()
    assert "restarting in 0.5s" in status.detail
    frames = RecordedFrames(bridge.frames_path)  # what the killed child left: whole shards
    assert len(frames) >= 20 and len(frames) % 10 == 0
    assert [decode(frames.frame(i)) for i in range(len(frames))] == list(range(len(frames)))

    assert wait_for(lambda: bridge.status.running and bridge.status.pid != first_pid)
    assert bridge.status.restarts == 1
    assert wait_for(lambda: any("resuming" in ln for ln in bridge.status.stderr_tail))
    assert wait_for(lambda: frames_on_disk(bridge.frames_path) > len(frames), timeout=20)
    status = bridge.stop(5.0)
    resumed = RecordedFrames(bridge.frames_path)
    assert len(resumed) == final_frame_count(status) > len(frames)
    assert np.all(np.diff(resumed.timestamps) > 0)
    assert np.array_equal(resumed.timestamps[: len(frames)], frames.timestamps)


def test_a_hexloop_stream_follows_the_clock_and_app_shutdown_stops_the_bridge(
        bridges, video, tmp_path):
    pytest.importorskip("hexloop.adapters.pylsl")
    from hexloop.adapters.pylsl import PylslSource
    from hexloop.application import App, Stream

    bridge = bridges(unique_name(), video, tmp_path / "cam.zarr", fps=30, loop=True)
    clock = Stream("frames", PylslSource(bridge.clock_stream, timeout=5.0), window_ms=2000,
                   buffer_ms=5000)
    app = App("bridge-test").streams(clock).bridges(bridge)
    bridge.start()
    app.start()
    try:
        assert wait_for(lambda: clock.health.samples >= 20, timeout=15), clock.health
        assert clock.info.channel_names == ("frame", "capture_time")
        data, ts = clock.get_window()
    finally:
        app.shutdown()
    status = bridge.status
    assert status.state == "stopped" and status.exit_code == 0, status.summary()
    index = data[0].astype(int)
    assert np.array_equal(np.diff(index), np.ones(len(index) - 1))
    assert np.allclose(ts, data[1], atol=1e-3)  # the stream's time is the capture time
    frames = RecordedFrames(bridge.frames_path)
    assert np.array_equal(frames.timestamps[index], data[1])
    assert [decode(frame_at(bridge.frames_path, t)) for t in data[1]] == list(index % N_FRAMES)


def test_existing_frames_are_never_overwritten(bridges, recorded, tmp_path):
    existing = recorded["path"]
    before = RecordedFrames(existing).timestamps.copy()
    bridge = bridges(unique_name(), "0", existing)
    before_start = live_children()
    with pytest.raises(BridgeStartError, match="already holds data; refusing to overwrite"):
        bridge.start()
    # Refused before anything was spawned: no new child, no run log, nothing reported running.
    assert live_children() - before_start == set()
    assert not bridge.log_path.exists()
    assert bridge.status.state == "stopped" and bridge.status.pid is None
    # The child refuses on its own too, whoever starts it.
    argv = [sys.executable, "-m", CHILD_MODULE, "--name", "cam", "--source", "0",
            "--output", str(existing)]
    child = bridges("direct", argv, cls=CommandBridge)
    child.start()
    status = wait_for(lambda: child.status.crashed) and child.status
    assert status.exit_code == BridgeExit.OUTPUT_EXISTS, child.status.summary()
    assert "refusing to overwrite recorded frames" in status.stderr_tail[-1]
    assert np.array_equal(RecordedFrames(existing).timestamps, before)


def test_a_camera_that_cannot_be_opened_exits_with_its_code_and_reason(bridges, tmp_path):
    missing = bridges(unique_name(), str(tmp_path / "gone.avi"), tmp_path / "a.zarr")
    camera = bridges(unique_name(), 63, tmp_path / "b.zarr")
    missing.start()
    camera.start()
    for bridge, reason in ((missing, "does not exist"), (camera, "camera 63 could not be opened")):
        status = wait_for(lambda b=bridge: b.status.crashed) and bridge.status
        assert status.exit_code == BridgeExit.SOURCE_UNAVAILABLE, bridge.status.summary()
        assert reason in status.stderr_tail[-1]
        assert "could not open its source" in status.summary()
    assert not (tmp_path / "a.zarr").exists()


class _StallingMjpeg(BaseHTTPRequestHandler):
    """An IP camera that sends 20 frames, then keeps the connection open and goes silent."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for index in range(20):
            jpg = cv2.imencode(".jpg", encode(index))[1].tobytes()
            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                             % len(jpg) + jpg + b"\r\n")
            self.wfile.flush()
            time.sleep(1 / 30)
        self.server.silent.wait(30)

    def log_message(self, *args):
        pass


def test_a_stream_that_stops_delivering_frames_exits_with_source_failed(bridges, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StallingMjpeg)
    server.daemon_threads = True
    server.silent = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/camera.mjpg"
        bridge = bridges(unique_name(), url, tmp_path / "ip.zarr", fps=30, stall_timeout_s=1.0)
        bridge.start()
        status = wait_for(lambda: bridge.status.crashed, timeout=15) and bridge.status
        assert status.exit_code == BridgeExit.SOURCE_FAILED, bridge.status.summary()
        assert "no new frame arrived" in status.stderr_tail[-1]
        frames = RecordedFrames(bridge.frames_path)  # what came before the stall is kept
        assert len(frames) == final_frame_count(status) >= 10
        decoded = [decode(frames.frame(i)) for i in range(len(frames))]
        assert decoded == sorted(set(decoded)) and decoded[-1] < 20  # in order, none twice
        # A frame is missing only if it was thinned out of a burst (a busy machine delivers the
        # stream's frames late and together), and every thinned frame is reported.
        match = re.search(r"; (\d+) frames thinned out", status.stderr_tail[-1])
        thinned = int(match.group(1)) if match else 0
        assert decoded[0] == 0 and len(decoded) + thinned >= 15, status.stderr_tail[-1]
        assert (decoded[-1] + 1) - len(decoded) <= thinned, status.stderr_tail[-1]
    finally:
        server.silent.set()
        server.shutdown()
        server.server_close()


def test_set_recording_dir_moves_frames_into_the_session_and_back(bridges, video, tmp_path):
    outside = tmp_path / "outside.zarr"
    bridge = bridges(unique_name(), video, outside, fps=60, loop=True, chunk_frames=10)
    assert bridge.set_recording_dir(tmp_path / "nothing") is None  # not running: next start
    bridge.set_recording_dir(None)
    bridge.start()
    assert bridge.frames_path == outside.absolute()
    assert wait_for(lambda: frames_on_disk(outside) >= 10, timeout=20)
    session = tmp_path / "session"
    inside = bridge.set_recording_dir(session)
    assert inside == recording_frames_path(session, bridge.name).absolute() == bridge.frames_path
    assert wait_for(lambda: frames_on_disk(inside) >= 10, timeout=20)
    before = frames_on_disk(outside)
    assert bridge.set_recording_dir(None) == outside.absolute()
    assert wait_for(lambda: any("resuming" in ln for ln in bridge.status.stderr_tail))
    assert wait_for(lambda: frames_on_disk(outside) > before, timeout=20)
    bridge.stop(5.0)
    during = RecordedFrames(inside).timestamps
    around = RecordedFrames(outside).timestamps
    assert len(during) > 0 and np.all(np.diff(around) > 0)
    assert np.any(around < during[0]) and np.any(around > during[-1])
    assert not np.any((around >= during[0]) & (around <= during[-1]))


def test_an_orphaned_child_finishes_its_output_and_exits_when_the_app_is_killed(video, tmp_path):
    name = unique_name()
    app_code = (
        "import sys, time\n"
        "from hexloop.adapters.opencv import WebCamBridge\n"
        f"b = WebCamBridge({name!r}, {video!r}, {str(tmp_path / 'cam.zarr')!r}, fps=60, "
        f"loop=True, chunk_frames=10, log_dir={str(tmp_path)!r})\n"
        "b.start()\n"
        "print(b.status.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", app_code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(app.stdout.readline())
        log = tmp_path / f"{name}.stderr.log"
        assert wait_for(lambda: log.exists() and "capturing" in log.read_text())
        assert wait_for(lambda: frames_on_disk(tmp_path / "cam.zarr") >= 10, timeout=20)
        app.kill()  # no cleanup, no atexit: the child must notice on its own
        app.wait(5)
    finally:
        app.kill()
        app.stdout.close()
    assert wait_for(lambda: not process_alive(child), timeout=5.0), "the orphan kept running"
    last = log.read_text().splitlines()[-1]
    assert "its parent process went away" in last
    count = int(re.search(r"; (\d+) frames in ", last).group(1))
    assert len(RecordedFrames(tmp_path / "cam.zarr")) == count > 0


class _GatedArray:
    """A Zarr array whose appends wait for `gate`: a disk that cannot keep up."""

    def __init__(self, array, gate: threading.Event):
        self._array, self._gate = array, gate

    def append(self, data, axis=0):
        assert self._gate.wait(60), "the test never opened the gate"
        return self._array.append(data, axis=axis)

    def __getattr__(self, name):
        return getattr(self._array, name)


def test_the_stall_watchdog_ignores_time_spent_waiting_for_the_disk(video, tmp_path, monkeypatch):
    """The real path: the writer blocks, the capture thread waits for the disk (no new frame for
    many stall timeouts), the watchdog keeps looking and must not call the source stalled."""
    import hexloop.adapters.opencv.child as child

    block_bytes = 2 * H * W * 3  # chunk_frames=2 below
    monkeypatch.setattr(child, "MAX_BACKLOG_BYTES", block_bytes)  # one block queued, then wait
    gate = threading.Event()
    recorder = FrameRecorder(unique_name(), video, tmp_path / "x.zarr", 60.0, loop=True,
                             chunk_frames=2, stall_timeout_s=0.3)
    open_arrays = recorder._open_arrays

    def open_gated(shape):
        open_arrays(shape)
        recorder.frames_array = _GatedArray(recorder.frames_array, gate)

    recorder._open_arrays = open_gated
    silent_checks = []
    check_stall = recorder._check_stall

    def counting_check(started):
        silent = recorder.last_frame_at is not None and (
            time.monotonic() - recorder.last_frame_at > 2 * recorder.stall_timeout_s)
        if silent and recorder.waiting_for_disk:
            silent_checks.append(time.monotonic())
        check_stall(started)

    recorder._check_stall = counting_check
    codes = []
    runner = threading.Thread(target=lambda: codes.append(recorder.run()), daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: recorder.waiting_for_disk, timeout=20), "capture never waited"
        # The watchdog looked at least 3 times while no frame came for twice its timeout.
        assert wait_for(lambda: len(silent_checks) >= 3 or recorder.failure is not None,
                        timeout=20)
        assert recorder.failure is None, recorder.failure
        assert not recorder.lifecycle.stop_requested.is_set()
        waited_for = recorder.captured
        gate.set()  # the disk catches up: capture goes on
        assert wait_for(lambda: recorder.captured > waited_for + 4, timeout=20)
        assert recorder.failure is None
    finally:
        gate.set()
        recorder.lifecycle.request_stop("test over")
        runner.join(30)
    assert codes == [int(BridgeExit.OK)]
    assert recorder.written == recorder.captured
    assert len(RecordedFrames(tmp_path / "x.zarr")) == recorder.written


def test_the_stall_watchdog_still_fires_when_not_waiting_for_the_disk(tmp_path):
    recorder = FrameRecorder("cam", 0, tmp_path / "x.zarr", 30.0, stall_timeout_s=1.0)
    recorder.last_frame_at = time.monotonic() - 2.0
    recorder._check_stall(started=0.0)
    assert recorder.failure.exit_code == BridgeExit.SOURCE_FAILED
    assert "no new frame arrived" in recorder.failure.message
    assert recorder.lifecycle.stop_requested.is_set()


@pytest.mark.parametrize("kwargs,match", [
    ({"device": -1}, "device must be"), ({"device": ""}, "device must be"),
    ({"fps": 0}, "fps must be"), ({"size": (640,)}, "size must be"),
    ({"stall_timeout_s": 0}, "stall_timeout_s"), ({"chunk_frames": 0}, "chunk_frames"),
])
def test_bad_options_are_refused_with_what_to_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WebCamBridge("cam", **kwargs)


def test_without_a_zarr_path_it_captures_only_while_recording(bridges, video, tmp_path):
    bridge = bridges(unique_name(), video, fps=60, loop=True)
    bridge.start()
    assert bridge.status.state == "stopped" and "armed" in bridge.status.detail
    session = tmp_path / "session"
    inside = bridge.set_recording_dir(session)
    assert inside == recording_frames_path(session, bridge.name).absolute()
    assert bridge.status.running
    assert wait_for(lambda: frames_on_disk(inside) >= 60, timeout=20)  # one whole shard
    assert bridge.set_recording_dir(None) is None
    status = bridge.status
    assert status.state == "stopped" and status.exit_code == 0 and "armed" in status.detail
    assert len(RecordedFrames(inside)) == final_frame_count(status) > 0
    bridge.stop()
    assert bridge.set_recording_dir(tmp_path / "later") is None  # stopped: not armed any more
    assert not bridge.status.running
