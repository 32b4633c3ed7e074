"""Torch models behind the Model port: TorchClassifier and TorchRegressor (MLP or 1-D CNN).

Needs the optional `torch` package: `pip install "hexloop[torch]"`.
"""

try:
    import torch  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in environments without torch
    raise ImportError(
        'hexloop.adapters.torch needs PyTorch, which is not installed; install it with '
        'pip install "hexloop[torch]"'
    ) from e

from .model import TorchClassifier, TorchRegressor, resolve_device

__all__ = ["TorchClassifier", "TorchRegressor", "resolve_device"]
