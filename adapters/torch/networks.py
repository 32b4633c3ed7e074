"""The networks behind the torch models: an MLP on features and a 1-D CNN on raw windows.

Built from a small JSON-able description (`NetworkSpec`) so a saved file can rebuild the exact
same module without pickling anything. Input standardization (and, for regression, the target
scale) lives in the module as non-persistent buffers, set from the fit statistics.
Weights are initialised from an explicit generator, never the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import torch
from torch import nn

ARCHITECTURES = ("mlp", "cnn1d")
KINDS = ("classifier", "regressor")

# Bounds a file's description must respect before anything gets allocated.
MAX_WIDTH = 8192
MAX_LAYERS = 16
MAX_INPUT_VALUES = 4096 * 100_000
MAX_KERNEL = 1025


def _positive_ints(values: Any, what: str, at_most: int, max_len: int = MAX_LAYERS) -> tuple:
    if not isinstance(values, (list, tuple)) or not 0 < len(values) <= max_len:
        raise ValueError(f"{what} must be a list of 1 to {max_len} sizes, got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= at_most:
            raise ValueError(f"{what} must hold whole numbers in 1..{at_most}, got {values!r}")
    return tuple(values)


def _ints(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


@attrs.frozen
class NetworkSpec:
    """Everything needed to rebuild a network (weights aside); round-trips through JSON."""

    kind: str
    architecture: str
    input_shape: tuple[int, ...] = attrs.field(converter=_ints)
    outputs: int
    hidden: tuple[int, ...] = attrs.field(default=(128, 64), converter=_ints)
    conv_channels: tuple[int, ...] = attrs.field(default=(32, 32, 32), converter=_ints)
    kernel_size: int = 7
    dropout: float = 0.1

    def __attrs_post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        _positive_ints(self.input_shape, "input_shape", MAX_INPUT_VALUES, max_len=8)
        if math.prod(self.input_shape) > MAX_INPUT_VALUES:
            raise ValueError(f"input_shape {self.input_shape} is too large")
        if self.architecture == "cnn1d" and len(self.input_shape) != 2:
            raise ValueError(
                "the cnn1d architecture takes raw windows (channels, samples), got features of "
                f"shape {self.input_shape}; extract the raw window, or use architecture='mlp'"
            )
        if isinstance(self.outputs, bool) or not isinstance(self.outputs, int):
            raise ValueError(f"outputs must be a whole number, got {self.outputs!r}")
        if not 0 < self.outputs <= MAX_WIDTH:
            raise ValueError(f"outputs must be in 1..{MAX_WIDTH}, got {self.outputs}")
        _positive_ints(self.hidden, "hidden", MAX_WIDTH)
        _positive_ints(self.conv_channels, "conv_channels", MAX_WIDTH)
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, int):
            raise ValueError(f"kernel_size must be a whole number, got {self.kernel_size!r}")
        if not (0 < self.kernel_size <= MAX_KERNEL and self.kernel_size % 2 == 1):
            raise ValueError(f"kernel_size must be odd and in 1..{MAX_KERNEL}, got {self.kernel_size}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "architecture": self.architecture,
            "input_shape": list(self.input_shape),
            "outputs": self.outputs,
            "hidden": list(self.hidden),
            "conv_channels": list(self.conv_channels),
            "kernel_size": self.kernel_size,
            "dropout": float(self.dropout),
        }

    @classmethod
    def from_json(cls, doc: Any) -> NetworkSpec:
        if not isinstance(doc, dict):
            raise ValueError("the network description must be a JSON object")
        fields = {f.name for f in attrs.fields(cls)}
        unknown = set(doc) - fields
        if unknown:
            raise ValueError(f"unknown network fields {sorted(unknown)}")
        for key in ("input_shape", "hidden", "conv_channels"):
            if key in doc and not isinstance(doc[key], list):
                raise ValueError(f"{key} must be a list, got {doc[key]!r}")
        return cls(**doc)

    @property
    def normalization_shape(self) -> tuple[int, ...]:
        """Per feature for the MLP, per channel for the CNN."""
        if self.architecture == "mlp":
            return (math.prod(self.input_shape),)
        return (self.input_shape[0], 1)


class SeededDropout(nn.Module):
    """Dropout drawing its masks from the network's own generator (so training is repeatable)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


class Network(nn.Module):
    """Standardize the input, run the body; `infer` turns outputs into probabilities or values."""

    # buffers (register_buffer), declared for the type checker
    input_mean: torch.Tensor
    input_std: torch.Tensor

    def __init__(self, spec: NetworkSpec, device: torch.device):
        super().__init__()
        self.spec = spec
        # Built on the meta device (no memory, no RNG use), then allocated and seeded in `init`.
        with torch.device("meta"):
            self.body = _mlp(spec) if spec.architecture == "mlp" else _cnn1d(spec)
        self.body.to_empty(device=device)
        norm = spec.normalization_shape
        self.register_buffer("input_mean", torch.zeros(norm, device=device), persistent=False)
        self.register_buffer("input_std", torch.ones(norm, device=device), persistent=False)
        self.register_buffer("target_mean", torch.zeros(spec.outputs, device=device), persistent=False)
        self.register_buffer("target_std", torch.ones(spec.outputs, device=device), persistent=False)

    def init_weights(self, generator: torch.Generator) -> None:
        """PyTorch's default layer initialisation, drawn from `generator`."""
        with torch.no_grad():
            for layer in self.body.modules():
                if isinstance(layer, (nn.Linear, nn.Conv1d)):
                    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                    fan_in = layer.weight[0].numel()
                    bound = 1.0 / math.sqrt(fan_in)
                    if layer.bias is not None:
                        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def set_dropout_generator(self, generator: torch.Generator | None) -> None:
        for layer in self.body.modules():
            if isinstance(layer, SeededDropout):
                layer.generator = generator

    def set_scaling(
        self,
        input_mean: np.ndarray,
        input_std: np.ndarray,
        target_mean: np.ndarray | None = None,
        target_std: np.ndarray | None = None,
    ) -> None:
        device = self.input_mean.device
        norm = self.spec.normalization_shape

        def tensor(values, shape):
            array = np.asarray(values, dtype=np.float32)
            if array.size != math.prod(shape):
                raise ValueError(f"scaling has {array.size} values, the network needs {shape}")
            if not np.isfinite(array).all():
                raise ValueError("scaling values must be finite")
            return torch.from_numpy(array.reshape(shape).copy()).to(device)

        self.input_mean = tensor(input_mean, norm)
        self.input_std = tensor(input_std, norm)
        if (self.input_std <= 0).any():
            raise ValueError("input standard deviations must be positive")
        if target_mean is not None:
            self.target_mean = tensor(target_mean, (self.spec.outputs,))
            self.target_std = tensor(target_std, (self.spec.outputs,))
            if (self.target_std <= 0).any():
                raise ValueError("target standard deviations must be positive")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs: logits (classifier) or standardized targets (regressor)."""
        if self.spec.architecture == "mlp":
            x = x.reshape(x.shape[0], -1)
        return self.body((x - self.input_mean) / self.input_std)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities (softmax) or targets in their own units."""
        out = self.forward(x)
        if self.spec.kind == "classifier":
            return torch.softmax(out, dim=1)
        return out * self.target_std + self.target_mean


def _mlp(spec: NetworkSpec) -> nn.Module:
    layers: list[nn.Module] = []
    width = math.prod(spec.input_shape)
    for hidden in spec.hidden:
        layers += [nn.Linear(width, hidden), nn.ReLU(), SeededDropout(spec.dropout)]
        width = hidden
    layers.append(nn.Linear(width, spec.outputs))
    return nn.Sequential(*layers)


class _GlobalPool(nn.Module):
    """Mean and max over time, side by side: (k, c, n) -> (k, 2c)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)


def _cnn1d(spec: NetworkSpec) -> nn.Module:
    layers: list[nn.Module] = []
    width = spec.input_shape[0]
    for channels in spec.conv_channels:
        layers += [
            nn.Conv1d(width, channels, spec.kernel_size, stride=2, padding=spec.kernel_size // 2),
            nn.ReLU(),
        ]
        width = channels
    layers += [_GlobalPool(), SeededDropout(spec.dropout), nn.Linear(2 * width, spec.outputs)]
    return nn.Sequential(*layers)
