"""Newcomer frictions found on main (#16), each with the behaviour a new user now gets: refusals
before anything is announced, help texts, exit codes, an aligned streams table, an honest demo
summary after Ctrl-C, examples and docs that say what they need, and a quiet editable install."""

from __future__ import annotations

import ast
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from hexloop.application.composition import cli

ROOT = Path(__file__).resolve().parents[1]


def default_sigint() -> None:
    """Ctrl-C reaches the child even when the suite runs with SIGINT ignored (nohup, `&`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- hexloop simulate --------------------------------------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["--rate", "-1"], "needs a positive rate in Hz, got -1"),
    (["--rate", "nan"], "needs a positive rate in Hz, got nan"),
    (["--channels", "0"], "channel count 0 is outside 1..4096"),
    (["--chunk", "-3"], "chunk must be >= 0 samples"),
    (["--duration", "0"], "--duration must be a positive number of seconds"),
])
def test_simulate_refuses_bad_values_before_saying_it_publishes(capsys, argv, says):
    pytest.importorskip("pylsl")
    assert cli.main(["simulate", *argv]) == 2
    out, err = capsys.readouterr()
    assert "publishing" not in out
    assert says in err and err.startswith("cannot simulate: ")


def test_every_simulate_option_has_a_help_text():
    sub = next(a for a in cli.parser()._actions if a.dest == "command")
    simulate = sub.choices["simulate"]
    options = [a for a in simulate._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"channels", "rate", "name", "chunk", "duration"}
    for action in options:
        assert action.help and len(action.help) > 10, action.option_strings
    assert "positive" in simulate.format_help()


# --- setups and LSL refusals (done before this work; checked here) --------------------
def test_a_negative_rate_in_a_setup_is_exit_2_naming_the_key(tmp_path, capsys):
    setup = tmp_path / "bad.toml"
    setup.write_text('[app]\nname = "bad"\n\n[[streams]]\nname = "emg"\nsource = "simulated"\n'
                     'options = { channels = 2, rate = -1.0 }\n')
    for command in (["check", str(setup)], ["run", str(setup), "--headless", "--duration", "0.1"]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "rate" in err and "-1" in err


def test_a_string_stream_refusal_names_no_marker_inlet_that_does_not_exist():
    from hexloop.adapters.lsl_common import Announcement, StreamRefused, refuse_if_unusable

    a = Announcement("cues", "Markers", 1, 0.0, "string", "psychopy", "lab-pc")
    with pytest.raises(StreamRefused) as caught:
        refuse_if_unusable(a, None, None, None)
    message = str(caught.value)
    assert "numeric streams only" in message and "'cues'" in message
    assert "Inlet" not in message and "MarkerSource" not in message


# --- an interrupted hexloop run ----------------------------------------------------------------
def test_ctrl_c_ends_hexloop_run_with_exit_130_and_says_so(tmp_path):
    setup = tmp_path / "sim.toml"
    setup.write_text('[app]\nname = "ctrlc"\n\n[[streams]]\nname = "emg"\nsource = "simulated"\n'
                     'options = { channels = 2, rate = 200.0 }\n')
    proc = subprocess.Popen([sys.executable, "-m", "hexloop.application.composition.cli", "run",
                             str(setup), "--headless"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = proc.stdout.readline()  # the first status line: the app is running
        assert first.startswith("idle"), first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == cli.EXIT_INTERRUPTED == 130, err
    assert "interrupted (Ctrl-C); exit 130" in err and "Traceback" not in err


# --- hexloop streams ---------------------------------------------------------------------------
def test_streams_table_columns_stay_aligned_with_long_names():
    listing = [types.SimpleNamespace(name=name, type=kind, channel_count=ch, sampling_rate=rate,
                                     host=host)
               for name, kind, ch, rate, host in [
                   ("emg", "EMG", 8, 2048.0, "lab-pc"),
                   ("a-very-long-stream-name-from-a-vendor-driver-v2", "ElectroMyoGraphyExtended",
                    128, 0.0, "acquisition-workstation"),
                   ("eeg", "EEG", 64, 500.0, "h")]]
    lines = cli.streams_table(listing).splitlines()
    assert lines[0].split() == ["name", "type", "channels", "rate", "host"]
    hosts = [line.rindex(host) for line, host in
             zip(lines, ["host", "lab-pc", "acquisition-workstation", "h"], strict=True)]
    assert len(set(hosts)) == 1, "\n".join(lines)  # the host column starts at one place
    rate_ends = {line.index(f"{rate}  {host}") + len(rate) for line, rate, host in
                 zip(lines, ["rate", "2048", "0", "500"],
                     ["host", "lab-pc", "acquisition-workstation", "h"], strict=True)}
    assert len(rate_ends) == 1, "\n".join(lines)  # numbers right-aligned under their header


# --- the demo's summary after Ctrl-C -----------------------------------------------------------
def test_an_interrupted_demo_summary_shows_its_trials_and_no_nan():
    for module in ("pylsl", "torch", "zarr"):
        pytest.importorskip(module)
    from hexloop.application.composition.demo import DemoResult

    result = DemoResult(session="recordings/x.session.zip", samples_sent=2048,
                        trials={"rest": 2, "fist": 1, "flexion": 0, "extension": 0},
                        predict_hz_requested=50.0,
                        error="interrupted; the session recorded so far was saved")
    assert math.isnan(result.validation_accuracy)
    text = result.report()
    assert "trials      rest 2, fist 1, flexion 0, extension 0" in text
    assert "nan" not in text
    assert "not measured: the demo stopped before training (chance 25%)" in text
    assert "not measured: no prediction was received" in text
    trained = DemoResult(trials={"rest": 2, "fist": 2}, validation_accuracy=0.9).report()
    assert "cross-validated (held-out trials) 90.0%; live not measured (chance 50%)" in trained


# --- docs and examples -------------------------------------------------------------------------
def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"## Your own experiment\s+```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_snippet_imports_and_says_what_run_shows():
    snippet = readme_snippet()
    tree = ast.parse(snippet)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for module in ("torch", "imgui_bundle", "zarr", "pylsl"):
                if module.split("_")[0] in node.module or module == "imgui_bundle" and \
                        "imgui" in node.module:
                    pytest.importorskip(module)
            imported = __import__(node.module, fromlist=[a.name for a in node.names])
            for alias in node.names:
                assert hasattr(imported, alias.name), f"{node.module}.{alias.name}"
    assert "app.run(ImGuiRenderer())" in snippet  # a window, as getting-started says
    text = (ROOT / "README.md").read_text()
    assert "`app.run()` without a renderer opens no window" in text
    assert "when a display is available" not in snippet
    guide = (ROOT / "docs" / "getting-started.md").read_text()
    assert "opens the window when you pass `ImGuiRenderer()`" in guide


def test_getting_started_says_to_activate_the_virtual_environment():
    guide = (ROOT / "docs" / "getting-started.md").read_text()
    assert "source .venv/bin/activate" in guide and ".venv\\Scripts\\activate" in guide


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_example_headers_name_their_own_file_and_what_they_need(path):
    text = path.read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    runs = re.findall(r"hexloop run (examples/\S+\.toml)", header)
    assert runs and all(run == f"examples/{path.name}" for run in runs), header
    setup = tomllib.loads(text)
    lsl_out = any(o.get("transport") in ("pylsl", "mne_lsl") for o in setup.get("outputs", []))
    lsl_in = any(s.get("source") in ("pylsl", "mne_lsl") for s in setup.get("streams", []))
    if lsl_out and not lsl_in and "no LSL" in header:  # simulated.toml: no LSL device...
        assert "needs no LSL." not in header and "LSL outlet" in header, header  # ...but an outlet


def test_my_experiment_docstring_names_the_extras_it_imports():
    source = (ROOT / "examples" / "my_experiment.py").read_text()
    doc = ast.get_docstring(ast.parse(source))
    if "hexloop.adapters.zarr" in source:
        assert "zarr" in doc and 'hexloop[zarr]' in doc, doc
    assert "nothing but hexloop's core" not in doc


# --- packaging ---------------------------------------------------------------------------------
def test_the_editable_install_is_quiet(tmp_path):
    """setuptools' build_editable on a copy of the tree: no deprecation, no banner."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:  # pip builds with >= 77 in isolation
        pytest.skip(f"this venv's setuptools {setuptools.__version__} is older than the build "
                    "requires (>= 77)")
    copy = tmp_path / "tree"
    for name in ("domain", "ports", "adapters", "application"):
        shutil.copytree(ROOT / name, copy / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, copy / name)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    done = subprocess.run([sys.executable, "-W", "default", "-c",
                           "from setuptools import build_meta as b; "
                           f"print(b.build_editable({str(wheels)!r}))"],
                          cwd=copy, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for noise in ("Deprecat", "!!", "meta path finder", "InformationOnly", "Warning"):
        assert noise not in output, output
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert requires == ["setuptools>=77"]  # the SPDX license string needs 77
