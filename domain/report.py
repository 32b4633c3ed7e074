"""The training report: cross-validated accuracy against chance, confusion matrix, per-class
precision and recall, and the learning curve; as JSON (`report.json`) and as text for a terminal.

`TrainingReport.to_dict` / `from_dict` round-trip through JSON (nan becomes null), so a model
file and `report.json` carry the same document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from .evaluation import CHANCE_RULE, NEAR_CHANCE_MARGIN, near_chance

REPORT_VERSION = 1


def _num(v: Any) -> float | None:
    """A JSON number: nan and None become None."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _percent(v: float) -> str:
    return f"{100 * v:.0f} %" if math.isfinite(v) else "n/a"


@attrs.frozen
class LearningCurve:
    """Loss per epoch of one fit: on the training windows and on the held-out validation ones."""

    epochs: tuple[int, ...] = ()
    train_loss: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()  # nan where a fit reported none

    def add(self, epoch: int, train_loss: float, val_loss: float) -> LearningCurve:
        """The curve with this epoch's point (replacing a point already there for it)."""
        keep = [i for i, e in enumerate(self.epochs) if e != epoch]
        def pick(seq: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(seq[i] for i in keep)

        return LearningCurve(pick(self.epochs) + (int(epoch),),
                             pick(self.train_loss) + (float(train_loss),),
                             pick(self.val_loss) + (float(val_loss),))

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epochs), "train_loss": [_num(v) for v in self.train_loss],
                "val_loss": [_num(v) for v in self.val_loss]}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> LearningCurve:
        doc = doc or {}
        return cls(tuple(int(e) for e in doc.get("epoch", ())),
                   tuple(_nan(v) for v in doc.get("train_loss", ())),
                   tuple(_nan(v) for v in doc.get("val_loss", ())))


@attrs.frozen
class TrainingReport:
    """How well a training run can be expected to do on trials it has not seen.

    `accuracy` is the cross-validated accuracy (held-out trials), `chance` the majority-class rate
    of the same windows; both nan when there was no cross-validation, and `note` says why.
    `confusion[i][j]` counts windows cued as class i and predicted as class j.
    """

    class_names: tuple[str, ...] = attrs.field(converter=_names)
    task: str = "classification"
    accuracy: float = float("nan")
    chance: float = float("nan")
    confusion: tuple[tuple[int, ...], ...] = ()
    precision: tuple[float, ...] = ()
    recall: tuple[float, ...] = ()
    folds: int = 0
    trials: int = 0
    windows: int = 0
    fold_accuracy: tuple[float, ...] = ()
    curve: LearningCurve = LearningCurve()
    note: str = ""  # why there is no cross-validation, when there is none
    setup: Mapping[str, Any] = attrs.field(factory=dict)  # what the model was trained for
    seconds: float = float("nan")

    @property
    def validated(self) -> bool:
        return math.isfinite(self.accuracy)

    @property
    def near_chance(self) -> bool:
        return self.validated and near_chance(self.accuracy, self.chance)

    def summary(self) -> str:
        """'cross-validated accuracy 87 % (chance 25 %)', or why there is no such figure."""
        if not self.validated:
            return f"no cross-validated accuracy: {self.note}" if self.note else \
                "no cross-validated accuracy"
        return f"cross-validated accuracy {_percent(self.accuracy)} (chance {_percent(self.chance)})"

    def warning(self) -> str | None:
        """A plain-words warning when the model is within a few points of chance, else None."""
        if not self.near_chance:
            return None
        return (f"this model is near chance ({self.summary()}): the classes did not differ in "
                f"the recording; check the cues, the electrodes and the labels, then record again")

    def text(self) -> str:
        """For a terminal: the summary, the warning, the confusion matrix, precision / recall."""
        lines = [self.summary()]
        if self.validated:
            lines[0] += (f", {self.folds} folds over {self.trials} trials "
                         f"({self.windows} windows)")
        warning = self.warning()
        if warning:
            lines.append(f"WARNING: {warning}")
        if self.confusion:
            names = list(self.class_names)
            width = max(6, *(len(n) for n in names)) + 1
            lines.append("confusion matrix (windows; rows: cued class, columns: predicted class)")
            lines.append(" " * width + "".join(f"{n:>{width}}" for n in names))
            for name, row in zip(names, self.confusion):
                lines.append(f"{name:<{width}}" + "".join(f"{v:>{width}d}" for v in row))
            lines.append(f"{'class':<{width}}{'precision':>10}{'recall':>8}")
            for name, p, r in zip(names, self.precision, self.recall):
                lines.append(f"{name:<{width}}{_percent(p):>10}{_percent(r):>8}")
        if self.curve.epochs:
            last = len(self.curve.epochs) - 1
            lines.append(f"learning curve: {len(self.curve.epochs)} epochs, final train loss "
                         f"{self.curve.train_loss[last]:.4g}, validation loss "
                         f"{self.curve.val_loss[last]:.4g}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION,
            "task": self.task,
            "class_names": list(self.class_names),
            "summary": self.summary(),
            "cross_validated_accuracy": _num(self.accuracy),
            "chance": _num(self.chance),
            "chance_rule": CHANCE_RULE,
            "near_chance_margin": NEAR_CHANCE_MARGIN,
            "near_chance": self.near_chance,
            "warning": self.warning(),
            "confusion_matrix": [list(map(int, row)) for row in self.confusion],
            "precision": [_num(v) for v in self.precision],
            "recall": [_num(v) for v in self.recall],
            "folds": self.folds,
            "trials": self.trials,
            "windows": self.windows,
            "fold_accuracy": [_num(v) for v in self.fold_accuracy],
            "learning_curve": self.curve.to_dict(),
            "note": self.note,
            "setup": dict(self.setup),
            "seconds": _num(self.seconds),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainingReport:
        """The report back from `to_dict`'s document (ValueError when it is not one)."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("class_names"), list):
            raise ValueError("not a training report: it has no class_names list")
        return cls(
            class_names=tuple(str(n) for n in doc["class_names"]),
            task=str(doc.get("task", "classification")),
            accuracy=_nan(doc.get("cross_validated_accuracy")),
            chance=_nan(doc.get("chance")),
            confusion=tuple(tuple(int(v) for v in row) for row in doc.get("confusion_matrix", ())),
            precision=tuple(_nan(v) for v in doc.get("precision", ())),
            recall=tuple(_nan(v) for v in doc.get("recall", ())),
            folds=int(doc.get("folds", 0)),
            trials=int(doc.get("trials", 0)),
            windows=int(doc.get("windows", 0)),
            fold_accuracy=tuple(_nan(v) for v in doc.get("fold_accuracy", ())),
            curve=LearningCurve.from_dict(doc.get("learning_curve")),
            note=str(doc.get("note", "")),
            setup=dict(doc.get("setup") or {}),
            seconds=_nan(doc.get("seconds")),
        )


def normalized_rows(confusion: Sequence[Sequence[int]]) -> np.ndarray:
    """Each row of the confusion matrix as shares of its cued windows (0 for an empty row):
    what a heat map shows, so a rarely cued class is as visible as a frequent one."""
    m = np.asarray(confusion, dtype=np.float64)
    if m.size == 0:
        return m.reshape(0, 0)
    totals = m.sum(axis=1, keepdims=True)
    shares: np.ndarray = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    return shares
