"""examples/my_experiment.py, the script docs/getting-started.md walks through, runs as written."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("zarr")

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "my_experiment.py"


def test_the_getting_started_script_records_trains_and_predicts_each_cue(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    cued = [line.split() for line in out.stdout.splitlines() if line.startswith("cued ")]
    assert len(cued) == 4
    assert sum(words[1] == words[3] for words in cued) >= 3  # "cued X predicted Y"
    assert list((tmp_path / "recordings").glob("*.session.zip"))
