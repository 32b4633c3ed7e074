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


@runtime_checkable
class MarkerSource(Protocol):
    """String markers read from elsewhere (PsychoPy, a game, another machine), each with its
    timestamp on the app's clock (LSL's local clock), to become labels.

    `connect(timeout)` finds and opens the marker stream: TimeoutError when it is not there
    within `timeout` seconds, ValueError when what is found is not a marker stream (the
    message says what to do). `read()` never blocks: the markers that arrived since the last
    call, oldest first, as `(marker, timestamp)`; SourceLost when the stream went away (the
    caller reconnects); RuntimeError before `connect`. `disconnect()` twice is harmless.
    Called from one thread (the marker thread).
    """

    name: str

    def connect(self, timeout: float) -> None: ...

    def read(self) -> list[tuple[str, float]]: ...

    def disconnect(self) -> None: ...
