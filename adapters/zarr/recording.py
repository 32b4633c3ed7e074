"""ZarrStore and its recording sessions: the facade the app talks to.

`append` only copies into a per-stream staging block; a full block goes to the session's writer
thread (writer.py), which appends it to `data` and then `timestamps` and fsyncs it. Acquisition
never waits on the disk: a failing or slow disk sets `error` at once and recording goes on,
keeping everything written; a session folder removed or made unwritable mid-recording moves the
recording to a rescue folder that the error names.

(A little over 400 lines: the store's settings and the session facade stay together because
`hexloop.adapters.zarr.recording` has always been where both live; the disk side is writer.py.)
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hexloop.adapters._optional import optional
from hexloop.domain.labels import LabelEvent
from hexloop.domain.session import SessionMeta, SessionSummary

from .discontinuities import DISCONTINUITIES_NAME, encode_discontinuity
from .journal import Journal
from .layout import (
    LABELS_NAME,
    META_NAME,
    STATUS_CLOSED,
    STATUS_RECORDING,
    StreamLayout,
    encode_json,
    encode_label,
    fsync_dir,
    meta_document,
    session_folder_name,
    stream_groups,
    write_atomically,
)
from .location import default_session_dir
from .packing import pack_folder, repair_folder
from .reading import ZarrSession, open_session
from .writer import DURABILITIES, SessionWriter, StagedStream, create_tree, rescue_folder

COMPRESSIONS = ("zstd", None)
#: A block never exceeds this many bytes, whatever the rate and channel count.
MAX_BLOCK_BYTES = 64 * 2**20
#: Block length of irregular-rate streams (rate 0), in samples.
IRREGULAR_BLOCK = 256

ProgressCallback = Callable[[float], None]  # fraction done, 0.0 to 1.0


class ZarrStore:
    """The Store port on Zarr v3: one folder per session, packed into `<name>.session.zip` on close.

    `base_dir` is where sessions go (default: `location.default_session_dir()`, the user data
    folder from platformdirs, or $HEXLOOP_SESSIONS); `chunk_seconds` sets each stream's block
    length from its rate; `compression` is "zstd" or None; `pack_progress(fraction)` follows
    packing; a session holds at most `max_backlog_bytes` of blocks waiting for the disk before
    it drops (and reports) new ones.
    `durability` is "fsync" (each block's files are fsynced on the writer thread: a power cut
    costs at most one block) or "flush" (left to the OS, for scratch recordings).
    """

    def __init__(
        self,
        base_dir: str | os.PathLike | None = None,
        chunk_seconds: float = 1.0,
        compression: str | None = "zstd",
        compression_level: int = 3,
        pack: bool = True,
        pack_progress: ProgressCallback | None = None,
        max_backlog_bytes: int = 512 * 2**20,
        durability: str = "fsync",
    ):
        if not (isinstance(chunk_seconds, int | float) and 0 < chunk_seconds <= 60):
            raise ValueError(f"chunk_seconds must be in (0, 60] seconds, got {chunk_seconds!r}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
        if not -7 <= int(compression_level) <= 22:
            raise ValueError(f"zstd compression_level must be in -7..22, got {compression_level}")
        if durability not in DURABILITIES:
            raise ValueError(f"durability must be one of {DURABILITIES}, got {durability!r}")
        if max_backlog_bytes < 0:
            raise ValueError(f"max_backlog_bytes must be >= 0, got {max_backlog_bytes}")
        optional("zarr", extra="zarr", purpose="ZarrStore")
        self.base_dir = Path(base_dir) if base_dir is not None else default_session_dir()
        self.chunk_seconds = float(chunk_seconds)
        self.compression = compression
        self.compression_level = int(compression_level)
        self.pack = pack
        self.pack_progress = pack_progress
        self.max_backlog_bytes = int(max_backlog_bytes)
        self.durability = durability

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
        return (f"ZarrStore({str(self.base_dir)!r}, compression={self.compression!r}, "
                f"durability={self.durability!r})")


class ZarrRecording:
    """An open recording (the RecordingSession port). `append` from acquisition threads,
    `add_label` and `add_discontinuity` from any thread, `close` once from any thread.
    """

    def __init__(self, store: ZarrStore, meta: SessionMeta):
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
        self._rescue: dict | None = None  # where the recording went when its folder failed
        try:
            arrays = create_tree(self.folder, self._layouts,
                                 encode_json(self._document(STATUS_RECORDING)),
                                 store.compression, store.compression_level)
            self._label_journal = Journal(self.folder / LABELS_NAME)
            self._jump_journal = Journal(self.folder / DISCONTINUITIES_NAME)
        except OSError as e:
            raise OSError(
                f"cannot create the recording session in {self.folder}: {e}; "
                "check that the folder is writable and the disk has space"
            ) from e
        self._writers = {layout.info.name: StagedStream(layout, *arrays[layout.info.name])
                         for layout in self._layouts}
        self._labels: list[LabelEvent] = []
        self._discontinuities: list[tuple[str, int, float, float]] = []
        self._jump_lock = threading.Lock()
        self._errors: list[str] = []
        self._error_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._summary: SessionSummary | None = None
        self._disk = SessionWriter(
            self.folder, list(self._writers.values()), (self._label_journal, self._jump_journal),
            store.durability, store.max_backlog_bytes, self._fail, self._move_to_rescue,
            name=f"zarr-writer-{self.session_id}")
        self._disk.write = lambda *block: self._write_block(*block)  # late-bound: fault injection
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
        doc = meta_document(self.meta, self._layouts, session_id=self.session_id,
                            status=status, clock_reference=self._clock_reference, **final)
        if self._rescue is not None:
            doc["rescued"] = dict(self._rescue)
        return doc

    # RecordingSession port
    @property
    def location(self) -> str:
        """Where the session is: its folder, or the rescue folder once that one failed."""
        return str(self._disk.folder)

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
                    self._disk.hand_off(writer, final=False)

    def add_label(self, event: LabelEvent) -> None:
        """Append the label to labels.jsonl and flush it to the OS at once (fsync follows)."""
        names = self.meta.class_names
        if not 0 <= event.class_index < len(names):
            raise ValueError(
                f"label class index {event.class_index} is outside 0..{len(names) - 1} "
                f"for classes {list(names)}"
            )
        if self._label_journal.closed:
            raise RuntimeError(f"session {self.folder} is closed; labels go to a new recording")
        try:
            error = self._label_journal.add(encode_label(event, names))
        except RuntimeError:
            raise RuntimeError(
                f"session {self.folder} is closed; labels go to a new recording") from None
        self._labels.append(event)
        if error is not None:
            self._fail(f"writing {LABELS_NAME} failed ({error}); labels are kept in memory "
                       "and written again when the session closes")
            self._disk.journal_failed(error)
        self._disk.request_sync()

    def add_discontinuity(self, stream: str, sample: int, before: float, after: float) -> None:
        """Record that `stream`'s clock jumped from `before` to `after` at sample `sample` (the
        first sample after the jump, counted from the session's first sample of the stream).

        Appended to discontinuities.jsonl and flushed at once, like a label.
        """
        if stream not in self._writers:
            raise KeyError(
                f"stream {stream!r} is not part of this session; it records {list(self._writers)}")
        if int(sample) < 0:
            raise ValueError(f"discontinuity sample must be >= 0, got {sample}")
        with self._jump_lock:  # against a move to a rescue folder, which shifts the indices
            shift = self._writers[stream].base  # non-zero once recording moved to a rescue
            try:
                error = self._jump_journal.add(
                    encode_discontinuity(stream, max(0, int(sample) - shift), before, after))
            except RuntimeError:
                raise RuntimeError(f"session {self.folder} is closed") from None
            self._discontinuities.append((stream, int(sample), float(before), float(after)))
        if error is not None:
            self._fail(f"writing {DISCONTINUITIES_NAME} failed ({error}); discontinuities are "
                       "kept in memory and written again when the session closes")
            self._disk.journal_failed(error)
        self._disk.request_sync()

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
                        self._disk.hand_off(writer, final=True)
            self._disk.stop()
            # noticed only now, when no block was written since: removed, or labels refused
            failed = [j.error for j in (self._label_journal, self._jump_journal) if j.failed]
            self._disk.check_folder(failed[0] if failed else None)
            for journal in (self._label_journal, self._jump_journal):
                error = journal.close()
                if error is not None:
                    self._fail(f"{len(journal.lines)} lines of {journal.path.name} could not be "
                               f"saved ({error})")
            ended = dt.datetime.now(dt.UTC)
            dropped = {name: w.dropped for name, w in self._writers.items()}
            for name, lost in dropped.items():
                if lost:
                    self._fail(f"{lost} samples of stream {name!r} could not be recorded")
            if self._disk.disk_failed:
                self._repair_after_failure()
            samples, final_meta = self._write_final_meta(ended, dropped)
            folder = self._disk.folder
            location = str(folder)
            do_pack = self._store.pack if pack is None else pack
            if do_pack and final_meta:
                try:
                    location = str(pack_folder(folder, self._store.pack_progress))
                except Exception as e:  # noqa: BLE001 - the folder stays, whatever went wrong
                    self._fail(f"packing failed ({e}); the session is complete and kept as the "
                               f"folder {folder}; run `hexloop recover {folder}` to "
                               "pack it later")
            self._summary = SessionSummary(location, samples, len(self._labels), ended, self.error)
            return self._summary

    # health, for status lines and benchmarks
    @property
    def backlog_bytes(self) -> int:
        """Bytes of full blocks waiting for the writer thread."""
        return self._disk.backlog_bytes

    @property
    def writer_busy_s(self) -> float:
        """Seconds the writer thread spent writing (and syncing) blocks."""
        return self._disk.busy_s

    @property
    def blocks_written(self) -> int:
        return self._disk.blocks_written

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

    def _write_final_meta(self, ended: dt.datetime, dropped: dict) -> tuple[dict, bool]:
        """Write the closing meta.json; a folder that refuses it moves to a rescue folder first.

        Returns the samples in the session's (final) folder, and whether meta.json was written.
        """
        while True:
            folder = self._disk.folder
            samples = {name: w.in_folder for name, w in self._writers.items()}
            try:
                write_atomically(folder / META_NAME, encode_json(self._document(
                    STATUS_CLOSED, ended=ended, samples=samples, dropped=dropped,
                    error=self.error)))
                return samples, True
            except OSError as e:
                self._disk.check_folder(e)  # moves at most once
                if self._disk.folder == folder:
                    self._fail(f"the final {META_NAME} could not be written ({e}); run "
                               f"`hexloop recover {folder}` once the disk has space")
                    return samples, False

    def _write_block(self, writer: StagedStream, data: np.ndarray, ts: np.ndarray) -> None:
        self._disk.write_block(writer, data, ts)

    def _move_to_rescue(self, problem: str, detail: str) -> tuple[Path, dict] | None:
        """The session folder was removed or became unwritable: go on in a rescue folder.

        Called on the writer thread (or by close once it stopped). Every label and discontinuity
        is rewritten there from memory; blocks from now on are written there.
        """
        old = self._disk.folder
        why = (f"the session folder {old} was removed while recording" if problem == "removed"
               else f"the session folder {old} is no longer writable"
               + (f" ({detail})" if detail else ""))
        first = {name: w.written for name, w in self._writers.items()}
        try:
            new = rescue_folder(self.folder)
            self._rescue = {"from": str(old), "reason": problem, "first_sample": first}
            arrays = create_tree(new, self._layouts, encode_json(self._document(STATUS_RECORDING)),
                                 self._store.compression, self._store.compression_level)
            self._label_journal.move(new)
            with self._jump_lock:
                self._jump_journal.move(new, [
                    encode_discontinuity(s, k - first[s], b, a)
                    for s, k, b, a in self._discontinuities if k >= first[s]])
                for name, w in self._writers.items():
                    w.base = first[name]
        except OSError as e:
            self._fail(f"{why}; no rescue folder could be made ({e}), so later samples are not "
                       f"recorded; {len(self._labels)} labels are kept in memory only")
            return None
        kept = ("the samples written before went with it" if problem == "removed" else
                f"the samples written before stay there (`hexloop recover {old}` once it is "
                "writable again)")
        self._fail(f"{why}: {kept}; recording goes on in {new}, which holds every label "
                   f"({len(self._labels)} so far) and all samples from then on")
        return new, arrays

    def _repair_after_failure(self) -> None:
        try:
            repair_folder(self._disk.folder, finalize=False)
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
