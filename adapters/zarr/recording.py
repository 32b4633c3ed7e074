"""ZarrStore and its recording sessions: staging blocks on the acquisition thread, a writer thread.

`append` only copies into a per-stream staging block; a full block goes to the session's writer
thread, which appends it to `data` and then `timestamps`. Acquisition never waits on the disk: a
failing or slow disk sets `error` at once and recording goes on, keeping everything written.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import os
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hexloop.domain.labels import LabelEvent
from hexloop.domain.session import SessionMeta, SessionSummary

from .layout import (
    LABELS_NAME,
    META_NAME,
    STATUS_CLOSED,
    STATUS_RECORDING,
    STREAMS_GROUP,
    StreamLayout,
    encode_json,
    encode_label,
    fsync_dir,
    meta_document,
    session_folder_name,
    stream_groups,
    write_atomically,
)
from .packing import pack_folder, repair_folder
from .reading import ZarrSession, open_session

COMPRESSIONS = ("zstd", None)
#: A block never exceeds this many bytes, whatever the rate and channel count.
MAX_BLOCK_BYTES = 64 * 2**20
#: Block length of irregular-rate streams (rate 0), in samples.
IRREGULAR_BLOCK = 256
#: Blocks per stream kept allocated for reuse (the one filling is extra).
SPARE_BLOCKS = 2

ProgressCallback = Callable[[float], None]  # fraction done, 0.0 to 1.0


class ZarrStore:
    """The Store port on Zarr v3: one folder per session, packed into `<name>.session.zip` on close.

    `chunk_seconds` sets each stream's block length from its rate; `compression` is "zstd" or
    None; `pack_progress(fraction)` follows packing; a session holds at most
    `max_backlog_bytes` of blocks waiting for the disk before it drops (and reports) new ones.
    """

    def __init__(
        self,
        base_dir: str | os.PathLike,
        chunk_seconds: float = 1.0,
        compression: str | None = "zstd",
        compression_level: int = 3,
        pack: bool = True,
        pack_progress: ProgressCallback | None = None,
        max_backlog_bytes: int = 512 * 2**20,
    ):
        if not (isinstance(chunk_seconds, int | float) and 0 < chunk_seconds <= 60):
            raise ValueError(f"chunk_seconds must be in (0, 60] seconds, got {chunk_seconds!r}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
        if not -7 <= int(compression_level) <= 22:
            raise ValueError(f"zstd compression_level must be in -7..22, got {compression_level}")
        if max_backlog_bytes < 0:
            raise ValueError(f"max_backlog_bytes must be >= 0, got {max_backlog_bytes}")
        try:
            import zarr  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "ZarrStore needs the zarr extra: pip install 'hexloop[zarr]'") from e
        self.base_dir = Path(base_dir)
        self.chunk_seconds = float(chunk_seconds)
        self.compression = compression
        self.compression_level = int(compression_level)
        self.pack = pack
        self.pack_progress = pack_progress
        self.max_backlog_bytes = int(max_backlog_bytes)

    def block_samples(self, rate: float, channels: int, itemsize: int) -> int:
        """Samples per block (= Zarr chunk) for a stream: about `chunk_seconds` of it."""
        by_size = max(1, MAX_BLOCK_BYTES // (channels * itemsize))
        if rate <= 0:
            return min(IRREGULAR_BLOCK, by_size)
        return min(max(1, round(rate * self.chunk_seconds)), by_size)

    def open_session(self, meta: SessionMeta) -> ZarrRecording:
        return ZarrRecording(self, meta)

    def read(self, location: str) -> ZarrSession:
        return open_session(location)

    def __repr__(self) -> str:
        return f"ZarrStore({str(self.base_dir)!r}, compression={self.compression!r})"


class _StreamWriter:
    """One stream's staging block and counters; `lock` guards the staging side."""

    def __init__(self, layout: StreamLayout, data_array, ts_array):
        self.layout = layout
        self.info = layout.info
        self.block = layout.chunk_samples
        self.data_array, self.ts_array = data_array, ts_array
        self.lock = threading.Lock()
        self.closed = False
        # Blocks are reused, never freed while recording: fresh memory would page-fault on the
        # acquisition thread and freeing it stalls every thread's page faults for milliseconds.
        self._spare: collections.deque = collections.deque()
        for _ in range(SPARE_BLOCKS):
            self.recycle(*self._allocate())
        self._new_staging()
        self.received = 0  # samples given to append
        self.written = 0  # samples on disk (writer thread only)
        self.dropped = 0  # samples that will never reach the disk

    def _allocate(self) -> tuple[np.ndarray, np.ndarray]:
        data = np.empty((self.block, self.info.channel_count), self.info.np_dtype)
        ts = np.empty(self.block, np.float64)
        data.fill(0)  # touch every page now, not on the acquisition thread
        ts.fill(0)
        return data, ts

    def _new_staging(self) -> None:
        try:
            self.staging, self.staging_ts = self._spare.popleft()
        except IndexError:
            self.staging, self.staging_ts = self._allocate()
        self.fill = 0

    def recycle(self, data: np.ndarray, ts: np.ndarray) -> None:
        """Give a written block back for reuse (any thread; deque appends are atomic)."""
        if len(self._spare) < SPARE_BLOCKS:
            self._spare.append((data, ts))


_STOP = object()
_SYNC_LABELS = object()


class ZarrRecording:
    """An open recording (the RecordingSession port). `append` from acquisition threads,
    `add_label` from any thread, `close` once from any thread.
    """

    def __init__(self, store: ZarrStore, meta: SessionMeta):
        import zarr
        from zarr.codecs import ZstdCodec
        from zarr.storage import LocalStore

        self.meta = meta
        self._store = store
        encode_json(dict(meta.extras))  # refuse non-JSON extras before anything is created
        # Timestamps are on the monotonic clock (LSL's local_clock on Linux); this pair maps
        # them to wall time: utc = clock_reference.utc + (t - clock_reference.monotonic).
        self._clock_reference = {"monotonic": time.monotonic(),
                                 "utc": dt.datetime.now(dt.UTC).isoformat()}
        store.base_dir.mkdir(parents=True, exist_ok=True)
        self.session_id, self.folder = self._make_folder(store.base_dir, meta)
        self._layouts = [
            StreamLayout(info, group,
                         store.block_samples(info.sampling_rate, info.channel_count,
                                             info.np_dtype.itemsize),
                         store.compression)
            for info, group in zip(meta.streams, stream_groups(meta.streams))
        ]
        try:
            write_atomically(self.folder / META_NAME, encode_json(self._document(STATUS_RECORDING)))
            root = zarr.create_group(store=LocalStore(self.folder), attributes={
                "hexloop": "recording session; see meta.json and labels.jsonl"})
            compressors = (ZstdCodec(level=store.compression_level),) if store.compression else None
            streams_group = root.create_group(STREAMS_GROUP)
            self._writers: dict[str, _StreamWriter] = {}
            for layout in self._layouts:
                info = layout.info
                group = streams_group.create_group(layout.group.split("/", 1)[1],
                                                   attributes={"stream": info.to_dict()})
                config = {"write_empty_chunks": True}  # every block must exist on disk
                flat = {"name": "default", "separator": "."}  # c.<block>.0: no folder per block
                data = group.create_array(
                    "data", shape=(0, info.channel_count), chunks=(layout.chunk_samples,
                                                                  info.channel_count),
                    dtype=info.np_dtype, fill_value=0, compressors=compressors,
                    dimension_names=("time", "channel"), config=config,
                    chunk_key_encoding=flat)
                ts = group.create_array(
                    "timestamps", shape=(0,), chunks=(layout.chunk_samples,), dtype="float64",
                    fill_value=0.0, compressors=compressors, dimension_names=("time",),
                    config=config, chunk_key_encoding=flat)
                self._writers[info.name] = _StreamWriter(layout, data, ts)
            self._labels_file = open(self.folder / LABELS_NAME, "ab")  # noqa: SIM115
        except OSError as e:
            raise OSError(
                f"cannot create the recording session in {self.folder}: {e}; "
                "check that the folder is writable and the disk has space"
            ) from e

        self._labels: list[LabelEvent] = []
        self._labels_lock = threading.Lock()
        self._labels_failed = False
        self._errors: list[str] = []
        self._error_lock = threading.Lock()
        self._disk_failed = False
        self._backlog_bytes = 0
        self._backlog_lock = threading.Lock()
        self.writer_busy_s = 0.0  # seconds the writer spent writing blocks
        self.blocks_written = 0
        self._close_lock = threading.Lock()
        self._summary: SessionSummary | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._run_writer, name=f"zarr-writer-{self.session_id}", daemon=True)
        self._writer.start()
        _open_recordings.add(self)

    @staticmethod
    def _make_folder(base: Path, meta: SessionMeta) -> tuple[str, Path]:
        for _attempt in range(20):
            session_id = uuid.uuid4().hex[:8]
            folder = base / session_folder_name(meta.created, meta.slug or meta.app_name,
                                                session_id)
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                raise OSError(
                    f"cannot create a session folder in {base}: {e}; choose a writable folder"
                ) from e
            fsync_dir(base)
            return session_id, folder
        raise FileExistsError(f"could not find a free session folder name in {base}")

    def _document(self, status: str, **final) -> dict:
        return meta_document(self.meta, self._layouts, session_id=self.session_id,
                             status=status, clock_reference=self._clock_reference, **final)

    # RecordingSession port
    @property
    def location(self) -> str:
        return str(self.folder)

    @property
    def error(self) -> str | None:
        with self._error_lock:
            return "; ".join(self._errors) if self._errors else None

    def append(self, stream: str, data: np.ndarray, timestamps: np.ndarray) -> None:
        """Copy a sample-major chunk (n, channels) into the stream's staging block; never waits on
        the disk. Full blocks go to the writer thread.
        """
        try:
            writer = self._writers[stream]
        except KeyError:
            raise KeyError(
                f"stream {stream!r} is not part of this session; it records {list(self._writers)}"
            ) from None
        data = np.asarray(data)
        timestamps = np.asarray(timestamps)
        channels = writer.info.channel_count
        if data.ndim != 2 or data.shape[1] != channels:
            raise ValueError(
                f"stream {stream!r}: append expects (samples, {channels}) arrays, got {data.shape}"
            )
        n = data.shape[0]
        if timestamps.shape != (n,):
            raise ValueError(f"stream {stream!r}: {n} samples need {n} timestamps, "
                             f"got shape {timestamps.shape}")
        with writer.lock:
            if writer.closed:
                raise RuntimeError(f"session {self.folder} is closed; start a new recording")
            writer.received += n
            done = 0
            while done < n:
                take = min(n - done, writer.block - writer.fill)
                end = writer.fill + take
                writer.staging[writer.fill:end] = data[done:done + take]
                writer.staging_ts[writer.fill:end] = timestamps[done:done + take]
                writer.fill = end
                done += take
                if writer.fill == writer.block:
                    self._hand_off(writer, final=False)

    def add_label(self, event: LabelEvent) -> None:
        """Append the label to labels.jsonl and flush it to the OS at once (fsync follows)."""
        names = self.meta.class_names
        if not 0 <= event.class_index < len(names):
            raise ValueError(
                f"label class index {event.class_index} is outside 0..{len(names) - 1} "
                f"for classes {list(names)}"
            )
        line = encode_label(event, names)
        with self._labels_lock:
            if self._labels_file is None:
                raise RuntimeError(f"session {self.folder} is closed; labels go to a new recording")
            self._labels.append(event)
            if not self._labels_failed:
                try:
                    self._labels_file.write(line)
                    self._labels_file.flush()
                except OSError as e:
                    self._labels_failed = True
                    self._fail(f"writing {LABELS_NAME} failed ({e}); labels are kept in memory "
                               "and written again when the session closes")
        self._queue.put(_SYNC_LABELS)

    def close(self, pack: bool | None = None) -> SessionSummary:
        """Flush every stream, write the final meta.json, pack into `<name>.session.zip`."""
        with self._close_lock:
            if self._summary is not None:
                return self._summary
            _open_recordings.discard(self)
            for writer in self._writers.values():
                with writer.lock:
                    writer.closed = True
                    if writer.fill:
                        self._hand_off(writer, final=True)
            self._queue.put(_STOP)
            self._writer.join()
            self._close_labels()
            ended = dt.datetime.now(dt.UTC)
            samples = {name: w.written for name, w in self._writers.items()}
            dropped = {name: w.dropped for name, w in self._writers.items()}
            for name, lost in dropped.items():
                if lost:
                    self._fail(f"{lost} samples of stream {name!r} could not be recorded")
            if self._disk_failed:
                self._repair_after_failure()
            location = str(self.folder)
            try:
                write_atomically(self.folder / META_NAME, encode_json(self._document(
                    STATUS_CLOSED, ended=ended, samples=samples, dropped=dropped,
                    error=self.error)))
                final_meta = True
            except OSError as e:
                final_meta = False
                self._fail(f"the final {META_NAME} could not be written ({e}); run "
                           f"`hexloop recover {self.folder}` once the disk has space")
            do_pack = self._store.pack if pack is None else pack
            if do_pack and final_meta:
                try:
                    location = str(pack_folder(self.folder, self._store.pack_progress))
                except Exception as e:  # noqa: BLE001 - the folder stays, whatever went wrong
                    self._fail(f"packing failed ({e}); the session is complete and kept as the "
                               f"folder {self.folder}; run `hexloop recover {self.folder}` to "
                               "pack it later")
            self._summary = SessionSummary(location, samples, len(self._labels), ended, self.error)
            return self._summary

    # health, for status lines and benchmarks
    @property
    def backlog_bytes(self) -> int:
        """Bytes of full blocks waiting for the writer thread."""
        return self._backlog_bytes

    @property
    def samples_written(self) -> dict[str, int]:
        return {name: w.written for name, w in self._writers.items()}

    @property
    def samples_received(self) -> dict[str, int]:
        return {name: w.received for name, w in self._writers.items()}

    @property
    def closed(self) -> bool:
        return self._summary is not None

    def __repr__(self) -> str:
        return f"ZarrRecording({self.location!r})"

    # internals
    def _fail(self, message: str) -> None:
        with self._error_lock:
            if message not in self._errors:
                self._errors.append(message)

    def _hand_off(self, writer: _StreamWriter, final: bool) -> None:
        """Queue the staging block (writer.lock held) and start a fresh one."""
        data, ts, n = writer.staging, writer.staging_ts, writer.fill
        writer._new_staging()
        nbytes = data.nbytes + ts.nbytes
        with self._backlog_lock:
            too_much = not final and self._backlog_bytes + nbytes > self._store.max_backlog_bytes
            if not too_much:
                self._backlog_bytes += nbytes
        if too_much:
            writer.dropped += n
            self._fail(
                f"the disk under {self.folder} cannot keep up: more than "
                f"{self._store.max_backlog_bytes / 2**20:.0f} MiB waited to be written, so new "
                "blocks are being dropped; record to a faster local disk, or fewer channels"
            )
            return
        self._queue.put((writer, data, ts, n, nbytes))

    def _run_writer(self) -> None:
        labels_dirty = False
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item is _SYNC_LABELS:
                labels_dirty = True
                if self._queue.empty():
                    self._sync_labels()
                    labels_dirty = False
                continue
            writer, data, ts, n, nbytes = item
            try:
                self._write_block(writer, data[:n], ts[:n])
            finally:
                with self._backlog_lock:
                    self._backlog_bytes -= nbytes
            writer.recycle(data, ts)
            if labels_dirty and self._queue.empty():
                self._sync_labels()
                labels_dirty = False

    def _write_block(self, writer: _StreamWriter, data: np.ndarray, ts: np.ndarray) -> None:
        n = len(ts)
        if self._disk_failed:
            writer.dropped += n
            return
        started = time.perf_counter()
        try:
            writer.data_array.append(data, axis=0)
            writer.ts_array.append(ts, axis=0)
        except Exception as e:  # noqa: BLE001 - any failure: report, keep what is written
            self._disk_failed = True
            writer.dropped += n
            self._fail(
                f"writing stream {writer.info.name!r} to {self.folder} failed ({e}); everything "
                f"up to {writer.written} samples is kept; later samples are not recorded; "
                "free disk space or record to another disk"
            )
            return
        writer.written += n
        self.blocks_written += 1
        self.writer_busy_s += time.perf_counter() - started

    def _sync_labels(self) -> None:
        """fsync labels.jsonl without holding the lock, so add_label never waits on the disk.

        Only the writer thread calls this, and close() joins it before closing the file.
        """
        with self._labels_lock:
            f = self._labels_file
            if f is None or self._labels_failed:
                return
        try:
            os.fsync(f.fileno())
        except OSError:
            pass

    def _close_labels(self) -> None:
        with self._labels_lock:
            f, self._labels_file = self._labels_file, None
            failed = self._labels_failed
            try:
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                failed = True
            finally:
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        failed = True
            if failed:
                payload = b"".join(encode_label(e, self.meta.class_names) for e in self._labels)
                try:
                    write_atomically(self.folder / LABELS_NAME, payload)
                except OSError as e:
                    self._fail(f"{len(self._labels)} labels could not be saved ({e})")

    def _repair_after_failure(self) -> None:
        try:
            repair_folder(self.folder, finalize=False)
        except Exception as e:  # noqa: BLE001 - reading still copes with a ragged end
            self._fail(f"trimming the streams to whole blocks failed ({e})")


_open_recordings: weakref.WeakSet[ZarrRecording] = weakref.WeakSet()


@atexit.register
def _close_open_recordings() -> None:
    """An interpreter that exits with a recording open still flushes and finalizes it."""
    for recording in list(_open_recordings):
        try:
            recording.close()
        except Exception:  # noqa: BLE001, S110 - exiting anyway; recover() handles the rest
            pass
