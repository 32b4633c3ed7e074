"""`hexloop check SETUP` through the real command line: every problem at once (exit 2), a one-line
summary when valid (exit 0), and nothing the file names is imported, nothing started or written
(issue #11, items 13 and 14)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hexloop.application.composition import cli
from hexloop.application.composition import registry as reg
from hexloop.application.composition.labsetup import SetupInvalid, check_setup
from hexloop.application.composition.registry import Registry
from tests.helpers import needs_all_extras

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "hexloop.application.composition.cli"]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))

GOOD = """
[app]
name = "checked"

[[streams]]
name = "emg"
source = "simulated"
options = { channels = 4, rate = 500.0 }
"""
PIPELINE = '\n[model]\nadapter = "torch_classifier"\n\n[pipeline]\nfeatures = "{}"\n'


def hexloop(*args, cwd=None, env=None):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


def write(folder, text, name="setup.toml"):
    path = Path(folder) / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@needs_all_extras
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_checks_ok(example, capsys):
    assert cli.main(["check", str(example)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {example}: app 'emg-gestures', 1 stream(s) (emg: ")


def test_a_bad_file_exits_2_with_every_problem_at_once(tmp_path):
    bad = write(tmp_path, GOOD.replace("channels = 4, rate = 500.0",
                                       "channels = 9223372036854775807, rate = inf")
                + '\n[store]\nadapter = "nope"\noptions = { chunk_seconds = 1e308 }\n')
    out = hexloop("check", str(bad))
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr and out.stdout == ""
    for expected in ("4 problem(s) in the setup file",
                     "streams[0].options.channels: must be a whole number in 1..4096 channels",
                     "streams[0].options.rate: must be in 0..100000 Hz, got inf",
                     "store.adapter: no store adapter named 'nope'",
                     "store.options.chunk_seconds: must be greater than 0 and at most 60 s"):
        assert expected in out.stderr, out.stderr


def test_check_and_run_report_the_same_bound(tmp_path):
    bad = write(tmp_path, GOOD.replace("rate = 500.0", "rate = -1"))
    expected = "streams[0].options.rate: must be in 0..100000 Hz, got -1"
    for command in (["check"], ["run", "--headless", "--duration", "0.1"]):
        out = hexloop(*command[:1], str(bad), *command[1:])
        assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr


CHECK_AND_LOOK = """
import json, sys, threading
from hexloop.application.composition import cli
code = cli.main(["check", sys.argv[1]])
watched = ("hexloop.adapters", "pylsl", "mne_lsl", "torch", "zarr", "cv2", "imgui_bundle",
           "sidefx", "sidepkg")
print(json.dumps({"code": code, "threads": threading.active_count(),
                  "imported": sorted(m for m in sys.modules if m.startswith(watched))}))
"""


def _check_in_a_fresh_interpreter(setup, cwd, pythonpath):
    out = subprocess.run([sys.executable, "-c", CHECK_AND_LOOK, str(setup)], capture_output=True,
                         text=True, timeout=120, cwd=cwd,
                         env={**os.environ, "PYTHONPATH": str(pythonpath)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1]), out


@pytest.fixture
def side_effects(tmp_path):
    """Modules that leave a marker file when imported: a plain one and a package's submodule."""
    lib, markers = tmp_path / "lib", tmp_path / "markers"
    (lib / "sidepkg").mkdir(parents=True)
    markers.mkdir()
    touch = f"import pathlib; pathlib.Path({str(markers)!r}, __name__).touch()\n"
    (lib / "sidefx.py").write_text(touch + "import numpy as np\n\ndef feats(w):\n    return np.ravel(w)\n")
    (lib / "sidepkg" / "__init__.py").write_text(touch)
    (lib / "sidepkg" / "feats.py").write_text(touch + "def rms(w):\n    return w\n")
    return lib, markers


@needs_all_extras
@pytest.mark.parametrize("features", ["sidefx:feats", "sidepkg.feats:rms"])
def test_check_imports_nothing_starts_nothing_writes_nothing(tmp_path, side_effects, features):
    lib, markers = side_effects
    work = tmp_path / "work"
    work.mkdir()
    text = (GOOD + PIPELINE.format(features) + '\n[store]\nadapter = "zarr"\n'
            'options = { base_dir = "recordings" }\n\n[[outputs]]\ntransport = "pylsl"\n')
    setup = write(work, text)
    seen, out = _check_in_a_fresh_interpreter(setup, work, lib)
    assert seen["code"] == 0, out.stderr
    assert seen["imported"] == []  # no adapter, no binding, no feature module, no parent package
    assert seen["threads"] == 1
    assert list(markers.iterdir()) == []  # not even a package __init__ ran
    assert [p.name for p in work.iterdir()] == ["setup.toml"]  # no recordings folder


def test_check_finds_missing_feature_modules_and_functions_by_reading_not_running(
        tmp_path, side_effects):
    lib, markers = side_effects
    env = {"PYTHONPATH": str(lib)}
    for features, expected in [("sidefx:nosuch", "module 'sidefx' defines no 'nosuch'"),
                               ("sidepkg.absent:f", "no module named 'sidepkg.absent'"),
                               ("nosuchmodule:f", "no module named 'nosuchmodule'"),
                               ("emg_featurez", "module 'hexloop.domain.features' defines no 'emg_featurez'"),
                               ("os;rm -rf:f", "'os;rm -rf:f' is not a function name"),
                               ("os:system", "'os' is a standard-library module"),
                               ("subprocess:call", "'subprocess' is a standard-library module")]:
        out = hexloop("check", str(write(tmp_path, GOOD + PIPELINE.format(features))), env=env)
        assert out.returncode == 2 and f"pipeline.features: {expected}" in out.stderr, out.stderr
    assert list(markers.iterdir()) == []


@needs_all_extras
def test_run_imports_the_feature_module_when_it_builds_the_app(tmp_path, side_effects):
    lib, markers = side_effects
    setup = write(tmp_path, GOOD + PIPELINE.format("sidefx:feats"))
    out = hexloop("run", str(setup), "--headless", "--duration", "0.5",
                  env={"PYTHONPATH": str(lib)})
    assert out.returncode == 0, out.stderr
    assert [p.name for p in markers.iterdir()] == ["sidefx"]


def test_check_reports_unknown_adapters_and_missing_extras_without_loading_them(
        tmp_path, monkeypatch):
    def never():
        raise AssertionError("check loaded an adapter")

    registry = Registry()
    registry._entries = {key: reg.AdapterEntry(e.kind, e.name, e.target, e.distribution, never)
                         for key, e in Registry.from_entry_points()._entries.items()}
    registry._entries[("source", "lsl-like")] = reg.AdapterEntry(
        "source", "lsl-like", "hexloop.adapters.pylsl:PylslSource", "hexloop", never)
    registry._entries[("source", "gone")] = reg.AdapterEntry(
        "source", "gone", "no_such_lab_package.sources:Gone", "lab-sources", never)
    real_find_spec = reg.importlib.util.find_spec
    monkeypatch.setattr(reg.importlib.util, "find_spec",
                        lambda name: None if name == "pylsl" else real_find_spec(name))
    text = (GOOD + GOOD.split("[[streams]]")[1].join(["[[streams]]", ""])
            .replace('"emg"', '"a"').replace('"simulated"', '"lsl-like"')
            + GOOD.split("[[streams]]")[1].join(["[[streams]]", ""])
            .replace('"emg"', '"b"').replace('"simulated"', '"gone"')
            + GOOD.split("[[streams]]")[1].join(["[[streams]]", ""])
            .replace('"emg"', '"c"').replace('"simulated"', '"simulatd"'))
    with pytest.raises(SetupInvalid) as info:
        check_setup(write(tmp_path, text), registry)
    found = "\n".join(str(p) for p in info.value.problems)
    assert 'streams[1].source: source adapter \'lsl-like\' needs pylsl: pip install "hexloop[lsl]"' \
        in found
    assert ("streams[2].source: source adapter 'gone': its module 'no_such_lab_package.sources' "
            "cannot be found: install or repair the package 'lab-sources'") in found
    assert "streams[3].source: no source adapter named 'simulatd'" in found
    assert len(info.value.problems) == 3, found


@needs_all_extras
def test_check_compares_options_with_the_constructor_read_from_source(tmp_path):
    text = (GOOD.replace("channels = 4", "chanels = 4")
            + '\n[store]\nadapter = "zarr"\noptions = { chunk_seconds = "1" }\n'
            + '\n[model]\nadapter = "torch_classifier"\noptions = { epochs = "many" }\n'
            + '\n[pipeline]\n')
    setup = write(tmp_path, text)
    out = subprocess.run([sys.executable, "-c", CHECK_AND_LOOK, str(setup)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["code"] == 2 and seen["imported"] == [], seen
    for expected in ("streams[0].options.chanels: not an option of this adapter; "
                     "did you mean 'channels'?",
                     "store.options.chunk_seconds: must be a number, got '1'",
                     "model.options.epochs: must be a number, got 'many'"):
        assert expected in out.stderr, out.stderr
