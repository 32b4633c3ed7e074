"""The Cue panel's view-model: what a participant is asked to do now, large, and the protocol's
controls (pause, repeat the trial, abort the phase) with the keys that do the same.

`ctx.protocol` is the app's ProtocolRunner (application/protocol.py) or None; this module reads
it only through `snapshot()` (a domain `CueView`) and calls its `toggle_pause`, `repeat`,
`abort` and `quit`, so it stays pure and testable without a window or an app.
"""

from __future__ import annotations

from typing import Any

import attrs

from hexloop.domain.protocol import CUE, HOLD, REST, CueView

from .common import Button, Text

#: Keys the panel acts on (also typed in the terminal): key -> intent name.
KEYS = {"p": "pause", "r": "repeat", "a": "abort", "q": "quit"}
#: What each step asks of the participant, under the class name.
STEP_WORDS = {CUE: "get ready", HOLD: "hold", REST: "rest"}
TONES = {CUE: "blue", HOLD: "green", REST: "muted"}


@attrs.frozen
class CueDisplay:
    heading: str  # "calibrate (1 of 4)"
    cue: Text  # the large word: the class, REST, PAUSED, a phase's state
    step: str  # get ready / hold / rest / training 40 % ...
    countdown: str  # "1.2 s" or ""
    trial: str  # "trial 3 of 12" or ""
    level: float | None  # the ramp's level 0..1 for regression cues, else None
    message: Text | None
    health: str
    pause: Button
    repeat: Button
    abort: Button
    keys: str = "keys: p pause / resume, r repeat the trial, a abort the phase"


@attrs.frozen
class ProtocolIntent:
    action: str  # one of KEYS' values


def cue_view(view: CueView, ramps: bool = False) -> CueDisplay:
    """The panel for a runner's snapshot."""
    running = view.step not in ("done", "stopped", "ended")
    in_trials = view.step in (CUE, HOLD, REST) or view.paused
    starting = view.paused and view.step in ("waiting", "starting")
    if starting:
        cue = Text("READY?", "blue", "press p (or Start) when the participant is ready")
    elif view.paused:
        cue = Text("PAUSED", "orange", "press p (or Resume) to go on; the trial cut by the "
                                       "pause runs again")
    elif view.step in (CUE, HOLD):
        cue = Text((view.cue or "-").upper(), TONES[view.step])
    elif view.step == REST:
        cue = Text("rest", "muted")
    elif view.step == "done":
        cue = Text("done", "green")
    elif view.step in ("stopped", "ended"):
        cue = Text(view.step, "orange" if view.step == "ended" else "red")
    else:
        cue = Text(view.step, "normal")
    heading = (f"{view.phase} ({view.phase_number} of {len(view.phases)})" if view.phase
               else "protocol")
    step = STEP_WORDS.get(view.step, "") if not view.paused else "paused"
    countdown = (f"{view.remaining_s:.1f} s" if view.step in (CUE, HOLD, REST)
                 and not view.paused else "")
    trial = f"trial {view.trial} of {view.trials}" if view.trials else ""
    message = Text(view.message, "red" if view.step == "stopped" else "muted") \
        if view.message else None
    ended = None if running else "the protocol has ended"
    not_trials = None if in_trials else "only while cues run (calibrate, online)"
    return CueDisplay(
        heading=heading, cue=cue, step=step, countdown=countdown, trial=trial,
        level=view.level if ramps and view.step in (CUE, HOLD) else None, message=message,
        health=view.health,
        pause=Button("Start (p)" if starting else "Resume (p)" if view.paused else "Pause (p)",
                     ended or (None if starting else not_trials)),
        repeat=Button("Repeat trial (r)", ended or not_trials,
                      "run this trial again after the rest (the last one, during a rest)"),
        abort=Button("Abort phase (a)", ended,
                     "end this phase now; what it recorded is kept and the next phase runs"))


def key_intent(char: str) -> ProtocolIntent | None:
    action = KEYS.get(char.lower())
    return None if action is None else ProtocolIntent(action)


def apply_cue(protocol: Any, intent: ProtocolIntent | None) -> None:
    """Carry out a click or key on the runner."""
    if intent is None or protocol is None:
        return
    {"pause": protocol.toggle_pause, "repeat": protocol.repeat, "abort": protocol.abort,
     "quit": protocol.quit}[intent.action]()
