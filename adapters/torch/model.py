"""TorchClassifier and TorchRegressor: the Model port on a small torch network.

`fit` runs on the training thread: it learns the input standardization, holds out the last part
of each class's windows (in recording order) for validation, trains with AdamW, reports every
epoch, stops when validation loss stops improving (keeping the best weights) or when the job is
cancelled. The fitted network is swapped in only when fit succeeds, so a failed or cancelled fit
leaves the previous model working. `predict` runs one window under `torch.inference_mode`.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import sys
import zipfile
import zlib
from os import PathLike

import attrs
import numpy as np
import torch

from hexloop.domain.pipeline import TrainingData, TrainingJob
from hexloop.ports.model import ModelFileError

from .devices import resolve_device
from .fileformat import open_model_file, read_header, read_tensors, write_model_file
from .networks import ARCHITECTURES, Network, NetworkSpec
from .prepare import check_data, validation_split
from .prepare import floats as _floats
from .prepare import input_scaling as _input_scaling
from .prepare import scaling as _scaling


def _hexloop_version() -> str:
    try:
        return importlib.metadata.version("hexloop")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Half the CPU cores (at least one), leaving the rest to acquisition and prediction."""
    return max(1, usable_cores() // 2)


def training_threads() -> int:
    """Torch threads while fitting: every core but one, which stays free for the acquisition
    and predict threads (on two cores, one thread)."""
    return max(1, usable_cores() - 1)


#: While fitting, the interpreter hands the GIL to a waiting thread after this long instead of
#: its default 5 ms: the training loop holds the GIL between torch calls, and a waiting
#: acquisition or predict thread would otherwise wait up to 5 ms each time it wakes.
TRAINING_SWITCH_INTERVAL_S = 0.001


@attrs.frozen(eq=False)
class _Fitted:
    """What predict needs, swapped in as one reference."""

    network: Network
    output_names: tuple[str, ...]
    training: dict
    metadata: dict = attrs.field(factory=dict)  # the setup and training report it carries


class _TorchModel:
    _kind = ""  # "classifier" or "regressor"
    _task = ""  # the TrainingData.task it learns

    def __init__(
        self,
        architecture: str = "mlp",
        *,
        hidden: tuple[int, ...] = (128, 64),
        conv_channels: tuple[int, ...] = (32, 32, 32),
        kernel_size: int = 7,
        dropout: float = 0.1,
        epochs: int = 200,
        batch_size: int = 64,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        patience: int = 15,
        validation_fraction: float = 0.2,
        seed: int = 0,
        device: str | torch.device = "auto",
        threads: int | None = None,
    ):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1),
                                 ("patience", patience, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
        if not (learning_rate > 0 and weight_decay >= 0):
            raise ValueError("learning_rate must be positive and weight_decay >= 0")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"threads must be a whole number >= 1 or None, got {threads!r}")
        # Validates the network settings early (the input shape is a placeholder until fit).
        NetworkSpec(self._kind, architecture, (1, 1), 1, hidden, conv_channels, kernel_size, dropout)
        self.architecture = architecture
        self.hidden, self.conv_channels = tuple(hidden), tuple(conv_channels)
        self.kernel_size, self.dropout = kernel_size, float(dropout)
        self.epochs, self.batch_size, self.patience = epochs, batch_size, patience
        self.learning_rate, self.weight_decay = float(learning_rate), float(weight_decay)
        self.validation_fraction, self.seed = float(validation_fraction), int(seed)
        self.device = resolve_device(device)
        self.threads = threads
        self._fitted: _Fitted | None = None
        #: Saved in the file's header and read back by load: what the model was trained for
        #: and its training report (hexloop.application.training sets it after training).
        self.metadata: dict = {}

    def __repr__(self) -> str:
        state = "fitted" if self._fitted is not None else "not fitted"
        return f"{type(self).__name__}({self.architecture!r}, device={str(self.device)!r}, {state})"

    # --- Model port ------------------------------------------------------------------------

    @property
    def output_names(self) -> tuple[str, ...]:
        fitted = self._fitted
        return fitted.output_names if fitted is not None else ()

    @property
    def training_summary(self) -> dict:
        """How the last fit (or the loaded file's fit) went: epochs, best epoch, scores."""
        fitted = self._fitted
        return dict(fitted.training) if fitted is not None else {}

    def fit(self, data: TrainingData, job: TrainingJob) -> None:
        """Train (on the calling thread) with `threads` torch threads, default every core but
        one, and a shorter GIL switch interval; both are restored when fit returns."""
        job.raise_if_cancelled()
        threads, switch = torch.get_num_threads(), sys.getswitchinterval()
        torch.set_num_threads(self.threads if self.threads is not None else training_threads())
        sys.setswitchinterval(min(switch, TRAINING_SWITCH_INTERVAL_S))
        try:
            self._fit(data, job)
        finally:
            sys.setswitchinterval(switch)
            torch.set_num_threads(threads)

    def _fit(self, data: TrainingData, job: TrainingJob) -> None:
        x, y = self._check_data(data)
        train, val = self._split(y, data.groups)
        spec = NetworkSpec(self._kind, self.architecture, x.shape[1:], len(data.names),
                           self.hidden, self.conv_channels, self.kernel_size, self.dropout)
        generator = torch.Generator().manual_seed(self.seed)
        network = Network(spec, self.device)
        network.init_weights(generator)
        input_mean, input_std = _input_scaling(x[train], self.architecture)
        if self._kind == "regressor":
            target_mean, target_std = _scaling(y[train], axis=0)
            network.set_scaling(input_mean, input_std, target_mean, target_std)
            targets = ((y - target_mean) / target_std).astype(np.float32)
        else:
            network.set_scaling(input_mean, input_std)
            targets = y
        training = self._train(network, x, targets, train, val, len(data.names), generator, job)
        self._fitted = _Fitted(network, tuple(data.names), training)

    def predict(self, features: np.ndarray) -> np.ndarray:
        fitted = self._fitted
        if fitted is None:
            raise RuntimeError(f"{type(self).__name__}.predict() before fit() or load()")
        spec = fitted.network.spec
        x = np.asarray(features, dtype=np.float32)
        if x.shape != spec.input_shape:
            if spec.architecture == "cnn1d" or x.size != math.prod(spec.input_shape):
                raise ValueError(
                    f"predict got features of shape {x.shape}, but the model was trained on "
                    f"{spec.input_shape}; extract features the same way as for training"
                )
        if not np.isfinite(x).all():
            raise ValueError("predict got NaN or infinite features; check the stream and extractor")
        if not x.flags.writeable or not x.flags.c_contiguous:
            x = np.array(x, order="C")
        with torch.inference_mode():
            tensor = torch.from_numpy(x).reshape((1, *spec.input_shape)).to(self.device)
            out = fitted.network.infer(tensor)[0]
            return out.to("cpu", torch.float64).numpy()

    def save(self, path: str | PathLike) -> None:
        fitted = self._fitted
        if fitted is None:
            raise RuntimeError(f"{type(self).__name__}.save() before fit() or load(): nothing to save")
        network = fitted.network
        header = {
            "hexloop_version": _hexloop_version(),
            "torch_version": torch.__version__,
            "network": network.spec.to_json(),
            "output_names": list(fitted.output_names),
            "normalization": {
                "input": "per feature" if network.spec.architecture == "mlp" else "per channel",
                "input_mean": _floats(network.input_mean),
                "input_std": _floats(network.input_std),
                "target_mean": _floats(network.target_mean),
                "target_std": _floats(network.target_std),
            },
            "training": fitted.training,
            "metadata": self.metadata,  # the setup and report; a reader that predates it ignores it
        }
        tensors = {name: t.detach().to("cpu").numpy() for name, t in network.state_dict().items()}
        write_model_file(path, header, tensors)

    def load(self, path: str | PathLike) -> None:
        self._apply_threads()
        try:
            fitted = self._read(path)
        except ModelFileError as e:
            raise ModelFileError(f"{os.fspath(path)}: cannot load this model: {e}") from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, TypeError,
                KeyError, RuntimeError) as e:
            raise ModelFileError(
                f"{os.fspath(path)}: cannot load this model: corrupted or not a hexloop model "
                f"file ({type(e).__name__}: {e})"
            ) from None
        self._fitted = fitted
        self.metadata = dict(fitted.metadata)

    # --- loading ---------------------------------------------------------------------------

    def _read(self, path: str | PathLike) -> _Fitted:
        with open_model_file(path) as zf:
            header = read_header(zf)
            try:
                spec = NetworkSpec.from_json(header.get("network"))
            except (ValueError, TypeError) as e:
                raise ModelFileError(f"its network description is invalid ({e})") from None
            if spec.kind != self._kind or spec.architecture != self.architecture:
                raise ModelFileError(
                    f"it holds a {spec.kind} of architecture {spec.architecture!r}, but this is "
                    f"a {self._kind} of architecture {self.architecture!r}; create "
                    f"Torch{spec.kind.capitalize()}(architecture={spec.architecture!r}) to load it"
                )
            names = header.get("output_names")
            if (not isinstance(names, list) or len(names) != spec.outputs
                    or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names)):
                raise ModelFileError(f"its output names {names!r} do not fit {spec.outputs} outputs")
            norm = header.get("normalization")
            if not isinstance(norm, dict):
                raise ModelFileError("its header has no normalization")
            network = Network(spec, self.device)
            expected = {name: tuple(t.shape) for name, t in network.state_dict().items()}
            tensors = read_tensors(zf, header, expected)
        try:
            network.set_scaling(norm.get("input_mean"),  # type: ignore[arg-type]  # None: TypeError
                                norm.get("input_std"),  # type: ignore[arg-type]
                                norm.get("target_mean"), norm.get("target_std"))
        except (ValueError, TypeError) as e:
            raise ModelFileError(f"its normalization is invalid ({e})") from None
        network.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
        network.eval()
        training, metadata = header.get("training"), header.get("metadata")
        return _Fitted(network, tuple(names), training if isinstance(training, dict) else {},
                       metadata if isinstance(metadata, dict) else {})

    # --- training --------------------------------------------------------------------------

    def _apply_threads(self) -> None:
        threads = self.threads if self.threads is not None else default_threads()
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)  # process-wide: torch has no per-thread setting

    def _check_data(self, data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
        return check_data(data, type(self).__name__, self._kind, self._task, self.architecture)

    def _split(self, y: np.ndarray, groups: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        classifier = self._kind == "classifier"
        return validation_split(y, groups if classifier else None, self.validation_fraction,
                                per_class=classifier)

    def _loss_fn(self, y_train: torch.Tensor, outputs: int):
        if self._kind == "regressor":
            return torch.nn.MSELoss()
        counts = torch.bincount(y_train, minlength=outputs).to(torch.float32)
        weights = torch.where(counts > 0, counts.sum() / (outputs * counts.clamp(min=1)), 0.0)
        return torch.nn.CrossEntropyLoss(weight=weights.to(y_train.device))

    def _score(self, out: torch.Tensor, target: torch.Tensor) -> float:
        """Balanced accuracy (classifier) or R^2 averaged over targets (regressor)."""
        if self._kind == "classifier":
            predicted = out.argmax(dim=1)
            recalls = [(predicted[target == k] == k).float().mean().item()
                       for k in torch.unique(target)]
            return float(np.mean(recalls))
        residual = ((out - target) ** 2).sum(dim=0)
        total = ((target - target.mean(dim=0)) ** 2).sum(dim=0).clamp(min=1e-12)
        return float((1 - residual / total).mean().item())

    def _train(self, network, x, targets, train, val, outputs, generator, job) -> dict:
        device = self.device
        xs = torch.from_numpy(x).to(device)
        ys = torch.from_numpy(targets).to(device)
        x_train, y_train = xs[train], ys[train]
        has_val = val.size > 0
        x_val, y_val = (xs[val], ys[val]) if has_val else (x_train, y_train)
        loss_fn = self._loss_fn(y_train, outputs)
        optimizer = torch.optim.AdamW(network.parameters(), lr=self.learning_rate,
                                      weight_decay=self.weight_decay)
        dropout_generator = torch.Generator(device=device).manual_seed(self.seed + 1)
        network.set_dropout_generator(dropout_generator)
        best_loss, best_epoch, best_score, best_state = math.inf, 0, math.nan, None
        epoch = 0
        try:
            for epoch in range(1, self.epochs + 1):
                network.train()
                order = torch.randperm(len(train), generator=generator).to(device)
                total, seen = 0.0, 0
                for start in range(0, len(train), self.batch_size):
                    job.raise_if_cancelled()
                    batch = order[start : start + self.batch_size]
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(network(x_train[batch]), y_train[batch])
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * len(batch)
                    seen += len(batch)
                network.eval()
                with torch.no_grad():
                    out = network(x_val)
                    val_loss = loss_fn(out, y_val).item()
                    score = self._score(out, y_val)
                # Improvements smaller than this do not reset the patience count.
                if best_state is None or val_loss < best_loss - max(1e-3, 1e-2 * best_loss):
                    best_loss, best_epoch, best_score = val_loss, epoch, score
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                job.raise_if_cancelled()
                job.report(epoch=epoch, epochs=self.epochs, loss=total / max(seen, 1),
                           score=score, val_loss=val_loss,
                           message=f"validation loss {val_loss:.4f}")
                if epoch - best_epoch >= self.patience:
                    break
        finally:
            network.set_dropout_generator(None)
        stopped_early = epoch < self.epochs
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()
        where = "validation" if has_val else "training (too few windows to hold some out)"
        message = (
            f"stopped early at epoch {epoch}: {where} loss had not improved for "
            f"{self.patience} epochs; kept epoch {best_epoch}"
            if stopped_early else f"trained {epoch} epochs; kept epoch {best_epoch}"
        )
        job.report(epoch=epoch, epochs=epoch if stopped_early else self.epochs,
                   score=best_score, message=message)
        return {
            "epochs_run": epoch,
            "best_epoch": best_epoch,
            "stopped_early": stopped_early,
            "validation_loss": best_loss if math.isfinite(best_loss) else None,
            "validation_score": best_score if math.isfinite(best_score) else None,
            "validation_windows": int(val.size),
            "training_windows": int(train.size),
            "seed": self.seed,
        }


class TorchClassifier(_TorchModel):
    """Class probabilities (softmax, in `output_names` order) from an MLP or a 1-D CNN.

    `architecture="mlp"` takes any feature array per window (flattened); `"cnn1d"` takes raw
    windows (channels, samples). Classes are weighted by their inverse frequency, so a
    dominant rest class does not drown the rest. Training is repeatable for a given `seed`
    on the CPU. `threads` is applied with `torch.set_num_threads`: while fitting (default:
    every core but one, restored afterwards) and from loading on (default: half the cores).
    """

    _kind = "classifier"
    _task = "classification"


class TorchRegressor(_TorchModel):
    """Continuous targets (one value per name in `output_names`) from an MLP or a 1-D CNN.

    Targets are standardized for training and returned in their own units. Same options as
    TorchClassifier.
    """

    _kind = "regressor"
    _task = "regression"
