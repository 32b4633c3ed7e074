"""The disk side of a recording: staging blocks, the writer thread, durability, folder rescue.

`ZarrRecording` (recording.py) is the facade the app talks to; this module does the writing:

* `StagedStream` holds one stream's staging block and counters (acquisition threads fill it);
* `Journal` (journal.py) keeps labels.jsonl and discontinuities.jsonl, every line also in memory;
* `SessionWriter` runs the writer thread: it appends full blocks to the Zarr arrays, fsyncs them
  when `durability` is "fsync", and when the session folder is removed or stops being writable it
  moves the recording to a rescue folder (`<name>.rescued`) and goes on there.
"""

from __future__ import annotations

import collections
import errno
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .journal import Journal
from .layout import META_NAME, STREAMS_GROUP, StreamLayout, fsync_dir, write_atomically

#: "fsync": every block's files reach the disk before the next block (a power cut costs at most
#: the block being filled and the one being written); "flush": the OS writes them back when it
#: likes (about 30 s on Linux), for scratch recordings on slow disks.
DURABILITIES = ("fsync", "flush")
#: With durability "fsync", blocks written while more wait in the queue are synced together,
#: each file once, when the queue empties or this many are unsynced: a backlog is on disk sooner.
SYNC_GROUP_BLOCKS = 8
#: Blocks per stream kept allocated for reuse (the one filling is extra).
SPARE_BLOCKS = 2
RESCUE_SUFFIX = ".rescued"
_FOLDER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}

Report = Callable[[str], None]


class StagedStream:
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
        self.written = 0  # samples on disk (writer thread only), rescue folder included
        self.dropped = 0  # samples that will never reach the disk
        self.base = 0  # samples written before the recording moved to a rescue folder

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

    @property
    def in_folder(self) -> int:
        """Samples in the folder the session now lives in."""
        return self.written - self.base


def array_codecs(compression: str | None, level: int) -> tuple:
    """Bytes codecs of every array: the compressor (if any), then a CRC32C checksum per chunk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    compressor = (ZstdCodec(level=level),) if compression else ()
    return (*compressor, Crc32cCodec())


def create_tree(folder: Path, layouts: Sequence[StreamLayout], meta_json: bytes,
                compression: str | None, level: int) -> dict[str, tuple]:
    """Write meta.json and the empty Zarr hierarchy; return each stream's (data, timestamps)."""
    import zarr
    from zarr.storage import LocalStore

    write_atomically(folder / META_NAME, meta_json)
    root = zarr.create_group(store=LocalStore(folder), attributes={
        "hexloop": "recording session; see meta.json and labels.jsonl"})
    codecs = array_codecs(compression, level)
    streams_group = root.create_group(STREAMS_GROUP)
    arrays = {}
    for layout in layouts:
        info = layout.info
        group = streams_group.create_group(layout.group.split("/", 1)[1],
                                           attributes={"stream": info.to_dict()})
        # (Any: zarr types these as its own TypedDicts)
        config: Any = {"write_empty_chunks": True}  # every block must exist on disk
        flat: Any = {"name": "default", "separator": "."}  # c.<block>.0: no folder per block
        data = group.create_array(
            "data", shape=(0, info.channel_count), chunks=(layout.chunk_samples,
                                                          info.channel_count),
            dtype=info.np_dtype, fill_value=0, compressors=codecs,
            dimension_names=("time", "channel"), config=config, chunk_key_encoding=flat)
        ts = group.create_array(
            "timestamps", shape=(0,), chunks=(layout.chunk_samples,), dtype="float64",
            fill_value=0.0, compressors=codecs, dimension_names=("time",), config=config,
            chunk_key_encoding=flat)
        arrays[info.name] = (data, ts)
    for path in sorted({folder, *folder.rglob("*")}, key=lambda p: -len(p.parts)):
        if path.is_dir():
            fsync_dir(path)  # the hierarchy's entries survive a power cut
    return arrays


def rescue_folder(folder: Path) -> Path:
    """A new folder for a session whose folder is gone: beside it, else in the temp folder."""
    places = [folder.parent, Path(tempfile.gettempdir()) / "hexloop-rescued"]
    problems = []
    for place in places:
        for attempt in range(20):
            suffix = RESCUE_SUFFIX if attempt == 0 else f"{RESCUE_SUFFIX}{attempt}"
            candidate = place / (folder.name + suffix)
            try:
                place.mkdir(parents=True, exist_ok=True)
                candidate.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                problems.append(f"{place}: {e}")
                break
            fsync_dir(place)
            return candidate
    raise OSError("no folder could be created for the rescued data (" + "; ".join(problems) + ")")


_STOP = object()
_SYNC = object()


class SessionWriter:
    """The writer thread of one recording and the folder it writes to.

    `rescue(reason, detail)` is called (on the writer thread) with "removed" or "not writable"
    when the folder fails; it returns the new folder and its streams' (data, timestamps) arrays,
    or None when there is no way to go on.
    """

    def __init__(self, folder: Path, streams: Sequence[StagedStream], journals: Sequence[Journal],
                 durability: str, max_backlog_bytes: int, report: Report,
                 rescue: Callable[[str, str], tuple[Path, dict[str, tuple]] | None], name: str):
        self.folder = folder
        self.streams = list(streams)
        self.journals = list(journals)
        self.durability = durability
        self.max_backlog_bytes = max_backlog_bytes
        self.report = report
        self.rescue = rescue
        self.disk_failed = False
        self.rescued_from: Path | None = None
        self.backlog_bytes = 0
        self._backlog_lock = threading.Lock()
        self.busy_s = 0.0
        self.blocks_written = 0
        self.write: Callable = self.write_block  # replaceable (fault injection in tests)
        self._unsynced_files: dict[Path, None] = {}  # ordered sets
        self._unsynced_dirs: dict[Path, None] = {}
        self._unsynced_blocks = 0
        self._identity = self._folder_identity()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # any thread
    def hand_off(self, stream: StagedStream, final: bool) -> None:
        """Queue the staging block (stream.lock held) and start a fresh one."""
        data, ts, n = stream.staging, stream.staging_ts, stream.fill
        stream._new_staging()
        nbytes = data.nbytes + ts.nbytes
        with self._backlog_lock:
            too_much = not final and self.backlog_bytes + nbytes > self.max_backlog_bytes
            if not too_much:
                self.backlog_bytes += nbytes
        if too_much:
            stream.dropped += n
            self.report(
                f"the disk under {self.folder} cannot keep up: more than "
                f"{self.max_backlog_bytes / 2**20:.0f} MiB waited to be written, so new "
                "blocks are being dropped; record to a faster local disk, or fewer channels"
            )
            return
        self._queue.put((stream, data, ts, n, nbytes))

    def request_sync(self) -> None:
        self._queue.put(_SYNC)

    def journal_failed(self, error: OSError) -> None:
        """A labels or discontinuities write failed: if the folder is the cause, rescue now."""
        self._queue.put(error)

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    # writer thread
    def _run(self) -> None:
        dirty = False
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._sync_blocks()
                return
            if item is _SYNC:
                dirty = True
            elif isinstance(item, OSError):
                self.check_folder(item)
            else:
                stream, data, ts, n, nbytes = item
                try:
                    self.write(stream, data[:n], ts[:n])
                finally:
                    with self._backlog_lock:
                        self.backlog_bytes -= nbytes
                stream.recycle(data, ts)
            if self._unsynced_blocks and (self._queue.empty()
                                          or self._unsynced_blocks >= SYNC_GROUP_BLOCKS):
                self._sync_blocks()
            if dirty and self._queue.empty():
                for journal in self.journals:
                    journal.sync()
                dirty = False

    def _folder_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def folder_problem(self, error: BaseException | None = None) -> str | None:
        """"removed" when the folder is gone or replaced, "not writable" when the OS refuses."""
        if self._folder_identity() != self._identity or not (self.folder / META_NAME).exists():
            return "removed"  # gone, replaced, or emptied by a removal that did not finish
        if isinstance(error, OSError) and error.errno in _FOLDER_ERRNOS:
            return "not writable"
        return None

    def check_folder(self, error: OSError | None = None) -> None:
        """Move to a rescue folder if this one is gone or refuses writes (writer thread, or
        `close` once the thread has stopped)."""
        if self.disk_failed or self.rescued_from is not None:
            return
        problem = self.folder_problem(error)
        if problem is not None:
            self.move(problem, "" if error is None else str(error))

    def write_block(self, stream: StagedStream, data: np.ndarray, ts: np.ndarray) -> None:
        n = len(ts)
        if self.disk_failed:
            stream.dropped += n
            return
        started = time.perf_counter()
        problem = self.folder_problem()
        if problem is None:
            try:
                self._append(stream, data, ts)
            except Exception as e:  # noqa: BLE001 - any failure: report, keep what is written
                problem = self.folder_problem(e)
                if problem is None or not self.move(problem, str(e)):
                    self._disk_failure(stream, n, e)
                    return
            else:
                problem = self.folder_problem()  # removed while this block was being written?
                if problem is None:
                    self._done(stream, n, started)
                    return
                if not self.move(problem):
                    self._disk_failure(stream, n, OSError(f"the folder was {problem}"))
                    return
        elif not self.move(problem):
            self._disk_failure(stream, n, OSError(f"the folder was {problem}"))
            return
        try:
            self._append(stream, data, ts)
        except Exception as e:  # noqa: BLE001
            self._disk_failure(stream, n, e)
            return
        self._done(stream, n, started)

    def _append(self, stream: StagedStream, data: np.ndarray, ts: np.ndarray) -> None:
        block_index = stream.in_folder // stream.block
        stream.data_array.append(data, axis=0)
        stream.ts_array.append(ts, axis=0)
        if self.durability == "fsync":
            self._note_block(stream, block_index)

    def _note_block(self, stream: StagedStream, k: int) -> None:
        """Remember what makes block k durable: its two chunk files, the arrays' zarr.json (their
        new shape) and the array folders (the new entries); `_sync_blocks` fsyncs them."""
        group = self.folder / stream.layout.group
        for array, key in (("data", f"c.{k}.0"), ("timestamps", f"c.{k}")):
            self._unsynced_files[group / array / key] = None
            self._unsynced_files[group / array / "zarr.json"] = None
            self._unsynced_dirs[group / array] = None
        self._unsynced_blocks += 1

    def _sync_blocks(self) -> None:
        """fsync every file of the blocks written since the last sync, each once, folders last."""
        if not self._unsynced_blocks:
            return
        started = time.perf_counter()
        for path in (*self._unsynced_files, *self._unsynced_dirs):
            fsync_dir(path)  # a chunk file: fsync_dir syncs any path by name
        self._unsynced_files.clear()
        self._unsynced_dirs.clear()
        self._unsynced_blocks = 0
        self.busy_s += time.perf_counter() - started

    def _done(self, stream: StagedStream, n: int, started: float) -> None:
        stream.written += n
        self.blocks_written += 1
        self.busy_s += time.perf_counter() - started

    def move(self, problem: str, detail: str = "") -> bool:
        """Continue the recording in a rescue folder; False when that is impossible too.

        The writer thread calls it, or `close` once the thread has stopped.
        """
        if self.rescued_from is not None:
            return False  # the rescue folder failed as well: stop, as for a full disk
        moved = self.rescue(problem, detail)
        if moved is None:
            return False
        self.rescued_from, (self.folder, arrays) = self.folder, moved
        for stream in self.streams:
            stream.base = stream.written
            stream.data_array, stream.ts_array = arrays[stream.info.name]
        self._identity = self._folder_identity()
        return True

    def _disk_failure(self, stream: StagedStream, n: int, error: BaseException) -> None:
        self.disk_failed = True
        stream.dropped += n
        self.report(
            f"writing stream {stream.info.name!r} to {self.folder} failed ({error}); everything "
            f"up to {stream.written} samples is kept; later samples are not recorded; "
            "free disk space or record to another disk"
        )
