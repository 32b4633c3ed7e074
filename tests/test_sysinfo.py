"""`hexloop sysinfo`: the report function on a StringIO, and the command."""

import io
import subprocess
import sys
from importlib import metadata

import pytest

from hexloop.application.composition import sysinfo
from hexloop.application.composition.cli import main
from hexloop.application.composition.registry import GROUP


def report(**kwargs) -> str:
    out = io.StringIO()
    sysinfo.sys_info(out, **kwargs)
    return out.getvalue()


def test_report_names_every_version_the_issue_lists():
    text = report(load_plugins=False)
    for label in ("hexloop:", "Python:", "numpy:", "liblsl:", "torch/CUDA:", "zarr:",
                  "imgui-bundle:", "Platform:", "CPU:", "RAM:", "Sessions:"):
        assert label in text, label
    assert f"hexloop: {metadata.version('hexloop')}" in " ".join(text.split())
    assert sys.version.split()[0] in text
    assert "source.replay" in text and "not loaded" in text


def test_a_missing_package_and_a_broken_plugin_are_lines_not_crashes(monkeypatch):
    real = metadata.version

    def version(dist):
        if dist == "torch":
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(sysinfo.metadata, "version", version)
    broken = metadata.EntryPoint("source.broken", "hexloop_no_such_module:Source", GROUP)
    fine = metadata.EntryPoint("source.simulated", "hexloop.adapters.simulated:SimulatedSource",
                               GROUP)
    text = report(entry_points=[broken, fine])
    assert "torch/CUDA:" in text and "not installed" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "load error: ModuleNotFoundError" in lines["source.broken"]
    assert "hexloop_no_such_module" in lines["source.broken"]
    assert lines["source.simulated"].endswith(" ok")


def test_a_failing_probe_says_so_and_the_report_goes_on(monkeypatch):
    def boom():
        raise OSError("liblsl.so: cannot open shared object file")

    monkeypatch.setattr(sysinfo, "_liblsl_pylsl", boom)
    text = report(load_plugins=False)
    assert "liblsl:" in text and "not available (OSError: liblsl.so" in text
    assert "Plugins" in text


def test_cli_sysinfo_writes_to_stdout_or_a_file(tmp_path, capsys):
    assert main(["sysinfo", "--no-plugins"]) == 0
    assert "numpy:" in capsys.readouterr().out
    out = tmp_path / "report.txt"
    assert main(["sysinfo", "--no-plugins", "--out", str(out)]) == 0
    assert "Python:" in out.read_text()


@pytest.mark.slow  # a fresh interpreter loading every plugin (torch, imgui, LSL): ~15 s on 2 cores
def test_the_installed_command_runs_and_loads_every_plugin():
    out = subprocess.run([sys.executable, "-m", "hexloop.application.composition.cli", "sysinfo"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "store.zarr" in out.stdout and "ok" in out.stdout
