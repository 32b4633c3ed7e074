"""The webcam bridge's output on disk, and reading it back: which frame was shown at a time.

Layout: a Zarr v3 group (`<name>.zarr`) holding
  frames      (n, height, width, channels) uint8, BGR as OpenCV delivers it; one Zarr chunk per
              frame, written one shard (`chunk_frames` frames, about a second) at a time;
  timestamps  (n,) float64, the capture time of each frame on the LSL clock (pylsl.local_clock);
              NaN where a frame was never written.
and attributes `format` = "hexloop.bridge.frames", `version`, `bridge`, `source`, `fps`, `width`,
`height`, `channels`, `color`, `clock`, `clock_stream`. Frames are appended before their
timestamps, so after a crash the frames that count are the leading ones with a timestamp.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "hexloop.bridge.frames"
VERSION = 1
FRAMES = "frames"
TIMESTAMPS = "timestamps"
BRIDGES_FOLDER = "bridges"


def recording_frames_path(session_dir: str | os.PathLike, name: str) -> Path:
    """Where a bridge named `name` puts its frames inside a recording session's folder."""
    return Path(session_dir) / BRIDGES_FOLDER / f"{name}.zarr"


def valid_frame_count(frames_len: int, timestamps: np.ndarray) -> int:
    """Frames that made it to disk with their timestamp (a crash can leave a tail without)."""
    n = min(int(frames_len), int(timestamps.shape[0]))
    missing = np.flatnonzero(~np.isfinite(timestamps[:n]))
    return int(missing[0]) if missing.size else n


def _open_group(group_or_path: Any):
    import zarr

    if isinstance(group_or_path, zarr.Group):
        return group_or_path
    path = Path(group_or_path)
    if not path.exists():
        raise FileNotFoundError(f"no bridge frames at {path}")
    try:
        return zarr.open_group(path, mode="r")
    except Exception as e:
        raise ValueError(f"{path} is not a Zarr group of bridge frames: {e}") from e


class RecordedFrames:
    """A bridge's frames and their timestamps, opened once to answer many time queries.

    It reads what is on disk when opened; open it again to see frames written since.
    """

    def __init__(self, group_or_path: Any):
        group = _open_group(group_or_path)
        where = getattr(group_or_path, "path", None) or str(group_or_path)
        if group.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{where} is not a hexloop bridge frame group (format attribute is "
                f"{group.attrs.get('format')!r}, expected {FORMAT!r})"
            )
        if FRAMES not in group or TIMESTAMPS not in group:
            raise ValueError(f"{where} has no {FRAMES!r} and {TIMESTAMPS!r} arrays")
        self.group = group
        self.frames = group[FRAMES]
        stamps = np.asarray(group[TIMESTAMPS][:], dtype=np.float64)
        self._count = valid_frame_count(self.frames.shape[0], stamps)
        self.timestamps = stamps[: self._count]
        self.attrs = dict(group.attrs)
        self.fps = float(self.attrs.get("fps") or 0.0)

    def __len__(self) -> int:
        return self._count

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return tuple(self.frames.shape[1:])

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as (height, width, channels) uint8, BGR."""
        if not -self._count <= index < self._count:
            raise IndexError(f"frame {index} out of range: {self._count} frames were recorded")
        return np.asarray(self.frames[index % self._count])

    def index_at(self, stream_time: float) -> int:
        """Index of the frame shown at `stream_time`: the last captured at or before it.

        Raises LookupError before the first frame, or later than one frame period (1.5 periods
        of slack) after the last one, when nothing was being shown any more.
        """
        t = float(stream_time)
        if not self._count:
            raise LookupError("no frames were recorded")
        index = int(np.searchsorted(self.timestamps, t, side="right")) - 1
        first, last = self.timestamps[0], self.timestamps[-1]
        if index < 0:
            raise LookupError(
                f"time {t:.4f} s is before the first frame, captured at {first:.4f} s"
            )
        slack = 1.5 / self.fps if self.fps > 0 else 0.0
        if index == self._count - 1 and t > last + slack:
            raise LookupError(
                f"time {t:.4f} s is after the last frame, captured at {last:.4f} s "
                f"(the video ended {t - last:.3f} s earlier)"
            )
        return index

    def frame_at(self, stream_time: float) -> np.ndarray:
        return self.frame(self.index_at(stream_time))


def frame_at(frames_group_or_path: Any, stream_time: float) -> np.ndarray:
    """The frame shown at `stream_time` (LSL clock): the last one captured at or before it.

    `frames_group_or_path` is the bridge's Zarr group or its path. For many lookups, open a
    `RecordedFrames` once instead.
    """
    return RecordedFrames(frames_group_or_path).frame_at(stream_time)
