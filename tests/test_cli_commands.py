"""The command line around LSL and sessions: simulate, streams, inspect, recover."""

import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

pytest.importorskip("pylsl")
pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

CLI = [sys.executable, "-m", "hexloop.application.composition.cli"]


def hexloop(*args, timeout=60):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_simulate_publishes_a_stream_that_streams_lists():
    name = f"cli-{uuid.uuid4().hex[:8]}"
    sim = subprocess.Popen(CLI + ["simulate", "--name", name, "--channels", "6", "--rate", "500",
                                  "--duration", "120"], stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout.readline().startswith(f"publishing {name!r}")
        rows = []
        deadline = time.monotonic() + 60  # a condition with a deadline, not a guessed delay
        while not rows and sim.poll() is None and time.monotonic() < deadline:
            out = hexloop("streams", "--timeout", "2")
            rows = [line for line in out.stdout.splitlines() if line.startswith(name)]
        assert rows, f"{name} never became visible; simulate exited with {sim.poll()}"
        assert rows[0].split()[1:4] == ["EMG", "6", "500"]
    finally:
        sim.terminate()
        sim.wait(10)
        sim.stdout.close()


def test_simulate_refuses_absurd_geometry():
    out = hexloop("simulate", "--channels", "5000", "--duration", "1")
    assert out.returncode == 2 and "channel count 5000 is outside 1..4096" in out.stderr


def test_inspect_summarizes_a_session_and_recover_refuses_a_non_session(tmp_path):
    store = ZarrStore(tmp_path)
    session = store.open_session(SessionMeta("cli", (StreamInfo("emg", 2, 100.0),),
                                             class_names=("rest", "fist")))
    session.append("emg", np.zeros((300, 2), np.float32), np.arange(300) / 100.0)
    session.add_label(LabelEvent(0.5, 1))
    summary = session.close()
    out = hexloop("inspect", summary.location)
    assert out.returncode == 0, out.stderr
    assert "emg: 2 ch, 100 Hz, float32, 300 samples" in out.stdout
    assert "fist: 1 trials" in out.stdout
    out = hexloop("recover", str(tmp_path / "nothing-here"))
    assert out.returncode == 2 and "cannot recover" in out.stderr


def _env_without_lsl_config(**extra):
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _packaged_loopback_cfg():
    from importlib import resources

    return str(resources.files("hexloop.application.composition") / "lsl_loopback.cfg")


@pytest.mark.parametrize("unset", [None, ""])
def test_without_lslapicfg_the_cli_chooses_the_packaged_loopback_config(unset):
    # No LSL stream is opened here: use_loopback_lsl only sets the variable, and the simulate
    # call is refused for its geometry before any outlet exists.
    extra = {} if unset is None else {"LSLAPICFG": unset}
    probe = subprocess.run(
        [sys.executable, "-c", "import os\n"
         "from hexloop.application.composition.cli import use_loopback_lsl\n"
         "print(use_loopback_lsl())\nprint(os.environ['LSLAPICFG'])"],
        capture_output=True, text=True, timeout=60, env=_env_without_lsl_config(**extra))
    assert probe.returncode == 0, probe.stderr
    cfg = _packaged_loopback_cfg()
    assert probe.stdout.splitlines() == [cfg, cfg]
    text = open(cfg).read()
    assert "ResolveScope = machine" in text and "KnownPeers = {127.0.0.1}" in text

    out = subprocess.run(CLI + ["simulate", "--channels", "5000", "--duration", "1"],
                         capture_output=True, text=True, timeout=60,
                         env=_env_without_lsl_config(**extra))
    assert out.returncode == 2 and "channel count 5000" in out.stderr
    assert "publishing" not in out.stdout  # refused before announcing anything (#16)
    # a short loopback run (the packaged config) says which configuration it publishes with
    out = subprocess.run(CLI + ["simulate", "--channels", "1", "--rate", "10", "--duration", "0.2",
                                "--name", f"hexloop-cfgtest-{os.getpid()}"],
                         capture_output=True, text=True, timeout=60,
                         env=_env_without_lsl_config(**extra))
    assert f"(LSLAPICFG={cfg})" in out.stdout, out.stdout + out.stderr


def test_a_chosen_lslapicfg_is_left_alone(tmp_path):
    mine = tmp_path / "lab.cfg"
    mine.write_text(open(_packaged_loopback_cfg()).read())  # still loopback: no stream leaves
    out = subprocess.run(CLI + ["simulate", "--channels", "1", "--rate", "10", "--duration", "0.2",
                                "--name", f"hexloop-cfgtest-{os.getpid()}"],
                         capture_output=True, text=True, timeout=60,
                         env=_env_without_lsl_config(LSLAPICFG=str(mine)))
    assert f"(LSLAPICFG={mine})" in out.stdout, out.stdout + out.stderr
    assert out.returncode == 0
