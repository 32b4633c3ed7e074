"""An append-only JSON-lines file (labels.jsonl, discontinuities.jsonl) that survives its folder.

Every line is flushed to the OS as it is added (so a killed program keeps it), fsynced by the
session's writer thread, and kept in memory, so a folder that is removed or stops being writable
mid-recording loses no line: `move` rewrites them all into the rescue folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from .layout import write_atomically


class Journal:
    """An append-only JSON-lines file; every line is also kept in memory.

    `add` (any thread) writes and flushes a line to the OS; `sync` (the writer thread) fsyncs;
    `move` (the writer thread) rewrites every line into another folder and appends there from
    then on; `close` fsyncs, or rewrites the whole file when a write had failed.
    """

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[bytes] = []
        self.lock = threading.Lock()
        self.failed = False
        self.error: OSError | None = None  # the write that failed, if one did
        self.closed = False
        self._file: BinaryIO | None = open(path, "ab")  # noqa: SIM115 - open for the whole recording

    def add(self, line: bytes) -> OSError | None:
        """Keep the line, write it; the OS error when the file could not take it."""
        with self.lock:
            if self.closed:
                raise RuntimeError("closed")
            self.lines.append(line)
            if self.failed or self._file is None:
                return None
            try:
                self._file.write(line)
                self._file.flush()
            except OSError as e:
                self.failed, self.error = True, e
                return e
        return None

    def sync(self) -> None:
        """fsync without holding the lock, so `add` never waits on the disk."""
        with self.lock:
            f = self._file
            if f is None or self.failed:
                return
        try:
            os.fsync(f.fileno())
        except OSError:
            pass

    def move(self, folder: Path, lines: list[bytes] | None = None) -> None:
        """Write every line (or `lines`) to the same name in `folder`, and append there."""
        with self.lock:
            old, self._file = self._file, None
            if old is not None:
                try:
                    old.close()
                except OSError:
                    pass
            if lines is not None:
                self.lines = list(lines)
            self.path = folder / self.path.name
            write_atomically(self.path, b"".join(self.lines))
            self.failed, self.error = False, None
            if not self.closed:  # moved by close(): the lines are written, nothing follows
                self._file = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> OSError | None:
        """Close the file; if any write failed, rewrite it whole. The error if that fails too."""
        with self.lock:
            f, self._file = self._file, None
            self.closed = True
            failed = self.failed or f is None
            try:
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                failed, self.error = True, e
            finally:
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        failed = True
            if failed:
                try:
                    write_atomically(self.path, b"".join(self.lines))
                except OSError as e:
                    return e
        return None
