"""Torch models behind the Model port: TorchClassifier and TorchRegressor (MLP or 1-D CNN).

Needs the optional `torch` package: `pip install "hexloop[torch]"`.
"""

from hexloop.adapters._optional import optional

optional("torch", extra="torch", purpose="hexloop.adapters.torch")

from .model import TorchClassifier, TorchRegressor, resolve_device
from .warmup import warm_up

warm_up()  # torch's lazy imports happen here, not on a training thread while streams run

__all__ = ["TorchClassifier", "TorchRegressor", "resolve_device"]
