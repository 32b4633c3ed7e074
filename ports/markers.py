"""The MarkerOutlet port: where a protocol's cues go as string markers (an LSL marker stream),
so other recorders (LabRecorder) see every cue beside the signals."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class MarkerOutlet(Protocol):
    """String markers at an irregular rate, one per cue, stamped on the stream clock.

    `open` makes the stream appear (a recorder may take a moment to see it), `push(marker,
    timestamp)` sends one marker stamped `timestamp` (seconds, the app's clock, which is LSL's
    local clock), `close` makes it disappear; `close` twice is harmless, `push` after `close`
    raises RuntimeError. Called from one thread (the protocol runner). `push` must be quick:
    raise (an OSError) rather than block; the runner reports it once and the protocol goes on.
    """

    name: str

    def open(self) -> None: ...

    def push(self, marker: str, timestamp: float) -> None: ...

    def close(self) -> None: ...
