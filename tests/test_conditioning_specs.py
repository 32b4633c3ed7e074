"""Conditioning chains as plain specs (hexloop.domain.conditioning, no scipy): defaults filled,
every problem named with its key, checked against the stream's rate when known."""

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.domain.conditioning import (
    ConditioningInvalid,
    chain_problems,
    describe_chain,
    normalize_chain,
)

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"


def test_the_issue_example_is_completed_with_defaults():
    chain = normalize_chain([{"type": "bandpass", "low": 20, "high": 450, "order": 4},
                             {"type": "notch", "freq": 50, "harmonics": 3}], 2000.0)
    assert chain == ({"type": "bandpass", "low": 20.0, "high": 450.0, "order": 4},
                     {"type": "notch", "freq": 50.0, "harmonics": 3, "q": 30.0})
    assert json.loads(json.dumps(chain)) == list(chain)  # what session metadata records
    assert normalize_chain(chain, 2000.0) == chain  # idempotent: a recorded chain rebuilds as is
    assert describe_chain(chain) == "bandpass 20-450 Hz o4 > notch 50 Hz x3"


@pytest.mark.parametrize("spec, rate, key, words", [
    ({"type": "bandpass", "low": 450, "high": 20}, 2000.0, "conditioning[0].low", "inverted"),
    ({"type": "bandpass", "low": 450, "high": 20}, None, "conditioning[0].low", "inverted"),
    ({"type": "bandpass", "low": 20, "high": 500}, 1000.0, "conditioning[0].high", "Nyquist"),
    ({"type": "bandpass", "low": 20, "high": 450}, 500.0, "conditioning[0].high", "250 Hz"),
    ({"type": "highpass", "low": 600}, 1000.0, "conditioning[0].low", "Nyquist"),
    ({"type": "lowpass", "cutoff": 800}, 1000.0, "conditioning[0].cutoff", "Nyquist"),
    ({"type": "notch", "freq": 60, "harmonics": 9}, 1000.0, "conditioning[0].harmonics",
     "at most 8"),
    ({"type": "notch"}, 1000.0, "conditioning[0].freq", "required"),
    ({"type": "notch", "freq": -50}, None, "conditioning[0].freq", "positive"),
    ({"type": "bandpass", "low": 20, "high": 450, "order": 2.5}, None, "conditioning[0].order",
     "whole number"),
    ({"type": "bandpass", "low": 20, "high": 450, "order": 40}, None, "conditioning[0].order",
     "1 to 10"),
    ({"type": "bandpas", "low": 20}, None, "conditioning[0].type", "one of bandpass"),
    ({"type": "car", "low": 20}, None, "conditioning[0].low", "not a key of car"),
    ({"type": "rms", "window_ms": 0.1}, 1000.0, "conditioning[0].window_ms", "one sample"),
    ({"type": "rms"}, 0.0, "conditioning[0].type", "irregular"),
    ("bandpass", None, "conditioning[0]", "must be a table"),
])
def test_each_problem_names_its_key(spec, rate, key, words):
    problems = chain_problems([spec], rate)
    assert [k for k, _ in problems] == [key]
    assert words in problems[0][1]
    with pytest.raises(ConditioningInvalid, match=key.replace("[", r"\[").replace("]", r"\]")):
        normalize_chain([spec], rate)


def test_the_prefix_says_where_the_chain_is_in_the_setup_file():
    problems = chain_problems([{"type": "car"}, {"type": "bandpass", "low": 20, "high": 900}],
                              1000.0, where="streams[1].conditioning")
    assert problems[0][0] == "streams[1].conditioning[1].high"


def test_without_a_rate_only_what_needs_none_is_checked():
    assert chain_problems([{"type": "bandpass", "low": 20, "high": 9000}]) == []
    assert chain_problems([{"type": "car"}, {"type": "rectify"}], 0.0) == []  # irregular is fine


@pytest.mark.parametrize("specs", [{"type": "car"}, "car", 3, None])
def test_a_chain_must_be_a_list(specs):
    assert chain_problems(specs)[0][0] == "conditioning"


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
KEYS = st.sampled_from(["type", "low", "high", "cutoff", "order", "freq", "harmonics", "q",
                        "window_ms", "other"])
TYPES = st.sampled_from(["bandpass", "highpass", "lowpass", "notch", "car", "rectify", "rms",
                         "x"])
SPEC = st.one_of(SCALARS, st.dictionaries(KEYS, SCALARS, max_size=6),
                 st.builds(lambda t, d: {**d, "type": t}, TYPES,
                           st.dictionaries(KEYS, SCALARS, max_size=5)))


@settings(max_examples=2000 if FULL else 150, deadline=None, database=None)
@given(specs=st.one_of(SCALARS, st.lists(SPEC, max_size=6)),
       rate=st.one_of(st.none(), st.floats(0, 1e5)))
def test_any_input_gives_named_problems_or_a_valid_chain(specs, rate):
    problems = chain_problems(specs, rate)
    if problems:
        assert all(isinstance(k, str) and k.startswith("conditioning") and m for k, m in problems)
        with pytest.raises(ConditioningInvalid):
            normalize_chain(specs, rate)
        return
    chain = normalize_chain(specs, rate)
    assert normalize_chain(chain, rate) == chain
    for spec in chain:
        if rate and "low" in spec and "high" in spec:
            assert spec["low"] < spec["high"] < rate / 2
