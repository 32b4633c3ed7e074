"""The state machine against its transition table and the recording flag's rules, driven by
hypothesis, and its refusals."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hexloop.domain.state import (
    TRANSITIONS,
    Action,
    State,
    StateMachine,
    Transition,
    TransitionRefused,
    no_predictions_reason,
    refusal_reason,
    step,
)

P = State.PREDICTING


def expected(state, flag, action, record):
    """The oracle: the table for the state, plus the flag's rules while predicting."""
    if state is P and action is Action.START_RECORDING:
        return None if flag else (P, True)
    if state is P and action is Action.STOP_RECORDING:
        return (P, False) if flag else None
    if state is P and flag and action is Action.START_TRAINING:
        return None  # an online session is never closed as a side effect of training
    after = TRANSITIONS.get((state, action))
    if after is None:
        return None
    return after, after is State.RECORDING or (after is P and record)


class StateMachineAgainstTable(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.seen: list[Transition] = []
        self.machine = StateMachine(on_change=self.seen.append)
        self.model = State.IDLE
        self.flag = False
        self.accepted: list[Transition] = []

    @rule(action=st.sampled_from(Action),
          record=st.booleans())
    def request(self, action, record):
        if record and action is not Action.START_PREDICTING:
            with pytest.raises(ValueError, match="start_predicting"):
                self.machine.request(action, record=True)
            return
        after = expected(self.model, self.flag, action, record)
        assert (self.machine.check(action, record=record) is None) == (after is not None)
        if after is not None:
            t = self.machine.request(action, record=record)
            assert t == Transition(self.model, action, *after)
            self.accepted.append(t)
            self.model, self.flag = after
        else:
            with pytest.raises(TransitionRefused) as refused:
                self.machine.request(action, record=record)
            assert refused.value.state is self.model
            assert refused.value.action is action
            assert refused.value.reason == str(refused.value)
            assert action.value.replace("_", " ") in refused.value.reason

    @rule(action=st.sampled_from(Action), expect=st.sampled_from(State))
    def compare_and_set(self, action, expect):
        after = expected(self.model, self.flag, action, False)
        if after is not None and expect is self.model:
            self.accepted.append(self.machine.request(action, expect=expect))
            self.model, self.flag = after
        else:
            with pytest.raises(TransitionRefused):
                self.machine.request(action, expect=expect)

    @invariant()
    def follows_the_table(self):
        assert self.machine.state is self.model
        assert self.machine.recording is self.flag
        assert self.seen == self.accepted  # on_change sees every accepted transition, in order

    @invariant()
    def recording_is_a_flag_only_while_predicting(self):
        state, flag = self.machine.state, self.machine.recording
        if state is State.RECORDING:
            assert flag
        elif state is not P:
            assert not flag  # idle and training never record


TestStateMachineAgainstTable = StateMachineAgainstTable.TestCase
TestStateMachineAgainstTable.settings = settings(max_examples=60, stateful_step_count=25,
                                                 deadline=None)


def test_never_training_and_predicting_at_once():
    machine = StateMachine()
    machine.request(Action.START_PREDICTING)
    t = machine.request(Action.START_TRAINING)
    assert (t.before, t.after) == (State.PREDICTING, State.TRAINING)
    with pytest.raises(TransitionRefused):
        machine.request(Action.START_PREDICTING)


def test_recording_while_predicting_is_a_flag_the_states_stay_four():
    machine = StateMachine()
    t = machine.request(Action.START_PREDICTING, record=True)
    assert (t.after, t.recording, machine.recording) == (P, True, True)
    reason = machine.check(Action.START_TRAINING)
    assert reason == ("cannot start training while predicting and recording: stop predicting "
                      "first (that closes the online session)")
    assert machine.check(Action.START_RECORDING) == (
        "cannot start recording: already recording while predicting")
    machine.request(Action.STOP_RECORDING)  # the online session ends, predicting goes on
    assert (machine.state, machine.recording) == (P, False)
    assert machine.check(Action.STOP_RECORDING) == (
        "cannot stop recording: not recording (predicting without recording)")
    machine.request(Action.START_RECORDING)  # and starts again, still predicting
    assert (machine.state, machine.recording) == (P, True)
    machine.request(Action.STOP_PREDICTING)
    assert (machine.state, machine.recording) == (State.IDLE, False)
    assert {s.value for s in State} == {"idle", "recording", "training", "predicting"}


def test_record_goes_with_start_predicting_only():
    with pytest.raises(ValueError, match="record=True goes with start_predicting only"):
        step(State.IDLE, False, Action.START_RECORDING, record=True)
    assert step(State.RECORDING, True, Action.START_PREDICTING, record=True) == (
        "cannot start predicting while recording: stop the recording first")


@pytest.mark.parametrize(
    "state, action, reason",
    [
        (State.TRAINING, Action.START_RECORDING,
         "cannot start recording while training: wait for training to finish or cancel it"),
        (State.RECORDING, Action.START_TRAINING,
         "cannot start training while recording: stop the recording first"),
        (State.RECORDING, Action.START_RECORDING, "cannot start recording: already recording"),
        (State.IDLE, Action.STOP_RECORDING,
         "cannot stop recording: nothing is running (state is idle)"),
        (State.PREDICTING, Action.START_PREDICTING, "cannot start predicting: already predicting"),
    ],
)
def test_refusals_say_what_to_do(state, action, reason):
    assert refusal_reason(state, action) == reason


def test_every_refusal_has_a_reason_and_every_allowed_pair_none():
    for state in State:
        for action in Action:
            reason = refusal_reason(state, action)
            if (state, action) in TRANSITIONS:
                assert reason is None
            else:
                assert reason and reason.startswith("cannot ")


@pytest.mark.parametrize("state, functions, model, waiting, words", [
    (State.IDLE, True, True, (), "The model is ready: press Start predicting"),
    (State.IDLE, True, False, (), "No model yet: record labelled trials"),
    (State.IDLE, False, False, (), "define @pipeline.extract and @pipeline.predict"),
    (State.RECORDING, True, False, (), "stop the recording, train a model on it"),
    (State.TRAINING, True, False, (), "Training: when it has finished"),
    (State.PREDICTING, True, True, ("emg",), "waiting for a full window of emg"),
    (State.PREDICTING, True, True, (), "the first prediction is on its way"),
])
def test_no_predictions_says_why_in_words(state, functions, model, waiting, words):
    reason = no_predictions_reason(state, functions, model, waiting)
    assert words in reason and "None" not in reason
