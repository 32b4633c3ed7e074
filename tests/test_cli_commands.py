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
                                  "--duration", "8"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        out = hexloop("streams", "--timeout", "2")
        row = next(line for line in out.stdout.splitlines() if line.startswith(name))
        assert row.split()[1:4] == ["EMG", "6", "500"]
    finally:
        sim.terminate()
        sim.wait(10)


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
