"""Reading sessions back: `open_session(path)` for a folder or a `.session.zip`, without extracting.

A session whose recording was cut off (crash, power loss, full disk) reads up to its last whole
block: each stream's length is the shortest run of blocks present in both `data` and
`timestamps`, never more than the arrays' recorded shape.

Every damaged read (a checksum that does not match, a truncated or undecodable block, a member
of the archive that was altered) raises SessionFormatError naming the stream, the samples and
the file; reads are bounded by limits.py.

(Over 400 lines: the RecordedSession port, the research helpers and the damage reporting share
the arrays, lengths and layouts they read, and splitting them would only pass those around.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from hexloop.domain.labels import LabelTrack, Trial
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo
from hexloop.domain.windowing import aligned_windows, labeled_windows

from .container import Container, guarded_store
from .layout import (
    LABELS_NAME,
    META_NAME,
    STATUS_RECORDING,
    SessionFormatError,
    StreamLayout,
    decode_labels,
    decode_meta,
)
from .limits import MAX_READ_BYTES


class ReadLimitError(SessionFormatError):
    """A read larger than limits.MAX_READ_BYTES; read the stream in pieces instead."""


def _codec_names(array) -> list[str]:
    return [type(c).__name__ for c in getattr(array.metadata, "codecs", ())]


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
        try:
            labels_raw = self._container.read(LABELS_NAME) or b""
        except SessionFormatError as e:
            labels_raw = b""
            self.problems.append(f"{e}; the session reads without its labels")
        self._labels, label_problems = decode_labels(labels_raw, self._meta.class_names)
        self.problems += label_problems
        from .discontinuities import DISCONTINUITIES_NAME, decode_discontinuities

        try:
            jumps_raw = self._container.read(DISCONTINUITIES_NAME) or b""
        except SessionFormatError as e:
            jumps_raw = b""
            self.problems.append(f"{e}; the session reads without its clock discontinuities")
        self._discontinuities, jump_problems = decode_discontinuities(jumps_raw, self._layouts)
        self.problems += jump_problems

        self.problems += self._container.problems + self._container.folder_problems()
        self._store = guarded_store(self._container)
        names = self._container.names()
        self._arrays: dict[str, Any] = {}  # stream: (data, timestamps) arrays, None if unreadable
        self._lengths: dict[str, int] = {}
        self._broken: dict[str, str] = {}  # stream: why it cannot be read at all
        self.checksummed: dict[str, bool] = {}
        for name, layout in self._layouts.items():
            self._lengths[name] = 0
            self._arrays[name] = None
            present = [f"{path}/zarr.json" in names
                       for path in (layout.data_path, layout.timestamps_path)]
            if not all(present) and (self.status == STATUS_RECORDING or not any(present)):
                # killed while creating them: nothing was recorded yet
                self.problems.append(f"stream {name!r} has no arrays on disk; it reads as empty")
                continue
            try:
                data, ts = self._open_arrays(layout)
            except SessionFormatError as e:
                self._broken[name] = str(e)
                self.problems.append(str(e))
                continue
            self._arrays[name] = (data, ts)
            self.checksummed[name] = all("Crc32c" in " ".join(_codec_names(a)) for a in (data, ts))
            length = whole_block_length(names, layout, data.shape[0], ts.shape[0])
            self._lengths[name] = length
            if length < max(data.shape[0], ts.shape[0]):
                self.problems.append(
                    f"stream {name!r}: {max(data.shape[0], ts.shape[0]) - length} samples past the "
                    "last whole block are incomplete and not read (recording was cut off, or a "
                    "block is missing: `hexloop inspect --verify` tells which)"
                )
            expected = (self.document.get("samples") or {}) if self.status != STATUS_RECORDING \
                else {}
            if isinstance(expected, dict) and isinstance(expected.get(name), int) \
                    and expected[name] > length:
                self.problems.append(
                    f"stream {name!r}: {META_NAME} records {expected[name]} samples but only "
                    f"{length} are readable; blocks are missing")
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

    @property
    def discontinuities(self) -> list:
        """The clock jumps marked while recording (`Discontinuity`), in the order they came."""
        return list(self._discontinuities)

    def data(self, stream: str, start: int = 0, stop: int | None = None):
        """The stream's samples [start, stop): data (channels, n) in the recorded dtype, ts (n,)."""
        layout = self._layout(stream)
        length = self._lengths[stream]
        begin, end, _ = slice(start, stop).indices(length)
        end = max(begin, end)
        if stream in self._broken:
            raise SessionFormatError(self._broken[stream])
        arrays = self._arrays[stream]
        if arrays is None or end == begin:
            ch = layout.info.channel_count
            return np.empty((ch, 0), layout.info.np_dtype), np.empty(0, np.float64)
        nbytes = (end - begin) * (layout.info.channel_count * layout.info.np_dtype.itemsize + 8)
        if nbytes > MAX_READ_BYTES:
            raise ReadLimitError(
                f"reading samples {begin}..{end} of stream {stream!r} needs {nbytes / 2**30:.1f} "
                f"GiB, more than the {MAX_READ_BYTES / 2**30:.0f} GiB one read may use "
                "(hexloop.adapters.zarr.limits.MAX_READ_BYTES); read it in pieces with "
                "session.data(name, start, stop)")
        data = self._read(stream, 0, begin, end)
        ts = self._read(stream, 1, begin, end).astype(np.float64, copy=False)
        return np.ascontiguousarray(data.T), ts

    def _open_arrays(self, layout: StreamLayout):
        """The stream's two Zarr arrays, checked against meta.json before any chunk is read."""
        import zarr

        info, block = layout.info, layout.chunk_samples
        arrays = []
        for path, chunks, dtype in ((layout.data_path, (block, info.channel_count), info.np_dtype),
                                    (layout.timestamps_path, (block,), np.dtype(np.float64))):
            try:
                array = zarr.open_array(self._store, path=path, mode="r")
                got = (tuple(array.chunks), array.dtype, array.ndim, array.shape[1:])
            except Exception as e:  # noqa: BLE001 - any failure: the metadata is damaged
                raise SessionFormatError(
                    f"{self.path}: stream {info.name!r}: {path}/zarr.json cannot be read "
                    f"({type(e).__name__}: {e}); the stream is unreadable") from e
            if got != (chunks, dtype, len(chunks), chunks[1:]):
                raise SessionFormatError(
                    f"{self.path}: stream {info.name!r}: {path}/zarr.json describes chunks "
                    f"{got[0]} of {got[1]}, but {META_NAME} says {chunks} of {dtype}; one of them "
                    "is damaged, so the stream is not read")
            self._store.chunk_limits[path] = (
                int(np.prod(chunks)) * dtype.itemsize, "ZstdCodec" in _codec_names(array))
            arrays.append(array)
        return arrays[0], arrays[1]

    def _read(self, stream: str, which: int, begin: int, end: int) -> np.ndarray:
        """Samples [begin, end) of the stream's data (0) or timestamps (1); a damaged block
        raises SessionFormatError naming the stream, the samples, the time and the file."""
        array = self._arrays[stream][which]
        try:
            return np.asarray(array[begin:end])
        except Exception as e:  # noqa: BLE001 - zarr, zstd, zip and memory errors mean the same
            first_error = e
        block = self._layouts[stream].chunk_samples
        for k in range(begin // block, (end - 1) // block + 1):
            lo, hi = max(begin, k * block), min(end, (k + 1) * block)
            try:
                np.asarray(array[lo:hi])
            except Exception as e:  # noqa: BLE001
                raise self.damage(stream, which, k, e) from e
        raise SessionFormatError(
            f"{self.path}: stream {stream!r} samples {begin}..{end} cannot be read "
            f"({type(first_error).__name__}: {first_error})") from first_error

    def damage(self, stream: str, which: int, block: int, error: BaseException
               ) -> SessionFormatError:
        """The SessionFormatError for a damaged block: stream, samples, time (when the
        timestamps of that block are readable), the file and what went wrong."""
        layout = self._layouts[stream]
        n = layout.chunk_samples
        lo, hi = block * n, min((block + 1) * n, self._lengths[stream])
        name = (f"{layout.data_path}/c.{block}.0" if which == 0
                else f"{layout.timestamps_path}/c.{block}")
        when = ""
        if which == 0:
            try:
                ts = np.asarray(self._arrays[stream][1][lo:hi])
                when = f", time {ts[0]:.3f}..{ts[-1]:.3f} s" if ts.size else ""
            except Exception:  # noqa: BLE001, S110 - the time is a courtesy
                pass
        what = str(error) if isinstance(error, SessionFormatError) else \
            f"{type(error).__name__}: {error}"
        return SessionFormatError(
            f"{self.path}: stream {stream!r} samples {lo}..{hi}{when} are damaged in {name} "
            f"({what}); the other blocks read normally")

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
        self._layout(stream)
        if stream in self._broken:
            raise SessionFormatError(self._broken[stream])
        n = self._lengths[stream]
        if self._arrays[stream] is None or n == 0:
            return np.empty(0, np.float64)
        if n * 8 > MAX_READ_BYTES:
            raise ReadLimitError(
                f"the timestamps of stream {stream!r} need {n * 8 / 2**30:.1f} GiB, more than "
                f"the {MAX_READ_BYTES / 2**30:.0f} GiB one read may use; read them in pieces "
                "with session.data(name, start, stop)")
        return self._read(stream, 1, 0, n).astype(np.float64, copy=False)

    def time_span(self, stream: str) -> tuple[float, float] | None:
        """First and last timestamp of a stream, or None when it holds no samples."""
        self._layout(stream)
        if stream in self._broken:
            raise SessionFormatError(self._broken[stream])
        n = self._lengths[stream]
        if n == 0 or self._arrays[stream] is None:
            return None
        return float(self._read(stream, 1, 0, 1)[0]), float(self._read(stream, 1, n - 1, n)[0])

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

    def online(self, stream: str | None = None, hold_s: float = 0.1, settle_s: float = 0.0):
        """An online session's score (`hexloop.domain.online.OnlineScore`): accuracy against the
        cues, per class, and the decision latency after each cue (the cued class held `hold_s`),
        of its predictions stream, or of `stream` (another one, or what an Output sent)."""
        from .online import online_score

        return online_score(self, stream, hold_s, settle_s)

    def summary_text(self) -> str:
        from .inspect import describe

        return describe(self)

    def close(self) -> None:
        self._container.close()
        store = getattr(self, "_store", None)
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001, S110 - a zip zarr never managed to open
                pass

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


def inspect_text(path: str | os.PathLike) -> str:
    """Summary of the session folder or `.session.zip` at `path` (for `hexloop inspect`)."""
    with open_session(path) as session:
        return session.summary_text()
