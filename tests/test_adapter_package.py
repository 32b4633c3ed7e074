"""The adapter package in examples/adapter-package, installed from outside, works by name.

`make test` installs it (`pip install --no-deps -e examples/adapter-package`) and runs its own
tests; these check that hexloop's registry, setup files and command line use its adapters
exactly like hexloop's own: the setup file runs and records through the CLI, and predictions
reach a real UDP receiver on loopback. They skip where the package is not installed (.venv-core).
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

forcesensor = pytest.importorskip("hexloop_forcesensor")
pytest.importorskip("torch")  # the setup's [model]
pytest.importorskip("zarr")  # the setup's [store]

from hexloop.application.composition.build import build  # noqa: E402
from hexloop.application.composition.labsetup import load_setup  # noqa: E402
from hexloop.application.composition.registry import Registry  # noqa: E402
from hexloop.application.headless import HeadlessRenderer  # noqa: E402
from hexloop.domain.pipeline import TrainingData  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "examples" / "adapter-package"
SETUP = PACKAGE / "setup.toml"


def setup_copy(tmp_path: Path, port: int) -> Path:
    """The example setup, sending to `port` and recording under tmp_path."""
    text = SETUP.read_text()
    assert "port = 9870" in text and '"recordings"' in text, "the example setup changed"
    text = text.replace("port = 9870", f"port = {port}")
    text = text.replace('"recordings"', f'"{tmp_path / "recordings"}"')
    path = tmp_path / "setup.toml"
    path.write_text(text)
    return path


@pytest.fixture
def udp_receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))  # loopback only
    sock.settimeout(0.1)
    yield sock
    sock.close()


def test_the_registry_finds_the_packages_adapters_by_name():
    registry = Registry.from_entry_points()
    assert registry.load("source", "forcesensor") is forcesensor.ForceSensorSource
    assert registry.load("transport", "udp") is forcesensor.UdpTransport
    assert registry.entry("source", "forcesensor").distribution == "hexloop-forcesensor"


def test_the_example_setup_runs_and_records_through_the_command_line(tmp_path, udp_receiver):
    from hexloop.adapters.zarr import open_session

    setup = setup_copy(tmp_path, udp_receiver.getsockname()[1])
    cli = [sys.executable, "-m", "hexloop.application.composition.cli"]
    out = subprocess.run(cli + ["run", str(setup), "--headless", "--duration", "2",
                                "--record", "adapter-package"],
                         capture_output=True, text=True, timeout=90,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert out.returncode == 0, out.stderr
    assert "error" not in out.stderr.lower(), out.stderr
    saved = [line for line in out.stdout.splitlines() if line.startswith("session saved to ")]
    assert saved, out.stdout
    session = open_session(saved[-1].removeprefix("session saved to "))
    data, ts = session.data("force")
    info = session.meta.stream("force")
    assert (info.channel_count, info.sampling_rate, info.channel_names) == (
        3, 200.0, ("Fx", "Fy", "Fz"))
    assert data.shape[0] == 3 and data.shape[1] == len(ts) > 0
    assert np.allclose(np.diff(ts), 1 / 200.0)  # the package's regular rate, nothing lost


def test_predictions_from_the_setup_reach_a_udp_receiver(tmp_path, udp_receiver):
    registry = Registry.from_entry_points()
    setup = load_setup(setup_copy(tmp_path, udp_receiver.getsockname()[1]), registry)
    built = build(setup, registry, headless=True, duration=60.0)  # duration: a backstop only
    app, pipeline = built.app, built.pipeline
    assert app.ctx.streams["force"].source.__class__ is forcesensor.ForceSensorSource

    # A model of the setup's kind, trained on the features `mav` gives for each grip level.
    rng = np.random.default_rng(0)
    levels = np.repeat([0, 1, 2], 20)
    x = levels[:, None] * np.array([10.0, 3.0, 2.0]) + rng.normal(0, 0.5, (60, 3))
    pipeline.start_training(TrainingData(x.astype(np.float32), levels, app.class_names))
    assert pipeline.wait_training(60.0), "training did not finish"
    assert pipeline.model is not None, pipeline.progress
    pipeline.start_predicting()

    got: list = []

    def receive():
        deadline = time.monotonic() + 30.0
        while len(got) < 10 and time.monotonic() < deadline and not app.exit_requested:
            try:
                got.append(forcesensor.decode_datagram(udp_receiver.recv(65535)))
            except TimeoutError:
                continue
        app.request_exit()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    app.run(HeadlessRenderer(interval=0, duration=60.0))
    receiver.join(5.0)

    assert len(got) >= 10, f"{len(got)} datagrams; log: {app.ctx.log.since(0)[0]}"
    assert all(d.channels == ("rest", "light", "firm") for d in got)
    assert all(np.isclose(sum(d.values), 1.0, atol=1e-4) for d in got)  # class probabilities
    assert [d.seq for d in got] == list(range(got[0].seq, got[0].seq + len(got)))
    stamps = [d.timestamp for d in got]
    assert stamps == sorted(stamps)  # each prediction's newest input sample, in order
