"""Output post-processing stages on scripted prediction sequences, with hypothesis models where a
stage has a simple one (majority vote, dwell, edge trigger), and their spec checking."""

import collections
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.postprocess import (
    OutputStages,
    StagesInvalid,
    normalize_stages,
    stage_problems,
)

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
PROPS = settings(max_examples=1000 if FULL else 100, deadline=None, database=None)
NAMES = ("rest", "fist", "point")


def probs(c: int, p: float = 0.9) -> dict[str, float]:
    """Class c with probability p, the rest shared."""
    return {n: (p if i == c else (1 - p) / (len(NAMES) - 1)) for i, n in enumerate(NAMES)}


def run(stages: OutputStages, values, dt: float = 0.02) -> list:
    return [stages.apply(v, k * dt) for k, v in enumerate(values)]


def classes(out: list) -> list:
    return [None if o is None else o["class"] for o in out]


def test_smoothing_moves_a_step_part_way_each_tick():
    stages = OutputStages([{"type": "smooth", "alpha": 0.5}])
    out = run(stages, [{"x": 0.0}, {"x": 1.0}, {"x": 1.0}, {"x": 1.0}])
    assert [o["x"] for o in out] == [0.0, 0.5, 0.75, 0.875]


def test_one_euro_holds_a_constant_and_follows_a_fast_move_with_beta():
    still = OutputStages([{"type": "one_euro", "min_cutoff": 1.0}])
    assert all(o["x"] == 2.0 for o in run(still, [{"x": 2.0}] * 20))
    ramp = [{"x": 0.1 * k} for k in range(50)]
    slow = run(OutputStages([{"type": "one_euro", "min_cutoff": 0.5, "beta": 0.0}]), ramp)
    fast = run(OutputStages([{"type": "one_euro", "min_cutoff": 0.5, "beta": 5.0}]), ramp)
    lag_slow, lag_fast = 4.9 - slow[-1]["x"], 4.9 - fast[-1]["x"]
    assert 0 < lag_fast < lag_slow  # beta cuts the lag when the signal moves fast


def test_one_euro_ignores_a_repeated_timestamp():
    stages = OutputStages([{"type": "one_euro"}])
    assert stages.apply({"x": 0.0}, 1.0) == {"x": 0.0}
    assert stages.apply({"x": 5.0}, 1.0) == {"x": 0.0}  # no time passed: no division by zero


def test_threshold_sends_no_decision_below_the_confidence():
    stages = OutputStages([{"type": "threshold", "min_confidence": 0.6, "no_decision": -1}])
    out = run(stages, [probs(1, 0.9), probs(2, 0.5), probs(0, 0.6),
                       {"rest": math.nan, "fist": 0.7, "point": 0.1}])
    assert classes(out) == [1.0, -1.0, 0.0, 1.0]


def test_majority_vote_over_the_last_n():
    stages = OutputStages([{"type": "majority", "n": 3}])
    seq = [0, 0, 1, 1, 2, 1, 2, 2, 0]
    assert classes(run(stages, [probs(c) for c in seq])) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_dwell_sends_a_change_only_after_it_persists():
    stages = OutputStages([{"type": "dwell", "ticks": 3}])
    seq = [0, 0, 0, 1, 0, 1, 1, 1, 2, 2, 1]
    assert classes(run(stages, [probs(c) for c in seq])) == \
        [None, None, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_dwell_in_seconds_uses_the_prediction_times():
    stages = OutputStages([{"type": "hysteresis", "ticks": 1, "seconds": 0.05}])
    out = run(stages, [probs(c) for c in [0, 0, 0, 0, 1, 1, 1, 1]], dt=0.02)
    # the first class also dwells: 0 from t=0, sent at t=0.06; 1 from t=0.08, sent at t=0.14
    assert classes(out) == [None, None, None, 0, 0, 0, 0, 1]


def test_edge_sends_only_changes():
    stages = OutputStages([{"type": "threshold"}, {"type": "edge"}])
    out = run(stages, [probs(c) for c in [0, 0, 1, 1, 1, 0]])
    assert classes(out) == [0, None, 1, None, None, 0]
    assert stages.edge_triggered


def test_reset_forgets_history():
    stages = OutputStages([{"type": "majority", "n": 5}, {"type": "edge"}])
    run(stages, [probs(1)] * 5)
    stages.reset()
    assert classes(run(stages, [probs(0)])) == [0]


def test_a_typical_prosthesis_chain():
    """threshold -> majority -> dwell -> edge on a noisy sequence: one clean switch."""
    stages = OutputStages([{"type": "threshold", "min_confidence": 0.6},
                           {"type": "majority", "n": 5}, {"type": "dwell", "ticks": 2},
                           {"type": "edge"}])
    seq = [probs(0)] * 6 + [probs(1), probs(0, 0.5), probs(1)] + [probs(1)] * 6
    sent = [c for c in classes(run(stages, seq)) if c is not None]
    assert sent == [0, 1]


@PROPS
@given(seq=st.lists(st.integers(0, 2), min_size=1, max_size=60), n=st.integers(1, 8))
def test_majority_matches_a_counter_model(seq, n):
    out = classes(run(OutputStages([{"type": "majority", "n": n}]), [probs(c) for c in seq]))
    for k, got in enumerate(out):
        window = seq[max(0, k - n + 1):k + 1]
        counts = collections.Counter(window)
        top = max(counts.values())
        assert counts[int(got)] == top
        assert int(got) == next(c for c in reversed(window) if counts[c] == top)


@PROPS
@given(seq=st.lists(st.integers(0, 2), min_size=1, max_size=60), ticks=st.integers(1, 5))
def test_dwell_changes_only_after_ticks_in_a_row(seq, ticks):
    out = classes(run(OutputStages([{"type": "dwell", "ticks": ticks}]), [probs(c) for c in seq]))
    for k in range(len(out)):
        changed = out[k] is not None and (k == 0 or out[k] != out[k - 1])
        if changed:
            assert k + 1 >= ticks and set(seq[k - ticks + 1:k + 1]) == {int(out[k])}


@PROPS
@given(seq=st.lists(st.integers(0, 2), min_size=1, max_size=60))
def test_edge_never_sends_the_same_value_twice_in_a_row(seq):
    out = run(OutputStages([{"type": "threshold"}, {"type": "edge"}]), [probs(c) for c in seq])
    sent = [o["class"] for o in out if o is not None]
    assert all(a != b for a, b in zip(sent, sent[1:]))
    assert [int(c) for c in sent] == [c for k, c in enumerate(seq) if k == 0 or seq[k - 1] != c]


@PROPS
@given(x=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
       alpha=st.floats(0.01, 1.0))
def test_smoothing_stays_within_what_it_was_given(x, alpha):
    out = run(OutputStages([{"type": "smooth", "alpha": alpha}]), [{"v": v} for v in x])
    for k, o in enumerate(out):
        assert min(x[:k + 1]) - 1e-6 <= o["v"] <= max(x[:k + 1]) + 1e-6


@pytest.mark.parametrize("specs, key", [
    ([{"type": "majority", "n": 0}], "stages[0].n"),
    ([{"type": "smooth", "alpha": 1.5}], "stages[0].alpha"),
    ([{"type": "one_euro", "beta": -1}], "stages[0].beta"),
    ([{"type": "edge", "n": 3}], "stages[0].n"),
    ([{"type": "vote"}], "stages[0].type"),
    ([{"type": ["majority"]}], "stages[0].type"),  # a TOML array, not a name: was a TypeError
    ([{"type": "dwell", "seconds": math.inf}], "stages[0].seconds"),
    (["majority"], "stages[0]"),
    ({"type": "majority"}, "stages"),
])
def test_bad_stages_are_named(specs, key):
    assert [k for k, _ in stage_problems(specs)] == [key]
    with pytest.raises(StagesInvalid):
        OutputStages(specs)


def test_defaults_are_filled_in_and_aliases_resolved():
    assert normalize_stages([{"type": "hysteresis"}, {"type": "ema"}]) == (
        {"type": "dwell", "ticks": 3, "seconds": 0.0}, {"type": "smooth", "alpha": 0.3})
    assert stage_problems([{"type": "majority", "n": 5}], where="outputs[0].stages") == []


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
STAGE = st.one_of(SCALARS, st.builds(
    lambda t, d: {**d, "type": t},
    st.sampled_from(["smooth", "ema", "one_euro", "threshold", "majority", "dwell", "hysteresis",
                     "edge", "x", 3]),
    st.dictionaries(st.sampled_from(["alpha", "min_cutoff", "beta", "d_cutoff", "min_confidence",
                                     "no_decision", "n", "ticks", "seconds", "other"]),
                    SCALARS, max_size=4)))


@settings(max_examples=2000 if FULL else 150, deadline=None, database=None)
@given(specs=st.one_of(SCALARS, st.lists(STAGE, max_size=5)),
       values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=4))
def test_any_stages_give_named_problems_or_a_chain_that_runs(specs, values):
    problems = stage_problems(specs)
    if problems:
        assert all(k.startswith("stages") and m for k, m in problems)
        with pytest.raises(StagesInvalid):
            OutputStages(specs)
        return
    stages = OutputStages(specs)
    for k in range(5):
        out = stages.apply({f"v{i}": v for i, v in enumerate(values)}, k * 0.02)
        assert out is None or isinstance(out, dict)
