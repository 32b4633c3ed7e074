"""The Log panel's and the status bar's view-models: log entries filtered by level and by the
last Clear, and the state with the app's status line and frame rate."""

from __future__ import annotations

import time
from typing import Any

import attrs

from hexloop.domain.state import State

LEVELS = ("all", "warnings", "errors")
LEVEL_TONES = {"info": "normal", "warning": "orange", "error": "red"}
STATE_TONES = {State.IDLE: "grey", State.RECORDING: "red", State.TRAINING: "orange",
               State.PREDICTING: "green"}


@attrs.frozen
class LogLine:
    clock: str  # "14:03:22"
    level: str
    tone: str
    text: str  # "source: message"


@attrs.frozen
class LogView:
    """The entries the filter keeps (formatted by `log_line` only when on screen)."""

    level: int  # index into LEVELS
    follow: bool
    entries: tuple[Any, ...]


@attrs.frozen
class SetLevel:
    level: int


@attrs.frozen
class SetFollow:
    follow: bool


@attrs.frozen
class ClearLog:
    pass


#: What the log panel can ask for in one frame.
LogIntent = SetLevel | SetFollow | ClearLog


def shown(level: int, entry_level: str) -> bool:
    """Whether a filter (index into LEVELS) keeps an entry of `entry_level`."""
    return level == 0 or entry_level == "error" or (level == 1 and entry_level == "warning")


def log_view(ctx: Any, state: Any) -> LogView:
    entries = tuple(e for e in ctx.log.entries()
                    if e.time >= state.log_hidden_before and shown(state.log_level, e.level))
    return LogView(state.log_level, state.log_follow, entries)


def log_line(entry: Any) -> LogLine:
    return LogLine(time.strftime("%H:%M:%S", time.localtime(entry.time)), entry.level,
                   LEVEL_TONES.get(entry.level, "grey"), f"{entry.source}: {entry.message}")


def apply_log(state: Any, intent: LogIntent, now: float | None = None) -> None:
    if isinstance(intent, SetLevel):
        state.log_level = intent.level
    elif isinstance(intent, SetFollow):
        state.log_follow = intent.follow
    elif isinstance(intent, ClearLog):
        state.log_hidden_before = time.time() if now is None else now


@attrs.frozen
class StatusView:
    state: str  # "RECORDING"
    tone: str
    status: str  # the app's status line, without the state it leads with
    fps: str | None


def status_view(ctx: Any, fps: float) -> StatusView:
    state = ctx.state
    status = ctx.status or ""
    if status.startswith(state.value):  # the status line leads with the state, shown apart
        status = status[len(state.value):].lstrip(" |")
    label = state.value.upper()
    if state is State.PREDICTING and getattr(ctx, "recording", None) is not None:
        label += " + REC"  # an online session records while predicting
    return StatusView(label, STATE_TONES.get(state, "grey"), status,
                      f"| {fps:.0f} fps" if fps else None)
