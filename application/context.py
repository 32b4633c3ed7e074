"""What every thread and panel can see: streams, state, status line, and a bounded log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hexloop.domain.state import State, StateMachine

from .log import Log, LogEntry

if TYPE_CHECKING:
    from .stream import Stream

__all__ = ["Context", "Log", "LogEntry"]


class Context:
    """The app's shared view: `ctx.streams[name]`, `ctx.state`, `ctx.status`, `ctx.log`."""

    def __init__(self, app: Any, machine: StateMachine, log: Log):
        self.app = app
        self.machine = machine
        self.log = log
        self.streams: dict[str, Stream] = {}
        self.pipelines: list[Any] = []
        self.bridges: list[Any] = []
        self.status = ""
        self.recording: Any = None  # the open RecordingSession, if any
        self.recording_started: float | None = None
        self.labels: Any = None  # LabelTrack of the current or last recording
        self.last_summary: Any = None  # SessionSummary of the last recording
        self.protocol: Any = None  # the ProtocolRunner driving the app (protocol.py), if any

    @property
    def state(self) -> State:
        return self.machine.state

    def add_streams(self, streams: Iterable[Stream]) -> None:
        for s in streams:
            if s.name in self.streams:
                raise ValueError(f"a stream named {s.name!r} is already registered")
            self.streams[s.name] = s
