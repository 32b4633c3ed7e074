"""Reading sessions back: `open_session(path)` for a folder or a `.session.zip`, without extracting.

A session whose recording was cut off (crash, power loss, full disk) reads up to its last whole
block: each stream's length is the shortest run of blocks present in both `data` and
`timestamps`, never more than the arrays' recorded shape.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from hexloop.domain.labels import LabelTrack, Trial
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo
from hexloop.domain.windowing import aligned_windows, labeled_windows

from .layout import (
    LABELS_NAME,
    META_NAME,
    STATUS_RECORDING,
    Container,
    SessionFormatError,
    StreamLayout,
    decode_labels,
    decode_meta,
)


def _contiguous_blocks(names: set[str], array_path: str, suffix: str) -> int:
    count = 0
    while f"{array_path}/c.{count}{suffix}" in names:
        count += 1
    return count


def whole_block_length(names: set[str], layout: StreamLayout, data_rows: int, ts_rows: int) -> int:
    """Samples of a stream that are safely on disk: blocks present in both arrays, within shape."""
    blocks_data = _contiguous_blocks(names, layout.data_path, ".0")
    blocks_ts = _contiguous_blocks(names, layout.timestamps_path, "")
    block = layout.chunk_samples
    return max(0, min(data_rows, ts_rows, blocks_data * block, blocks_ts * block))


class ZarrSession:
    """A recorded session (the RecordedSession port) read from a folder or a `.session.zip`.

    Arrays are read on demand; nothing is extracted. Close it (or use `with`) to release the zip.
    """

    def __init__(self, path: str | os.PathLike):
        self._container = Container(path)
        try:
            self._load()
        except BaseException:
            self._container.close()
            raise

    def _load(self) -> None:
        where = str(self._container.path)
        raw = self._container.read(META_NAME)
        if raw is None:
            raise SessionFormatError(
                f"{where} has no {META_NAME}: it is not a hexloop session (or not its top folder)"
            )
        self.document, self._meta, layouts = decode_meta(raw, where)
        self._layouts = {layout.info.name: layout for layout in layouts}
        self.problems: list[str] = []
        labels_raw = self._container.read(LABELS_NAME) or b""
        self._labels, label_problems = decode_labels(labels_raw, self._meta.class_names)
        self.problems += label_problems

        import zarr

        try:
            self._root = zarr.open_group(self._container.zarr_store(), mode="r")
        except Exception as e:  # noqa: BLE001 - any zarr failure means the same to the user
            if self.status != STATUS_RECORDING:
                raise SessionFormatError(
                    f"{where}: the Zarr hierarchy cannot be opened ({e})") from e
            self._root = {}  # killed while creating it: nothing was recorded yet
        names = self._container.names()
        self._arrays = {}
        self._lengths: dict[str, int] = {}
        for name, layout in self._layouts.items():
            try:
                data = self._root[layout.data_path]
                ts = self._root[layout.timestamps_path]
            except KeyError:
                self.problems.append(f"stream {name!r} has no arrays on disk; it reads as empty")
                self._arrays[name] = None
                self._lengths[name] = 0
                continue
            self._arrays[name] = (data, ts)
            length = whole_block_length(names, layout, data.shape[0], ts.shape[0])
            self._lengths[name] = length
            if length < max(data.shape[0], ts.shape[0]):
                self.problems.append(
                    f"stream {name!r}: {max(data.shape[0], ts.shape[0]) - length} samples past the "
                    "last whole block are incomplete and not read (recording was cut off)"
                )
        if self.status == STATUS_RECORDING:
            self.problems.insert(
                0,
                "the recording was not closed (still running, or the program was killed); "
                "everything up to the last written block is readable; run `hexloop recover` "
                "to finalize and pack it",
            )

    # RecordedSession port
    @property
    def meta(self) -> SessionMeta:
        return self._meta

    @property
    def labels(self) -> LabelTrack:
        return self._labels

    def data(self, stream: str, start: int = 0, stop: int | None = None):
        """The stream's samples [start, stop): data (channels, n) in the recorded dtype, ts (n,)."""
        layout = self._layout(stream)
        length = self._lengths[stream]
        begin, end, _ = slice(start, stop).indices(length)
        end = max(begin, end)
        arrays = self._arrays[stream]
        if arrays is None or end == begin:
            ch = layout.info.channel_count
            return np.empty((ch, 0), layout.info.np_dtype), np.empty(0, np.float64)
        data = np.asarray(arrays[0][begin:end])
        ts = np.asarray(arrays[1][begin:end], dtype=np.float64)
        return np.ascontiguousarray(data.T), ts

    # Everything else a researcher asks of a session
    @property
    def path(self) -> str:
        return str(self._container.path)

    @property
    def is_zip(self) -> bool:
        return self._container.is_zip

    @property
    def status(self) -> str:
        return str(self.document.get("status"))

    @property
    def error(self) -> str | None:
        return self.document.get("error")

    @property
    def streams(self) -> tuple[StreamInfo, ...]:
        return self._meta.streams

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(self._layouts)

    def info(self, stream: str) -> StreamInfo:
        return self._layout(stream).info

    def layout(self, stream: str) -> StreamLayout:
        return self._layout(stream)

    def sample_count(self, stream: str) -> int:
        self._layout(stream)
        return self._lengths[stream]

    def timestamps(self, stream: str) -> np.ndarray:
        arrays = self._arrays[self._layout(stream).info.name]
        if arrays is None:
            return np.empty(0, np.float64)
        return np.asarray(arrays[1][: self._lengths[stream]], dtype=np.float64)

    def time_span(self, stream: str) -> tuple[float, float] | None:
        """First and last timestamp of a stream, or None when it holds no samples."""
        n = self._lengths[self._layout(stream).info.name]
        if n == 0:
            return None
        ts = self._arrays[stream][1]
        return float(ts[0]), float(ts[n - 1])

    @property
    def end_time(self) -> float:
        """The last timestamp of any stream (or of the last label when no stream has samples)."""
        ends = [span[1] for s in self._layouts if (span := self.time_span(s)) is not None]
        events = self._labels.events
        if events:
            ends.append(events[-1].time)
        return max(ends) if ends else 0.0

    def trials(self) -> list[Trial]:
        """Label intervals; the last one runs until the session's last sample."""
        return self._labels.trials(self.end_time)

    def gaps(self, stream: str, tolerance: float = 1.5) -> list[tuple[float, float]]:
        """(last time before, first time after) of every hole longer than `tolerance` periods."""
        rate = self._layout(stream).info.sampling_rate
        if rate <= 0:
            return []
        ts = self.timestamps(stream)
        if ts.size < 2:
            return []
        idx = np.flatnonzero(np.diff(ts) > tolerance / rate)
        return [(float(ts[i]), float(ts[i + 1])) for i in idx]

    def labeled_windows(
        self, stream: str, window_s: float, step_s: float, include_unlabeled: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Classification windows inside single trials: X (k, ch, n), y (k,), end times (k,)."""
        length, step = self._window_samples(stream, window_s, step_s)
        data, ts = self.data(stream)
        return labeled_windows(data, ts, self._labels, length, step, include_unlabeled)

    def aligned_windows(
        self, stream: str, target: str | np.ndarray, window_s: float, step_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Regression windows: X (k, ch, n), Y (k, targets) at each window's last sample.

        `target` is another stream's name (interpolated onto this stream's timestamps) or an
        array (targets, samples) already on them.
        """
        length, step = self._window_samples(stream, window_s, step_s)
        data, ts = self.data(stream)
        if isinstance(target, str):
            target_data, target_ts = self.data(target)
            if target_ts.size == 0:
                raise ValueError(f"target stream {target!r} holds no samples")
            target = np.stack([
                np.interp(ts, target_ts, row.astype(np.float64)) for row in target_data
            ])
        return aligned_windows(data, ts, np.asarray(target), length, step)

    def bridges(self) -> list[str]:
        """Names of the bridges (e.g. webcams) whose frames were recorded into this session."""
        prefix, suffix = "bridges/", ".zarr/zarr.json"
        return sorted(n[len(prefix) : -len(suffix)] for n in self._container.names()
                      if n.startswith(prefix) and n.endswith(suffix) and n.count("/") == 2)

    def frames(self, bridge: str | None = None):
        """A bridge's recorded frames (`RecordedFrames`: len, frame(i), index_at(t), frame_at(t))."""
        import zarr

        from hexloop.adapters.opencv.frames import RecordedFrames

        names = self.bridges()
        if bridge is None:
            if len(names) != 1:
                raise LookupError(f"name the bridge: this session holds frames of {names or 'none'}")
            bridge = names[0]
        if bridge not in names:
            raise LookupError(f"no frames of bridge {bridge!r} here; it holds {names or 'none'}")
        group = zarr.open_group(self._container.zarr_store(), path=f"bridges/{bridge}.zarr",
                                mode="r")
        return RecordedFrames(group)

    def frame_at(self, stream_time: float, bridge: str | None = None) -> np.ndarray:
        """The video frame shown at `stream_time` (the session's LSL clock): aligning video
        with any recorded stream is this one call."""
        return self.frames(bridge).frame_at(stream_time)

    def to_mne(self, streams: Sequence[str] | None = None) -> dict:
        """An `mne.io.RawArray` per regular-rate stream, with the trials as annotations."""
        from .mne_export import session_to_mne

        return session_to_mne(self, streams)

    def summary_text(self) -> str:
        from .inspect import describe

        return describe(self)

    def close(self) -> None:
        self._container.close()
        store = getattr(self._root, "store", None)
        if store is not None and hasattr(store, "close"):
            store.close()

    def __enter__(self) -> ZarrSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ZarrSession({self.path!r}, status={self.status!r})"

    def _layout(self, stream: str) -> StreamLayout:
        try:
            return self._layouts[stream]
        except KeyError:
            raise KeyError(
                f"no stream {stream!r} in {self.path}; it has {list(self._layouts)}"
            ) from None

    def _window_samples(self, stream: str, window_s: float, step_s: float) -> tuple[int, int]:
        rate = self._layout(stream).info.sampling_rate
        if rate <= 0:
            raise ValueError(
                f"stream {stream!r} has an irregular rate; window it by samples with "
                "hexloop.domain.windowing on session.data(...) instead"
            )
        if window_s <= 0 or step_s <= 0:
            raise ValueError(f"window and step must be positive seconds, got {window_s}, {step_s}")
        return max(1, round(window_s * rate)), max(1, round(step_s * rate))


def open_session(path: str | os.PathLike) -> ZarrSession:
    """Read a session folder or `.session.zip` (entries escaping the archive are refused)."""
    return ZarrSession(path)
