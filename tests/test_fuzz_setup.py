"""Property-based fuzzing of the setup parser (issue #11): random TOML documents and random values
at every key of a valid setup always give a valid setup or SetupInvalid whose problems name their
keys; never another exception, never a hang. Short by default; HEXLOOP_FULL_FUZZ=1 runs long."""

import datetime
import json
import math
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hexloop.application.composition.build import build
from hexloop.application.composition.labsetup import SetupInvalid, load_setup
from hexloop.application.composition.registry import Registry

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
FUZZ = settings(max_examples=2000 if FULL else 40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated.toml"
BASE = tomllib.loads(EXAMPLE.read_text())
REGISTRY = Registry.from_entry_points()
pytestmark = pytest.mark.timeout(600 if FULL else 120)


def toml_value(v) -> str:
    """A value as TOML text (inline tables and arrays; no TOML writer in the dependencies)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, datetime.date | datetime.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_document(data: dict) -> str:
    lines = []
    for section, value in data.items():
        if isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
            for table in value:
                lines.append(f"[[{json.dumps(section)}]]")
                lines += [f"{json.dumps(k)} = {toml_value(x)}" for k, x in table.items()]
        elif isinstance(value, dict):
            lines.append(f"[{json.dumps(section)}]")
            lines += [f"{json.dumps(k)} = {toml_value(x)}" for k, x in value.items()]
        else:
            lines.insert(0, f"{json.dumps(section)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 1, 2**53 + 1, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, 0.0, -0.0]),
)
SCALARS = st.one_of(
    NUMBERS, st.booleans(),
    st.text(max_size=30),
    st.builds(lambda n: "x" * n, st.sampled_from([0, 4096, 4097, 100_000])),
    st.dates(), st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)


def paths(data, prefix=()):
    """Every key path of a setup (into sections, [[arrays]], options and lists)."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        yield prefix + (key,)
        if isinstance(value, dict | list):
            yield from paths(value, prefix + (key,))


PATHS = list(paths(BASE))


def replaced(data, path, value):
    data = json.loads(json.dumps(data))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def outcome(path: Path, imports: bool):
    """load_setup (and, when valid, build) must succeed or raise SetupInvalid naming keys."""
    try:
        setup = load_setup(path, REGISTRY, imports=imports)
    except SetupInvalid as e:
        assert e.problems
        for p in e.problems:
            assert p.key and p.message and str(p).startswith(str(path)), p
            assert len(str(p)) < 1000, "a message must be cut short, not flood the terminal"
        return e
    if imports:
        try:
            build(setup, REGISTRY, headless=True)
        except SetupInvalid as e:
            assert all(p.key and p.message for p in e.problems)
            return e
    return setup


@FUZZ
@given(path=st.sampled_from(PATHS), value=VALUES, imports=st.booleans())
def test_any_value_at_any_key_is_a_setup_or_a_keyed_error(tmp_path, path, value, imports):
    document = toml_document(replaced(BASE, path, value))
    file = tmp_path / "fuzz.toml"
    file.write_text(document, encoding="utf-8")
    outcome(file, imports)


@FUZZ
@given(section=st.sampled_from(["streams", "store", "model", "pipeline", "outputs"]),
       key=st.sampled_from(["options", "extra", "window_ms", "hz", "name"]),
       option=st.sampled_from(["rate", "channels", "chunk_seconds", "timeout", "fps", "epochs",
                               "base_dir", "name", "seed", "backoff_s", "anything"]),
       value=VALUES, imports=st.booleans())
def test_any_value_for_any_option_is_a_setup_or_a_keyed_error(tmp_path, section, key, option,
                                                              value, imports):
    data = json.loads(json.dumps(BASE))
    table = data[section][0] if isinstance(data[section], list) else data[section]
    table.setdefault("options", {})[option] = value
    table[key] = {option: value} if key == "options" else value
    file = tmp_path / "fuzz.toml"
    file.write_text(toml_document(data), encoding="utf-8")
    outcome(file, imports)


FRAGMENTS = st.sampled_from([
    "[app]\n", 'name = "x"\n', "[[streams]]\n", 'source = "simulated"\n', "[pipeline]\n",
    "[model]\n", 'adapter = "torch_classifier"\n', "options = {", "}", "[", "]", "{", ",",
    " = ", "rate", "channels", "inf", "nan", "-1", "1e308", "9223372036854775807", '"', "'''",
    "\n", "[store]\n", "[[outputs]]\n", "a.b.c = 1\n", "[a.b.c.d.e.f.g]\n", "1979-05-27",
    "true", "\\u0000", "\x00", "é", "[[[[[[[[", "]]]]]]]]",
])


@FUZZ
@given(parts=st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40))
def test_random_documents_are_a_setup_or_a_keyed_error(tmp_path, parts):
    file = tmp_path / "fuzz.toml"
    file.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    outcome(file, imports=False)


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes_are_a_setup_or_a_keyed_error(tmp_path, data):
    file = tmp_path / "fuzz.toml"
    file.write_bytes(data)
    outcome(file, imports=False)
