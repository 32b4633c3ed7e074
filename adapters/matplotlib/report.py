"""`save_report_png`: a training report as one PNG of FIGURE_PIXELS.

Left, the confusion matrix as a heat map of each cued class's share (rows add up to 100 %) with
the window counts written in; right, the learning curve (training and validation loss per
epoch); the title gives the cross-validated accuracy next to chance, in red when near chance.
Uses a bare `Figure` on the Agg canvas, so it runs on any thread and never opens a window.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hexloop.domain.report import TrainingReport, normalized_rows

#: The PNG's size in pixels (width, height).
FIGURE_PIXELS = (1200, 500)
_DPI = 100


def _heat_map(ax, report: TrainingReport) -> None:
    names = list(report.class_names)
    if not report.confusion:
        ax.axis("off")
        ax.text(0.5, 0.5, report.summary(), ha="center", va="center", wrap=True)
        return
    shares = normalized_rows(report.confusion)
    image = ax.imshow(shares, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of cued windows")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("cued class")
    for i, row in enumerate(report.confusion):
        for j, count in enumerate(row):
            ax.text(j, i, f"{count}", ha="center", va="center",
                    color="black" if shares[i, j] > 0.6 else "white", fontsize=9)
    ax.set_title(f"confusion matrix, {report.folds} folds by trial")


def _curve(ax, report: TrainingReport) -> None:
    curve = report.curve
    ax.set_title("learning curve (final model)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if not curve.epochs:
        ax.text(0.5, 0.5, "the model reported no epochs", ha="center", va="center",
                transform=ax.transAxes)
        return
    ax.plot(curve.epochs, curve.train_loss, label="training")
    val = np.asarray(curve.val_loss, dtype=float)
    if np.isfinite(val).any():
        ax.plot(curve.epochs, val, label="validation")
    ax.grid(alpha=0.3)
    ax.legend()


def save_report_png(report: TrainingReport, path: str | os.PathLike) -> None:
    """Draw `report` into a PNG at `path` (replaced atomically)."""
    figure = Figure(figsize=(FIGURE_PIXELS[0] / _DPI, FIGURE_PIXELS[1] / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    _heat_map(left, report)
    _curve(right, report)
    warning = report.warning()
    figure.suptitle(report.summary() + ("  (near chance: check cues, electrodes, labels)"
                                        if warning else ""),
                    color="firebrick" if warning else "black")
    figure.tight_layout()
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".png",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            figure.savefig(f, format="png", dpi=_DPI)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
