"""The Store port: recording sessions to disk and reading them back."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.session import SessionMeta, SessionSummary


@runtime_checkable
class RecordingSession(Protocol):
    """An open recording. `append` is called from acquisition threads (several at once) and must
    never block on disk; a disk problem sets `error` and recording goes on losing nothing already
    written. `add_label` comes from any thread (the GUI, a script).
    `close` (any thread, once) flushes, finalizes and returns the summary. A session may also
    mark clock jumps (`MarksDiscontinuities.add_discontinuity`, optional).
    """

    @property
    def location(self) -> str: ...

    @property
    def error(self) -> str | None: ...

    def append(self, stream: str, data: np.ndarray, timestamps: np.ndarray) -> None: ...

    def add_label(self, event: LabelEvent) -> None: ...

    def close(self) -> SessionSummary: ...


@runtime_checkable
class MarksDiscontinuities(Protocol):
    """Optional on a RecordingSession: it records where a stream's clock jumped.

    `add_discontinuity(stream, sample, before, after)`: `sample` is the index, in the stream's
    recorded samples, of the first sample after the jump; `before` / `after` are the timestamps
    either side (see `hexloop.domain.streams.Discontinuity`). Called from the acquisition thread
    under the same rules as `append` (never block on disk). The application looks the method up
    with `getattr`, so a store without it records the samples without the marks.
    """

    def add_discontinuity(self, stream: str, sample: int, before: float, after: float) -> None:
        ...


@runtime_checkable
class RecordedSession(Protocol):
    """A finished (or recovered) session, read back on the thread that asks (GUI, a script).

    Test a store with `contracts.check_store`; docs/adapters.md.
    """

    @property
    def meta(self) -> SessionMeta: ...

    @property
    def labels(self) -> LabelTrack: ...

    def data(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        """The whole stream: data (channels, n) and timestamps (n,)."""
        ...


@runtime_checkable
class Store(Protocol):
    """Where sessions go. `open_session` and `read` run on the thread that asks (GUI, script,
    CLI) and may do I/O; the session's own rules are RecordingSession's. Test with
    `contracts.check_store`; docs/adapters.md.
    """

    def open_session(self, meta: SessionMeta) -> RecordingSession: ...

    def read(self, location: str) -> RecordedSession: ...
