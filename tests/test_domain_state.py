"""The state machine against its transition table, driven by hypothesis, and its refusals."""

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
    refusal_reason,
)


class StateMachineAgainstTable(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.seen: list[Transition] = []
        self.machine = StateMachine(on_change=self.seen.append)
        self.model = State.IDLE
        self.accepted: list[Transition] = []

    @rule(action=st.sampled_from(Action))
    def request(self, action):
        allowed = (self.model, action) in TRANSITIONS
        assert (self.machine.check(action) is None) == allowed
        if allowed:
            t = self.machine.request(action)
            after = TRANSITIONS[(self.model, action)]
            assert t == Transition(self.model, action, after)
            self.accepted.append(t)
            self.model = after
        else:
            with pytest.raises(TransitionRefused) as refused:
                self.machine.request(action)
            assert refused.value.state is self.model
            assert refused.value.action is action
            assert refused.value.reason == str(refused.value)
            assert action.value.replace("_", " ") in refused.value.reason

    @rule(action=st.sampled_from(Action), expect=st.sampled_from(State))
    def compare_and_set(self, action, expect):
        allowed = (self.model, action) in TRANSITIONS and expect is self.model
        if allowed:
            self.accepted.append(self.machine.request(action, expect=expect))
            self.model = TRANSITIONS[(expect, action)]
        else:
            with pytest.raises(TransitionRefused):
                self.machine.request(action, expect=expect)

    @invariant()
    def follows_the_table(self):
        assert self.machine.state is self.model
        assert self.seen == self.accepted  # on_change sees every accepted transition, in order


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
        (State.PREDICTING, Action.START_RECORDING,
         "cannot start recording while predicting: stop predicting first"),
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
