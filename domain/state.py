"""The experiment state machine: idle, recording, training, predicting, as a transition table."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

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

#: (state, action) -> new state. Anything absent is refused.
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


def refusal_reason(state: State, action: Action) -> str | None:
    """None when `action` is allowed in `state`, else a sentence saying what to do."""
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


class StateMachine:
    """The current state, changed only by `request`, safe to call from any thread."""

    def __init__(self, on_change: Callable[[Transition], None] | None = None):
        self._state = S.IDLE
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def state(self) -> State:
        return self._state

    def check(self, action: Action) -> str | None:
        """The reason `action` would be refused now, or None if it would be accepted."""
        return refusal_reason(self._state, action)

    def request(self, action: Action, expect: State | None = None) -> Transition:
        """Apply `action` atomically or raise TransitionRefused, leaving the state unchanged.

        `expect` refuses the action unless the state is still `expect` (compare-and-set).
        """
        with self._lock:
            before = self._state
            reason = refusal_reason(before, action)
            if reason is None and expect is not None and before is not expect:
                reason = f"cannot {action.value.replace('_', ' ')}: state changed to {before.value}"
            if reason is not None:
                raise TransitionRefused(before, action, reason)
            self._state = TRANSITIONS[(before, action)]
            transition = Transition(before, action, self._state)
        if self._on_change is not None:
            self._on_change(transition)
        return transition
