"""Training must not starve acquisition (#13): a first fit used to import some 800 modules
(torch._dynamo, sympy, ...) on the training thread, stalling the acquisition threads for up
to a second. Importing the adapter now does that work, so a first fit imports nothing."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")

FIRST_FIT = """
import sys
import numpy as np
import hexloop.adapters.torch as adapter
from hexloop.domain.pipeline import TrainingData, TrainingJob
x = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
data = TrainingData(x, np.arange(40) % 2, ("a", "b"))
before = set(sys.modules)
adapter.TorchClassifier(epochs=2, device="cpu").fit(data, TrainingJob())
print(sorted(set(sys.modules) - before))
"""


@pytest.mark.timeout(120)
def test_a_first_fit_in_a_fresh_process_imports_nothing_more():
    done = subprocess.run([sys.executable, "-c", FIRST_FIT], capture_output=True, text=True,
                          timeout=110)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = eval(done.stdout.strip().splitlines()[-1])  # a printed list of module names
    assert imported == [], f"a first fit imported {len(imported)} modules: {imported[:10]}"


def test_a_failing_warm_up_never_breaks_the_import(monkeypatch):
    import torch

    from hexloop.adapters.torch import warmup

    def broken(*args, **kwargs):
        raise RuntimeError("no optimizer today")

    monkeypatch.setattr(torch.optim, "AdamW", broken)
    warmup.warm_up()  # logs at debug level and returns
