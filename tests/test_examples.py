"""The example setups run unchanged: LSL (pylsl and mne-lsl) and in-process simulated sources."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("pylsl")
pytest.importorskip("mne_lsl")
pytest.importorskip("zarr")
pytest.importorskip("torch")

from hexloop.adapters.pylsl import SimulatedLslDevice  # noqa: E402
from hexloop.adapters.zarr import open_session  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path, device: str) -> subprocess.CompletedProcess:
    text = (EXAMPLES / name).read_text()
    text = text.replace('"hexloop-sim"', f'"{device}"')
    text = text.replace('"emg-gestures-predictions"', f'"{device}-predictions"')
    text = text.replace('"recordings"', f'"{tmp_path / "recordings"}"')
    setup = tmp_path / name
    setup.write_text(text)
    cli = [sys.executable, "-m", "hexloop.application.composition.cli"]
    return subprocess.run(cli + ["run", str(setup), "--headless", "--duration", "4",
                                 "--record", "example"],
                          capture_output=True, text=True, timeout=90,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("name", ["lsl-pylsl.toml", "lsl-mne.toml", "simulated.toml"])
def test_example_streams_and_records(name, tmp_path):
    device = f"ex-{uuid.uuid4().hex[:8]}"
    with SimulatedLslDevice(device, channels=8, rate=2048.0):
        out = run_example(name, tmp_path, device)
    assert out.returncode == 0, out.stderr
    assert "emg" in out.stdout and "streaming" in out.stdout
    saved = [line for line in out.stdout.splitlines() if line.startswith("session saved to ")]
    assert saved, out.stdout
    session = open_session(saved[-1].removeprefix("session saved to "))
    data, ts = session.data("emg")
    assert data.shape[0] == 8 and data.shape[1] > 2048  # more than a second recorded
    assert session.meta.stream("emg").sampling_rate == 2048.0
