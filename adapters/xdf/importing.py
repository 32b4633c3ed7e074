"""Importing an XDF file into any Store (the Zarr store in `hexloop import`), losing nothing.

The samples go through the store's own recording path (`open_session`, `append`, `add_label`,
`close`), so an imported session is written, checked and packed exactly like a live one, with
the timestamps as read (clock offsets applied, dejittered only when asked). Appends wait while the
store's writer has more than `max_backlog_bytes` waiting, so a large file never fills the
store's backlog limit and no block is dropped.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hexloop.domain.session import SessionSummary

from .reading import MARKERS_FILE_SUFFIX, XdfRecording, read_xdf

#: Samples handed to `append` at once are at most this many bytes.
APPEND_BYTES = 4 * 2**20
#: The import pauses while the writer has more than this waiting.
MAX_BACKLOG_BYTES = 64 * 2**20
#: A writer that makes no progress for this long is left to the store's own limits.
STALL_S = 60.0


def _wait_for_disk(session, limit: int) -> None:
    """Wait (bounded) while the session's writer is behind by more than `limit` bytes."""
    backlog = getattr(session, "backlog_bytes", None)
    if backlog is None:
        return
    gate = threading.Event()
    last, since = backlog, time.monotonic()
    while backlog > limit and session.error is None:
        gate.wait(0.005)
        backlog = session.backlog_bytes
        if backlog < last:
            last, since = backlog, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            return  # the store's backlog limit takes over and reports what it drops


def write_recording(recording: XdfRecording, store, *,
                    progress: Callable[[float], None] | None = None,
                    max_backlog_bytes: int = MAX_BACKLOG_BYTES) -> SessionSummary:
    """Write every numeric stream and the labels of `recording` as one session of `store`."""
    session = store.open_session(recording.meta)
    total = sum(s.timestamps.size for s in recording.streams)
    done = 0
    try:
        for s in recording.streams:
            row = max(1, s.data.itemsize * s.info.channel_count)
            step = max(1, APPEND_BYTES // row)
            n = s.timestamps.size
            for begin in range(0, n, step):
                end = min(n, begin + step)
                session.append(s.info.name, s.data[begin:end], s.timestamps[begin:end])
                done += end - begin
                if progress is not None and total:
                    progress(done / total)
                _wait_for_disk(session, max_backlog_bytes)
        for event in recording.labels.events:
            session.add_label(event)
    except BaseException:
        session.close()  # what was appended is kept and packed; the caller sees the error
        raise
    summary = session.close()
    if recording.markers_overflow is not None:
        _write_markers(recording, summary)
    if progress is not None:
        progress(1.0)
    return summary


def _write_markers(recording: XdfRecording, summary: SessionSummary) -> Path:
    """Marker streams too large for meta.json, written beside the session (atomically)."""
    location = Path(summary.location)
    stem = location.name.removesuffix(".session.zip")
    path = location.with_name(stem + MARKERS_FILE_SUFFIX)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"file": Path(recording.path).name,
                               "markers": recording.markers_overflow}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def import_xdf(path: str | os.PathLike, store, *, classes: str | Sequence[str] | None = None,
               markers: str | None = None, dejitter: bool = False,
               progress: Callable[[float], None] | None = None) -> SessionSummary:
    """Read `path` (read_xdf's options) and write it as a session of `store`."""
    recording = read_xdf(path, classes=classes, markers=markers, dejitter=dejitter)
    return write_recording(recording, store, progress=progress)
