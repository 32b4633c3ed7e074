"""The webcam child's devices: opening a camera, file or stream URL, and its LSL clock outlet."""

from __future__ import annotations

from pathlib import Path

from hexloop.adapters.subprocess.lifecycle import BridgeExitError
from hexloop.domain.bridges import BridgeExit

from .frames import FORMAT


def parse_source(text: str) -> int | str:
    """A device index ("0") or a video file path / stream URL."""
    return int(text) if text.isdigit() else text


def is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in source


def open_capture(cv2, source: int | str, fps: float, size: tuple[int, int] | None,
                 stall_timeout_s: float):
    """An opened cv2.VideoCapture for a camera index, a video file or a stream URL."""
    if isinstance(source, str) and not is_live(source):
        if not Path(source).is_file():
            raise BridgeExitError(BridgeExit.SOURCE_UNAVAILABLE,
                                  f"video file {source} does not exist")
        cap = cv2.VideoCapture(source)
    elif isinstance(source, str):  # a stream URL: do not hang forever on it
        timeout_ms = int(stall_timeout_s * 1000)
        cap = cv2.VideoCapture(source, cv2.CAP_ANY, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            timeout_ms])
    else:
        cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        hint = (
            f"camera {source} could not be opened: check it is plugged in, not used by "
            f"another program, and that you may read /dev/video{source}"
            if isinstance(source, int)
            else f"{source!r} could not be opened: check the path or URL and its codec"
        )
        raise BridgeExitError(BridgeExit.SOURCE_UNAVAILABLE, hint)
    if is_live(source):
        cap.set(cv2.CAP_PROP_FPS, fps)
        if size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    return cap


def make_clock_outlet(pylsl, name: str, fps: float, output: Path):
    """The `<name>_clock` LSL stream: each frame's index and capture time, as it is taken."""
    info = pylsl.StreamInfo(f"{name}_clock", "FrameClock", 2, fps,
                            pylsl.cf_double64, f"hexloop-bridge-{name}")
    channels = info.desc().append_child("channels")
    for label, unit in (("frame", "index"), ("capture_time", "s")):
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
    info.desc().append_child_value("frames_path", str(output.resolve()))
    info.desc().append_child_value("format", FORMAT)
    return pylsl.StreamOutlet(info)
