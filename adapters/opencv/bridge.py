"""WebCamBridge: a CommandBridge that runs the OpenCV frame recorder child for one camera."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from hexloop.adapters.subprocess import CommandBridge
from hexloop.ports.bridge import BridgeStartError

from .frames import recording_frames_path

CHILD_MODULE = "hexloop.adapters.opencv.child"


def _has_content(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


class WebCamBridge(CommandBridge):
    """Records a camera (device index), a video file or a stream URL in a child process.

    Frames go to a Zarr group (see `frames.py`), and an LSL stream `<name>_clock` carries
    (frame index, capture time) for every frame kept, so the app knows which frame is current
    without touching frames. `zarr_path` is where frames go outside recordings; during a
    recording `set_recording_dir(session_folder)` moves them to `<session>/bridges/<name>.zarr`.

    With no `zarr_path`, `start()` arms the bridge and it captures only during recordings.
    Existing frames are never overwritten: starting on a path that already holds data raises
    BridgeStartError, unless `append=True` or this bridge itself created it earlier (a restart
    after a crash, or returning to `zarr_path` after a recording, resumes it).
    """

    def __init__(
        self,
        name: str,
        device: int | str = 0,
        zarr_path: str | os.PathLike | None = None,
        fps: float = 30.0,
        *,
        size: tuple[int, int] | None = None,
        loop: bool = False,
        append: bool = False,
        chunk_frames: int | None = None,
        stall_timeout_s: float = 5.0,
        restart: bool = False,
        max_restarts: int = 5,
        backoff_s: float = 1.0,
        log_dir: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None,
        python: str | None = None,
    ):
        if isinstance(device, bool) or not (
            (isinstance(device, int) and device >= 0) or (isinstance(device, str) and device)
        ):
            raise ValueError(
                f"webcam bridge {name!r}: device must be a camera index (0, 1, ...), a video "
                f"file path or a stream URL, got {device!r}"
            )
        if not (isinstance(fps, int | float) and 0 < fps <= 1000):
            raise ValueError(f"webcam bridge {name!r}: fps must be in (0, 1000], got {fps!r}")
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"webcam bridge {name!r}: size must be (width, height), got {size!r}")
        if stall_timeout_s <= 0:
            raise ValueError(f"webcam bridge {name!r}: stall_timeout_s must be positive")
        if chunk_frames is not None and chunk_frames < 1:
            raise ValueError(f"webcam bridge {name!r}: chunk_frames must be at least 1")
        self.python = python or sys.executable
        super().__init__(name, [self.python, "-m", CHILD_MODULE], env=env, log_dir=log_dir,
                         restart=restart, max_restarts=max_restarts, backoff_s=backoff_s)
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        self.device = device
        self.zarr_path = Path(zarr_path) if zarr_path is not None else None
        self.fps = float(fps)
        self.size = tuple(size) if size is not None else None
        self.loop = loop
        self.append = append
        self.chunk_frames = chunk_frames
        self.stall_timeout_s = float(stall_timeout_s)
        self._recording_dir: Path | None = None
        self._target: Path | None = None  # where the current (or last) child writes
        self._created: set[Path] = set()  # outputs this bridge started fresh: safe to resume
        self._armed = False  # started (by start()) and not stopped since

    @property
    def clock_stream(self) -> str:
        """Name of the LSL stream with (frame index, capture time) per frame."""
        return f"{self.name}_clock"

    @property
    def frames_path(self) -> Path | None:
        """The Zarr group the running child writes to (or the last one written)."""
        return self._target

    def target_path(self) -> Path | None:
        """Where the next start would write: the recording's folder if set, else `zarr_path`."""
        if self._recording_dir is not None:
            return recording_frames_path(self._recording_dir, self.name)
        return self.zarr_path

    def start(self, output_dir: str | os.PathLike | None = None) -> None:
        """Start capturing (no-op while running); `output_dir` sets the recording folder first.

        Without a `zarr_path` and outside a recording, the bridge is armed instead: it stays
        stopped and starts capturing when `set_recording_dir` gives it a session folder.
        """
        with self._lifecycle:
            if self.status.running:
                return
            if output_dir is not None:
                self._recording_dir = Path(output_dir)
            self._armed = True
            self._launch()

    def stop(self, timeout: float = 5.0):
        with self._lifecycle:
            self._armed = False
            return super().stop(timeout)

    def set_recording_dir(self, path: str | os.PathLike | None, timeout: float = 5.0) -> Path | None:
        """Send frames into a recording's folder, `<path>/bridges/<name>.zarr` (None: back to
        `zarr_path`, or idle when there is none).

        On a started bridge the child is restarted on the new output (the old one is flushed
        and closed first), so capture pauses for the time the camera takes to reopen, about a
        second; this call blocks meanwhile. On a bridge not started yet it only takes effect at
        the next start. Returns where frames go now (None: nowhere).
        """
        with self._lifecycle:
            self._recording_dir = Path(path) if path is not None else None
            if not self._armed:
                return None
            target = self.target_path()
            if self.status.running:
                if target is not None and target.absolute() == self._target:
                    return self._target
                super().stop(timeout)
            return self._launch()

    def _launch(self) -> Path | None:
        """Spawn the child on the current target; the caller holds the lifecycle lock."""
        target = self.target_path()
        if target is None:
            self._publish("stopped", None, self.status.exit_code,
                          "armed: captures while a recording runs (it has no zarr_path)")
            return None
        target = target.absolute()
        if target not in self._created and not self.append:
            if _has_content(target):
                raise BridgeStartError(
                    f"webcam bridge {self.name!r}: {target} already holds data; refusing to "
                    "overwrite recorded frames. Choose a new zarr_path, or pass append=True "
                    "to continue it"
                )
            self._created.add(target)
        self._target = target
        super().start()
        return target

    def _command(self, restarting: bool) -> list[str]:
        argv = [*self.argv, "--name", self.name, "--source", str(self.device),
                "--output", str(self._target), "--fps", repr(self.fps),
                "--stall-timeout", repr(self.stall_timeout_s)]
        if self.loop:
            argv.append("--loop")
        if self.append or self._target in self._created:
            argv.append("--append")  # ours (or allowed): resume instead of refusing
        if self.size is not None:
            argv += ["--width", str(self.size[0]), "--height", str(self.size[1])]
        if self.chunk_frames is not None:
            argv += ["--chunk-frames", str(self.chunk_frames)]
        return argv
