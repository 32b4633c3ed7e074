"""mutation/run.py's safety: mutants run on a copy, and only if the copy is what tests import."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_copy_is_what_hexloop_imports_under_the_runner_environment(run, tmp_path):
    copy = tmp_path / "tree"
    copy.mkdir()
    run.copy_tree(copy)
    assert (copy / "domain" / "labels.py").read_bytes() == (ROOT / "domain" / "labels.py").read_bytes()
    run.check_imports_from_copy(copy, ["domain/labels.py"], run.environment(copy))  # no exit
    with pytest.raises(SystemExit, match="not from the copy"):  # without the shim: refused
        run.check_imports_from_copy(copy, ["domain/labels.py"], {"PATH": "/usr/bin:/bin"})


def test_every_module_in_scope_exists_and_has_test_files(run):
    scope = run.load_scope()
    assert "domain/labels.py" in scope and "adapters/zarr/packing.py" in scope
    for module, settings in scope.items():
        assert (ROOT / module).is_file(), module
        assert run.test_files(ROOT, settings), f"{module}: no test file matches {settings['tests']}"
    assert run.main(["--module", "domain/nonexistent.py"]) == 2


def test_the_workdir_must_be_outside_the_repository(run, capsys):
    assert run.main(["--module", "domain/labels.py", "--workdir", str(ROOT / "build" / "m")]) == 2
    assert "outside the repository" in capsys.readouterr().err
