"""ReplaySource: a recorded session, an XDF file or a text recording played back live, as a Source.

Pacing follows the recording's own timestamps: after `e` seconds of wall time every sample
recorded within the first `e * speed` seconds has been delivered (the count is derived from
elapsed time, so it never drifts), gaps in the recording stay gaps. Timestamps are re-based on
the live clock, `t0 + (recorded - first) / speed`, and keep rising across loops (a loop lasts the
recording plus one sample period). Label events are re-based the same way when their time is
reached and wait in `poll_labels()`.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np

from hexloop.domain.labels import LabelEvent
from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.streams import StreamInfo

from .text import read_text_recording

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
#: XDF files (LabRecorder) are read whole with pyxdf (the `xdf` extra): adapters/xdf.
XDF_SUFFIXES = (".xdf", ".xdfz")
XDF_OPTIONS = ("classes", "markers", "dejitter")


class _Recording:
    """The replayed samples: relative times, labels, and blocks of data read on demand."""

    def __init__(self, info: StreamInfo, rel_ts: np.ndarray, labels, class_names, read_block,
                 block: int):
        self.info, self.rel_ts, self.labels = info, rel_ts, labels
        self.class_names = tuple(class_names)
        self._read_block, self._block = read_block, block
        self._cached: tuple[int, np.ndarray] | None = None
        self.n = rel_ts.size
        self.close = lambda: None

    def slice(self, begin: int, end: int) -> np.ndarray:
        """Samples [begin, end) as (n, channels), served from whole cached blocks."""
        parts = []
        while begin < end:
            k = begin // self._block
            if self._cached is None or self._cached[0] != k:
                start = k * self._block
                self._cached = (k, self._read_block(start, min(start + self._block, self.n)))
            block = self._cached[1]
            offset = begin - k * self._block
            take = min(end - begin, block.shape[0] - offset)
            parts.append(block[offset:offset + take])
            begin += take
        if len(parts) == 1:
            return parts[0].copy()
        return np.concatenate(parts) if parts else np.empty((0, self.info.channel_count),
                                                             self.info.np_dtype)


def _from_session(session, stream: str | None, owns: bool) -> _Recording:
    names = [s.name for s in session.meta.streams]
    if stream is None:
        if len(names) != 1:
            raise ValueError(f"the session holds streams {names}; choose one with stream=")
        stream = names[0]
    info = session.meta.stream(stream)
    if hasattr(session, "timestamps") and hasattr(session, "layout"):
        ts = session.timestamps(stream)
        block = session.layout(stream).chunk_samples

        def read_block(a: int, b: int) -> np.ndarray:
            return np.ascontiguousarray(session.data(stream, a, b)[0].T)
    else:  # any RecordedSession: load it whole
        data, ts = session.data(stream)
        whole = np.ascontiguousarray(data.T)
        block = max(1, whole.shape[0])

        def read_block(a: int, b: int) -> np.ndarray:
            return whole[a:b]
    if ts.size == 0:
        raise ValueError(f"stream {stream!r} of the session holds no samples to replay")
    recording = _Recording(info, ts - ts[0], _relative_labels(session.labels, ts[0]),
                           session.labels.class_names, read_block, block)
    if owns and hasattr(session, "close"):
        recording.close = session.close
    return recording


def _relative_labels(track, first: float) -> list[tuple[float, int]]:
    return [(e.time - first, e.class_index) for e in track.events]


class ReplaySource:
    """A Source replaying a session (folder, `.session.zip` or RecordedSession), an XDF file
    (`.xdf`, read with pyxdf; options classes=, markers=, dejitter= as `read_xdf`) or a text file.

    `stream` picks the session's stream (needed when it holds several); `name` renames the
    replayed stream; `speed` scales time (2.0 plays twice as fast); `loop` starts over at the
    end instead of going quiet (`finished` tells). Text files take `read_text_recording`'s
    options (rate, time_unit, label_column, class_names, units, ...).
    """

    def __init__(
        self,
        recording,
        stream: str | None = None,
        *,
        speed: float = 1.0,
        loop: bool = False,
        name: str | None = None,
        clock=None,
        max_read_s: float = 1.0,
        **text_options,
    ):
        if not (isinstance(speed, int | float) and math.isfinite(speed) and 0 < speed <= 1000):
            raise ValueError(f"speed must be a number in (0, 1000], got {speed!r}")
        self.speed, self.loop = float(speed), bool(loop)
        self.clock = clock or MonotonicClock()
        self._rec = self._open(recording, stream, text_options)
        info = self._rec.info
        source_id = f"replay:{self._origin}"
        self._info = StreamInfo(name or info.name, info.channel_count, info.sampling_rate,
                                info.dtype, info.channel_names, info.units, info.type, source_id)
        rel = self._rec.rel_ts
        step = (1.0 / info.sampling_rate if info.sampling_rate > 0
                else float(np.median(np.diff(rel))) if rel.size > 1 else 1.0)
        self.period = float(rel[-1]) + step  # recorded seconds per loop
        self._max_read = max(1, int(max_read_s * (info.sampling_rate or rel.size / self.period)
                                    * self.speed))
        span = float(rel[-1])
        self._label_rel = [(min(max(t, 0.0), span), k) for t, k in self._rec.labels]
        self._t0: float | None = None
        self._sent = 0
        self._labels_sent = 0
        self._pending: list[LabelEvent] = []
        self._lock = threading.Lock()

    def _open(self, recording, stream, text_options) -> _Recording:
        if isinstance(recording, str | os.PathLike):
            path = Path(recording)
            self._origin = path.name
            if not path.exists():
                raise FileNotFoundError(f"no recording at {path}: check the path")
            if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
                text = read_text_recording(path, **text_options)
                data = text.data
                rec = _Recording(text.info, text.timestamps - text.timestamps[0],
                                 _relative_labels(text.labels, text.timestamps[0]),
                                 text.labels.class_names, lambda a, b: data[a:b],
                                 max(1, data.shape[0]))
                return rec
            if path.is_file() and path.suffix.lower() in XDF_SUFFIXES:
                unknown = sorted(set(text_options) - set(XDF_OPTIONS))
                if unknown:
                    raise TypeError(f"options {unknown} do not apply to XDF files; they take "
                                    f"{list(XDF_OPTIONS)}")
                from hexloop.adapters.xdf import read_xdf

                return _from_session(read_xdf(path, **text_options), stream, owns=False)
            if text_options:
                raise TypeError(f"options {sorted(text_options)} apply to text files only")
            from hexloop.adapters.zarr import open_session

            session = open_session(path)
            try:
                return _from_session(session, stream, owns=True)
            except BaseException:
                session.close()
                raise
        if text_options:
            raise TypeError(f"options {sorted(text_options)} apply to text files only")
        self._origin = getattr(recording, "path", type(recording).__name__)
        return _from_session(recording, stream, owns=False)

    # Source port
    @property
    def info(self) -> StreamInfo:
        return self._info

    def connect(self, timeout: float) -> StreamInfo:
        with self._lock:
            if self._t0 is None:
                self._t0 = self.clock.now()
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._t0 is None:
                raise RuntimeError("read() before connect()")
            n = self._rec.n
            due = self._due((self.clock.now() - self._t0) * self.speed)
            if not self.loop:
                due = min(due, n)
            count = min(due - self._sent, self._max_read)
            if count <= 0:
                return (np.empty((0, self._info.channel_count), self._info.np_dtype),
                        np.empty(0, np.float64))
            first = self._sent
            parts, times = [], []
            k = first
            while k < first + count:
                loop, i = divmod(k, n)
                take = min(first + count - k, n - i)
                parts.append(self._rec.slice(i, i + take))
                times.append(loop * self.period + self._rec.rel_ts[i:i + take])
                k += take
            self._sent = first + count
            rel = np.concatenate(times) if len(times) > 1 else times[0]
            data = np.concatenate(parts) if len(parts) > 1 else parts[0]
            self._queue_labels(float(rel[-1]))
            return data, self._t0 + rel / self.speed

    def disconnect(self) -> None:
        pass

    # replay extras
    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names of the replayed labels (empty when the recording has none)."""
        return tuple(self._rec.class_names)

    def poll_labels(self) -> list[LabelEvent]:
        """Label events reached since the last call, on the live clock, oldest first."""
        with self._lock:
            out, self._pending = self._pending, []
        return out

    @property
    def samples_sent(self) -> int:
        return self._sent

    @property
    def finished(self) -> bool:
        """True once a non-looping replay has delivered its last sample."""
        return not self.loop and self._sent >= self._rec.n

    def close(self) -> None:
        """Release the session file (a zip stays open while replaying)."""
        self._rec.close()

    def expected_samples(self, elapsed: float) -> int:
        """Samples a replay has delivered after `elapsed` seconds of wall time."""
        due = self._due(elapsed * self.speed)
        return due if self.loop else min(due, self._rec.n)

    def _due(self, recorded_elapsed: float) -> int:
        if recorded_elapsed < 0:
            return 0
        loops = int(recorded_elapsed // self.period)
        within = recorded_elapsed - loops * self.period
        return loops * self._rec.n + int(np.searchsorted(self._rec.rel_ts, within, side="right"))

    def _queue_labels(self, reached: float) -> None:
        """Move label events up to recorded time `reached` (loop-adjusted) into the pending list."""
        per_loop = len(self._label_rel)
        if not per_loop:
            return
        while True:
            loop, j = divmod(self._labels_sent, per_loop)
            rel, class_index = self._label_rel[j]
            at = loop * self.period + rel
            if at > reached:
                return
            self._pending.append(LabelEvent(float(self._t0 + at / self.speed), int(class_index)))
            self._labels_sent += 1
