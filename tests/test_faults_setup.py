"""Fault matrix for setup files (issue #11, item 13): every value has a bound, every bad value an
error naming its key, all at once, and `hexloop run` exits 2 with them instead of a traceback."""

import textwrap
from pathlib import Path

import pytest

from hexloop.application.composition import cli
from hexloop.application.composition.build import build
from hexloop.application.composition.labsetup import (
    SetupInvalid,
    check_setup,
    load_setup,
)
from hexloop.application.composition.registry import Registry
from hexloop.application.composition.setupbounds import MAX_DEPTH, MAX_FILE_BYTES, MAX_STRING

GOOD = """
[app]
name = "faults"

[[streams]]
name = "emg"
source = "simulated"
window_ms = 200
buffer_ms = 5000
options = { channels = 4, rate = 500.0 }
"""


def write(tmp_path, text, name="setup.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refusals(path, imports=True):
    with pytest.raises(SetupInvalid) as info:
        (load_setup if imports else check_setup)(path, Registry.from_entry_points())
    return [str(p) for p in info.value.problems]


OPTIONS = 'options = { channels = 4, rate = 500.0 }'
# (replace this in GOOD, with this, the key and message expected)
HOSTILE = [
    (OPTIONS, "options = { channels = 9223372036854775807, rate = 500.0 }",
     "streams[0].options.channels: must be a whole number in 1..4096 channels"),
    (OPTIONS, "options = { channels = 4, rate = inf }",
     "streams[0].options.rate: must be in 0..100000 Hz, got inf"),
    (OPTIONS, "options = { channels = 4, rate = -1 }",
     "streams[0].options.rate: must be in 0..100000 Hz, got -1"),
    (OPTIONS, "options = { channels = 4, rate = nan }",
     "streams[0].options.rate: must be in 0..100000 Hz, got nan"),
    (OPTIONS, "options = { channels = 4.5, rate = 500.0 }",
     "streams[0].options.channels: must be a whole number in 1..4096"),
    (OPTIONS, f'options = {{ name = "{"x" * (MAX_STRING + 1)}" }}',
     f"streams[0].options.name: is too long: at most {MAX_STRING} characters"),
    (OPTIONS, "options = { x = " + "[" * (MAX_DEPTH + 2) + "1" + "]" * (MAX_DEPTH + 2) + " }",
     "is nested too deeply"),
    (OPTIONS, "options = { a = { b = { c = { d = { e = { f = { g = 1 } } } } } } }",
     "is nested too deeply"),
    (OPTIONS, "options = { seed = 1979-05-27 }",
     "streams[0].options.seed: must be a string, number, true/false, list or table"),
    (OPTIONS, "options = { big = 1e400 }", "streams[0].options.big: must be a finite number"),
    (OPTIONS, "options = { huge = 123456789012345678901 }",
     "streams[0].options.huge: is too large: whole numbers must be within +-2**53"),
    (OPTIONS, 'options = { name = "a\\u0000b" }', "must not contain a NUL character"),
    ("window_ms = 200", "window_ms = 1e308", "streams[0].window_ms: must be greater than 0 and at most"),
    ("buffer_ms = 5000", "buffer_ms = -5", "streams[0].buffer_ms: must be greater than 0"),
    ('name = "faults"', 'name = ""', "app.name: must be 1 to 200 characters"),
    ('name = "emg"', "name = { a = 1 }", "streams[0].name: must be a string"),
]


@pytest.mark.parametrize("old, new, expected", HOSTILE)
@pytest.mark.parametrize("imports", [False, True], ids=["check", "run"])
def test_every_hostile_value_is_refused_with_its_key(tmp_path, old, new, expected, imports):
    assert GOOD.count(old) == 1
    found = refusals(write(tmp_path, GOOD.replace(old, new)), imports)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize("section, expected", [
    ("[store]\nadapter = 'zarr'\noptions = { base_dir = 'r', chunk_seconds = 1e308 }",
     "store.options.chunk_seconds: must be greater than 0 and at most 60 s, got 1e+308"),
    ("[model]\nadapter = 'torch_classifier'\noptions = { epochs = -3 }\n[pipeline]\n",
     "model.options.epochs: must be a whole number in 1..1000000"),
    ("[model]\nadapter = 'torch_classifier'\n[pipeline]\npredict_hz = inf\n",
     "pipeline.predict_hz: must be greater than 0 and at most 1000 Hz, got inf"),
    ("[model]\nadapter = 'torch_classifier'\n[pipeline]\nstep_ms = 0\n",
     "pipeline.step_ms: must be greater than 0"),
    ("[model]\nadapter = 'torch_classifier'\n[pipeline]\n[[outputs]]\ntransport = 'pylsl'\nhz = -50\n",
     "outputs[0].hz: must be greater than 0 and at most 1000 Hz, got -50"),
    ("[[bridges]]\nadapter = 'command'\nname = 'b'\noptions = { argv = ['x'], backoff_s = 1e99 }",
     "bridges[0].options.backoff_s: must be in 0..86400 s"),
])
def test_every_section_has_bounds(tmp_path, section, expected):
    found = refusals(write(tmp_path, GOOD + "\n" + section + "\n"), imports=False)
    assert any(expected in p for p in found), found


def test_all_errors_at_once(tmp_path):
    text = GOOD.replace(OPTIONS, "options = { channels = 0, rate = -1, timeout = inf }")
    text = text.replace("window_ms = 200", "window_ms = nan").replace('name = "faults"', "name = 3")
    found = refusals(write(tmp_path, text), imports=False)
    keys = {p.split(": ")[1] for p in found}
    assert {"app.name", "streams[0].window_ms", "streams[0].options.channels",
            "streams[0].options.rate", "streams[0].options.timeout"} <= keys, found


def test_a_negative_rate_no_longer_passes_the_pre_check(tmp_path):
    """It used to pass load_setup and crash build with a raw ValueError (issue #16)."""
    path = write(tmp_path, GOOD.replace("rate = 500.0", "rate = -1.0"))
    assert any("streams[0].options.rate: must be in 0..100000 Hz" in p for p in refusals(path))


def test_an_adapter_refusal_while_building_is_a_setup_problem_with_its_key(tmp_path):
    # rate 0 is within the generic bound (0 = irregular streams) but the simulator refuses it
    path = write(tmp_path, GOOD.replace("rate = 500.0", "rate = 0.0"))
    registry = Registry.from_entry_points()
    setup = load_setup(path, registry)
    with pytest.raises(SetupInvalid) as info:
        build(setup, registry, headless=True)
    text = str(info.value)
    assert "streams[0].options: refused: a simulated amplifier needs a positive rate" in text


@pytest.mark.parametrize("old, new, expected", [
    ("rate = 500.0", "rate = -1.0", "streams[0].options.rate: must be in 0..100000 Hz"),
    ("rate = 500.0", "rate = 0.0", "streams[0].options: refused: a simulated amplifier"),
    ("channels = 4", "channels = 9223372036854775807", "streams[0].options.channels"),
])
def test_hexloop_run_exits_2_with_the_messages_not_a_traceback(tmp_path, capsys, old, new,
                                                                  expected):
    path = write(tmp_path, GOOD.replace(old, new))
    assert cli.main(["run", str(path), "--headless", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe[app]\n", "is not UTF-8 text"),
    (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply to read"),
    (b"[app\n", "not valid TOML"),
    (b"# " + b"x" * MAX_FILE_BYTES + b"\n", f"a setup file is at most {MAX_FILE_BYTES} bytes"),
])
def test_unreadable_files_are_one_clear_problem(tmp_path, content, expected):
    path = tmp_path / "setup.toml"
    path.write_bytes(content)
    found = refusals(path, imports=False)
    assert len(found) == 1 and expected in found[0], found


def test_a_directory_is_not_a_setup_file(tmp_path):
    found = refusals(tmp_path, imports=False)
    assert len(found) == 1 and "cannot be read" in found[0]


def test_a_huge_key_or_value_is_shown_cut_short(tmp_path):
    key = "k" * 5000
    text = GOOD + f'\n[{key}]\nx = 1\n' + GOOD.replace(OPTIONS, f'options = {{ {key} = 1 }}') \
        .split("[[streams]]")[1].join(["[[streams]]", ""]).replace('name = "emg"', 'name = "e2"')
    found = refusals(write(tmp_path, text), imports=False)
    assert found and all(len(p) < 400 for p in found), found


@pytest.mark.parametrize("example", ["simulated.toml", "lsl-pylsl.toml"])
def test_the_examples_build_with_their_outputs_named(example):
    """An option called `name` (the outputs' stream name) once collided with the builder's own."""
    pytest.importorskip("pylsl")
    registry = Registry.from_entry_points()
    path = Path(__file__).resolve().parents[1] / "examples" / example
    built = build(load_setup(path, registry), registry, headless=True)
    assert built.pipeline.outputs[0].transport.name == "emg-gestures-predictions"


def test_run_refuses_a_standard_library_feature_function_before_importing_it(tmp_path, capsys):
    """`features = "os:system"` used to be accepted and called with every window."""
    text = GOOD + '\n[model]\nadapter = "torch_classifier"\n\n[pipeline]\nfeatures = "os:system"\n'
    assert cli.main(["run", str(write(tmp_path, text)), "--headless", "--duration", "0.1"]) == 2
    assert "pipeline.features: 'os' is a standard-library module" in capsys.readouterr().err
