"""The experiment state machine: idle, recording, training, predicting, as a transition table,
and the recording flag that may be set while predicting (an online session).

The user-visible state is one of four (`State`). Recording is also a flag (`recording`): always
set in `recording`, never in `idle` or `training`, and set while `predicting` when an online
session is open: `START_PREDICTING` with `record=True`, or `START_RECORDING` while predicting.
`STOP_RECORDING` while predicting clears it and predicting goes on; `STOP_PREDICTING` clears it
too (the app closes the session first). Training is refused while predicting *and* recording:
the online session must be closed by a person, not as a side effect.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence

import attrs


class State(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    TRAINING = "training"
    PREDICTING = "predicting"


class Action(enum.Enum):
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    START_TRAINING = "start_training"
    STOP_TRAINING = "stop_training"  # training finished, failed or was cancelled
    START_PREDICTING = "start_predicting"
    STOP_PREDICTING = "stop_predicting"


S, A = State, Action

#: (state, action) -> new state. Anything absent is refused, except the recording flag's
#: own changes while predicting (START_RECORDING / STOP_RECORDING keep `predicting`: see `step`).
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.IDLE, A.START_RECORDING): S.RECORDING,
    (S.RECORDING, A.STOP_RECORDING): S.IDLE,
    (S.IDLE, A.START_TRAINING): S.TRAINING,
    (S.PREDICTING, A.START_TRAINING): S.TRAINING,  # predicting stops first: never both at once
    (S.TRAINING, A.STOP_TRAINING): S.IDLE,
    (S.IDLE, A.START_PREDICTING): S.PREDICTING,
    (S.PREDICTING, A.STOP_PREDICTING): S.IDLE,
}

#: What to do instead, by the state that refused.
_HINTS: dict[State, str] = {
    S.IDLE: "start it first",
    S.RECORDING: "stop the recording first",
    S.TRAINING: "wait for training to finish or cancel it",
    S.PREDICTING: "stop predicting first",
}


class TransitionRefused(RuntimeError):
    """A start_*/stop_* request the current state does not allow; the state is unchanged."""

    def __init__(self, state: State, action: Action, reason: str):
        super().__init__(reason)
        self.state = state
        self.action = action
        self.reason = reason


def step(state: State, recording: bool, action: Action,
         record: bool = False) -> tuple[State, bool] | str:
    """The (state, recording flag) after `action`, or the sentence refusing it.

    `recording` is the flag now (ignored in states other than predicting, where it follows the
    state); `record=True` asks START_PREDICTING to open an online session as well.
    """
    if record and action is not A.START_PREDICTING:
        raise ValueError(f"record=True goes with start_predicting only, not {action.value}")
    online = state is S.PREDICTING and recording
    if state is S.PREDICTING:
        if action is A.START_RECORDING:
            return ("cannot start recording: already recording while predicting" if online
                    else (S.PREDICTING, True))
        if action is A.STOP_RECORDING:
            return ((S.PREDICTING, False) if online else
                    "cannot stop recording: not recording (predicting without recording)")
        if action is A.START_TRAINING and online:
            return ("cannot start training while predicting and recording: stop predicting "
                    "first (that closes the online session)")
    reason = refusal_reason(state, action)
    if reason is not None:
        return reason
    after = TRANSITIONS[(state, action)]
    return after, after is S.RECORDING or (after is S.PREDICTING and record)


def refusal_reason(state: State, action: Action) -> str | None:
    """None when `action` is allowed in `state` by the table, else a sentence saying what to do
    (the recording flag's own rules are `step`'s)."""
    if (state, action) in TRANSITIONS:
        return None
    doing = action.value.replace("_", " ")
    if action.value.startswith("stop") and state is S.IDLE:
        return f"cannot {doing}: nothing is running (state is idle)"
    if TRANSITIONS.get((S.IDLE, action)) is state:
        return f"cannot {doing}: already {state.value}"
    return f"cannot {doing} while {state.value}: {_HINTS[state]}"


@attrs.frozen
class Transition:
    """One accepted change of state."""

    before: State
    action: Action
    after: State
    recording: bool = False  # the recording flag after the change


class StateMachine:
    """The current state, changed only by `request`, safe to call from any thread."""

    def __init__(self, on_change: Callable[[Transition], None] | None = None):
        self._state = S.IDLE
        self._recording = False
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def state(self) -> State:
        return self._state

    @property
    def recording(self) -> bool:
        """True while a session records: in `recording`, or while predicting with the flag."""
        return self._recording

    def check(self, action: Action, record: bool = False) -> str | None:
        """The reason `action` would be refused now, or None if it would be accepted."""
        result = step(self._state, self._recording, action, record)
        return result if isinstance(result, str) else None

    def request(self, action: Action, expect: State | None = None,
                record: bool = False) -> Transition:
        """Apply `action` atomically or raise TransitionRefused, leaving the state unchanged.

        `expect` refuses the action unless the state is still `expect` (compare-and-set);
        `record=True` (START_PREDICTING only) sets the recording flag as well.
        """
        with self._lock:
            before = self._state
            result = step(before, self._recording, action, record)
            if not isinstance(result, str) and expect is not None and before is not expect:
                result = f"cannot {action.value.replace('_', ' ')}: state changed to {before.value}"
            if isinstance(result, str):
                raise TransitionRefused(before, action, result)
            self._state, self._recording = result
            transition = Transition(before, action, self._state, self._recording)
        if self._on_change is not None:
            self._on_change(transition)
        return transition


def no_predictions_reason(state: State, has_functions: bool, has_model: bool,
                          waiting_for: Sequence[str] = ()) -> str:
    """Why a pipeline has no prediction to show yet, in words a user acts on.

    `has_functions`: extract and predict are defined; `has_model`: trained or loaded;
    `waiting_for`: while predicting, the streams whose first window is not full yet.
    """
    if state is S.PREDICTING:
        if waiting_for:
            return (f"Predicting: waiting for a full window of {', '.join(waiting_for)} "
                    "(window_ms of samples) before the first prediction.")
        return "Predicting: the first prediction is on its way."
    if state is S.TRAINING:
        return ("Training: when it has finished, press Start predicting to see live "
                "predictions.")
    if not has_functions:
        return ("Nothing to predict with: define @pipeline.extract and @pipeline.predict "
                "(or a [pipeline] in the setup file).")
    if state is S.RECORDING:
        return ("Recording: stop the recording, train a model on it, then press Start "
                "predicting." if not has_model else
                "Recording: stop the recording, then press Start predicting.")
    if not has_model:
        return ("No model yet: record labelled trials (Record, then a cue button per "
                "trial), stop, and press Train; or load a model (hexloop run --model).")
    return "The model is ready: press Start predicting to see live predictions."

