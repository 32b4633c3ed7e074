"""The Bridges panel's view-model: each bridge's state, exit code, detail and stderr tail, with
Start and Stop; and what they do (on a worker thread)."""

from __future__ import annotations

from typing import Any

import attrs

from .common import Button

STATE_TONES = {"running": "green", "stopped": "grey", "crashed": "red"}


@attrs.frozen
class BridgeView:
    name: str
    state: str
    tone: str
    exit: str | None  # "exit 3" once it is not running
    detail: str
    start: Button
    stop: Button
    stderr: tuple[str, ...]


@attrs.frozen
class StartBridge:
    name: str


@attrs.frozen
class StopBridge:
    name: str


#: What a bridge panel can ask for in one frame.
BridgeIntent = StartBridge | StopBridge


def bridge_views(ctx: Any, state: Any) -> tuple[BridgeView, ...]:
    views = []
    for bridge in list(getattr(ctx, "bridges", ())):
        name = str(bridge.name)
        status = bridge.status
        run_state = str(getattr(status, "state", "?"))
        code = getattr(status, "exit_code", None)
        busy = state.tasks.busy(f"bridge-{name}")
        views.append(BridgeView(
            name=name,
            state=run_state,
            tone=STATE_TONES.get(run_state, "grey"),
            exit=f"exit {code}" if code is not None and run_state != "running" else None,
            detail=getattr(status, "detail", "") or "",
            start=Button("Start", "busy..." if busy else
                         "already running" if run_state == "running" else None),
            stop=Button("Stop", "busy..." if busy else
                        None if run_state == "running" else "not running"),
            stderr=tuple(getattr(status, "stderr_tail", ()) or ()),
        ))
    return tuple(views)


def apply_bridge(ctx: Any, state: Any, intent: BridgeIntent) -> None:
    for bridge in list(getattr(ctx, "bridges", ())):
        name = str(bridge.name)
        if name == intent.name:
            action = bridge.start if isinstance(intent, StartBridge) else bridge.stop
            state.tasks.start(f"bridge-{name}", action, ctx.log, f"bridge {name}")
            return
