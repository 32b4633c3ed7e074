"""Cue protocol schedules (domain/protocol.py): every class exactly n times, a seeded order that
reproduces, trials that never overlap and durations that add up; the spec's problems by key."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.protocol import (
    PHASES,
    CueView,
    ProtocolSpec,
    duration,
    phase_problem,
    schedule,
    target_level,
    trial_order,
)

EXAMPLES = 500 if os.environ.get("HEXLOOP_FULL_FUZZ") else 60
names = st.lists(st.text("abcdefgh", min_size=1, max_size=6), min_size=1, max_size=6,
                 unique=True)
seconds = st.floats(0, 5, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def specs(draw):
    cue, hold = draw(seconds), draw(seconds)
    if cue + hold == 0:
        hold = 0.5
    return ProtocolSpec(classes=draw(names), repetitions=draw(st.integers(1, 6)), cue_s=cue,
                        hold_s=hold, rest_s=draw(seconds),
                        order=draw(st.sampled_from(["random", "sequential"])),
                        seed=draw(st.integers(0, 2**32 - 1)),
                        online_repetitions=draw(st.none() | st.integers(1, 4)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(specs(), st.sampled_from(["calibrate", "online"]))
def test_every_class_exactly_n_times_without_overlap_and_durations_add_up(spec, phase):
    trials = schedule(spec, phase)
    n = spec.repetitions_in(phase)
    assert sorted(t.class_name for t in trials) == sorted(list(spec.classes) * n)
    assert [t.index for t in trials] == list(range(len(trials)))
    for t in trials:
        assert t.onset <= t.offset <= t.end
        assert t.offset - t.onset == pytest.approx(spec.trial_s)
        assert t.end - t.offset == pytest.approx(spec.rest_s)
    for a, b in zip(trials, trials[1:]):
        assert a.end == pytest.approx(b.onset) and a.end <= b.onset + 1e-9  # back to back
    total = trials[-1].end - trials[0].onset
    assert total == pytest.approx(duration(spec, phase))
    assert total == pytest.approx(len(trials) * (spec.cue_s + spec.hold_s + spec.rest_s))


@settings(max_examples=EXAMPLES, deadline=None)
@given(names, st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_a_seeded_order_reproduces_and_sequential_cycles(classes, n, seed):
    assert trial_order(classes, n, "random", seed) == trial_order(classes, n, "random", seed)
    assert trial_order(classes, n, "sequential") == tuple(classes) * n


def test_different_seeds_and_phases_give_different_orders():
    spec = ProtocolSpec(classes=("a", "b", "c", "d"), repetitions=5, seed=1)
    assert trial_order(spec.classes, 5, "random", 1) != trial_order(spec.classes, 5, "random", 2)
    calibrate = [t.class_name for t in schedule(spec, "calibrate")]
    online = [t.class_name for t in schedule(spec, "online")]
    assert calibrate != online and sorted(calibrate) == sorted(online)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.floats(0.01, 3), st.floats(0.01, 3), st.floats(0, 1), st.floats(-1, 8))
def test_a_ramp_is_a_trapezoid_between_0_and_1(cue, hold, share, t):
    spec = ProtocolSpec(classes=("force",), cue_s=cue, hold_s=hold, ramp_s=share * (cue + hold) / 2)
    level = target_level(spec, t)
    assert 0.0 <= level <= 1.0
    if not 0 <= t < spec.trial_s:
        assert level == 0.0
    elif spec.ramp_s <= t <= spec.trial_s - spec.ramp_s:
        assert level == 1.0


def test_without_ramps_the_level_is_1_through_the_trial():
    spec = ProtocolSpec(classes=("a",), cue_s=1, hold_s=1)
    assert [target_level(spec, t) for t in (-0.1, 0, 1.5, 2.0)] == [0, 1, 1, 0]


@pytest.mark.parametrize("phases, wrong", [
    (PHASES, None), (("calibrate",), None), (("online", "evaluate"), None),
    (("train", "calibrate"), "order"), (("calibrate", "calibrate"), "twice"),
    (("calibrate", "predict"), "unknown"), ((), "at least one"),
    (("calibrate", "evaluate"), "add 'online'"), (("train", "online"), "add 'calibrate'"),
])
def test_phases_run_once_each_in_their_order(phases, wrong):
    problem = phase_problem(phases)
    assert (problem is None) if wrong is None else (wrong in problem)


def test_the_spec_names_each_problem_by_key():
    bad = ProtocolSpec(classes=("fist", "fist", "kick"), repetitions=0, cue_s=0, hold_s=0,
                       rest_s=1, rest_class="nap", order="shuffled", ramp_s=-1,
                       phases=("train",))
    keys = [k for k, _ in bad.problems(("rest", "fist"))]
    assert keys == ["classes", "classes", "repetitions", "hold_s", "rest_class", "order",
                    "ramp_s", "phases"]
    assert ProtocolSpec(classes=("fist",)).problems(("rest", "fist")) == []
    no_rest = ProtocolSpec(classes=("fist",), rest_class=None, rest_s=1)
    assert [k for k, _ in no_rest.problems(("fist",))] == ["rest_class"]


def test_the_terminal_line_says_cue_countdown_trial_and_health():
    view = CueView(phase="calibrate", phases=PHASES, step="hold", cue="fist", trial=3,
                   trials=12, remaining_s=1.25, health="emg 2048 Hz ok")
    assert view.line() == "[1/4 calibrate] | FIST         hold  1.2 s | trial 3 of 12 | " \
                          "emg 2048 Hz ok"
    rest = CueView(phase="online", phases=PHASES, step="rest", trial=1, trials=2, paused=True)
    assert "rest" in rest.line() and "PAUSED" in rest.line() and "[3/4 online]" in rest.line()


def test_the_level_timeline_follows_each_trial_and_stops_at_an_early_offset():
    from hexloop.domain.protocol import LevelTimeline

    spec = ProtocolSpec(classes=("a", "b"), cue_s=1, hold_s=1, ramp_s=0.5)
    timeline = LevelTimeline(spec)
    timeline.open(10.0, "a")
    timeline.close(12.0)
    timeline.open(13.0, "b")
    timeline.close(13.6)  # cut short by a pause: the level drops at once
    times = [9.9, 10.25, 11.0, 11.9, 12.1, 13.25, 13.5, 13.7]
    a, b = timeline.levels(times)
    assert a == [0, 0.5, 1, pytest.approx(0.2), 0, 0, 0, 0]
    assert b == [0, 0, 0, 0, 0, 0.5, 1, 0]


def test_ramp_score_matches_channels_by_name_and_scores_at_the_newest_level():
    import numpy as np

    from hexloop.domain.protocol import ramp_score

    level_ts = np.arange(0, 10, 0.01)
    level = np.vstack([np.sin(level_ts) ** 2, np.zeros_like(level_ts)])
    pred_ts = np.arange(0.5, 10, 0.02)
    good = np.sin(pred_ts) ** 2
    score = ramp_score(np.vstack([np.zeros_like(good), good]), ("other", "a"), pred_ts,
                       level, ("a", "b"), level_ts)
    assert score.class_names == ("a",) and score.correlation[0] > 0.99
    assert score.rmse[0] < 0.02 and score.scored == pred_ts.size
    with pytest.raises(ValueError, match="name none of the cued classes"):
        ramp_score(good[None], ("x",), pred_ts, level, ("a", "b"), level_ts)


def test_problems_quoting_long_names_stay_short():
    """A setup fuzzer found a 4000-character rest_class echoed whole into hexloop check's
    output; every problem stays a terminal line, whatever the user wrote."""
    long = "x" * 4000
    spec = ProtocolSpec(classes=("fist", long), rest_class=long, order=long)
    problems = spec.problems(["rest", "fist"])
    assert {key for key, _ in problems} >= {"classes", "rest_class", "order"}
    assert all(len(message) <= 400 for _, message in problems), problems
