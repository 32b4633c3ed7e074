"""The training report's view-model, per pipeline: the cross-validated accuracy next to chance
(red with a plain-words warning when near chance), the confusion matrix as a heat map of each
cued class's share, and the learning curve, live while a fit runs (the fit's stage named).

Pure: reads `pipeline.report`, `pipeline.curve` and `pipeline.progress`; drawn by
views/training.py.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from hexloop.domain.report import normalized_rows

from .common import Text


@attrs.frozen(eq=False)
class HeatMap:
    """Row shares (n, n) float64 for ImPlot, rows top to bottom in class order, with counts."""

    class_names: tuple[str, ...]
    shares: np.ndarray
    counts: tuple[tuple[int, ...], ...]
    title: str


@attrs.frozen(eq=False)
class Curve:
    """A learning curve as float64 arrays for ImPlot; `val_loss` is nan where none."""

    title: str
    epochs: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray


@attrs.frozen(eq=False)
class TrainingReportView:
    summary: Text  # "cross-validated accuracy 87 % (chance 25 %)"
    warning: Text | None  # near chance, in plain words
    heat_map: HeatMap | None
    curve: Curve | None
    details: str  # folds, trials, windows; precision / recall per class


def _curve(title: str, curve: Any) -> Curve | None:
    if curve is None or not curve.epochs:
        return None
    return Curve(title, np.asarray(curve.epochs, dtype=np.float64),
                 np.asarray(curve.train_loss, dtype=np.float64),
                 np.asarray(curve.val_loss, dtype=np.float64))


def training_report_view(pipeline: Any, training: bool) -> TrainingReportView | None:
    """What to show under Train: while training, the live curve of the fit that runs; after, the
    report of the current model (trained here or loaded with one); None when there is neither."""
    report = getattr(pipeline, "report", None)
    if training:
        stage, curve = getattr(pipeline, "curve", ("", None))
        progress = getattr(pipeline, "progress", None)
        title = f"learning curve, {stage}" if stage else "learning curve"
        text = f"training: {stage}" if stage else "training"
        if progress is not None:
            text += f" ({progress.fraction:.0%})"
        return TrainingReportView(Text(text, "muted"), None, None, _curve(title, curve), "")
    if report is None:
        return None
    warning = report.warning()
    tone = "red" if warning else ("green" if report.validated else "muted")
    summary = Text(report.summary(), tone, "chance: the accuracy of always answering the most "
                   "frequent class; the accuracy is on trials held out of training")
    heat = None
    if report.confusion:
        heat = HeatMap(tuple(report.class_names), normalized_rows(report.confusion),
                       tuple(tuple(row) for row in report.confusion),
                       f"confusion, % of each cued class ({report.folds} folds)")
    details = ""
    if report.validated:
        rows = [f"{report.folds} folds over {report.trials} trials ({report.windows} windows)"]
        rows += [f"{name}: precision {_pct(p)}, recall {_pct(r)}"
                 for name, p, r in zip(report.class_names, report.precision, report.recall)]
        details = "\n".join(rows)
    return TrainingReportView(summary, Text(warning, "red") if warning else None, heat,
                              _curve("learning curve (final model)", report.curve), details)


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %" if v == v else "n/a"
