"""A training run with its report: cross-validation by trial, then the final model on all data.

`run_training` trains one model per fold on the other folds' trials and predicts the held-out
trials' windows (through the pipeline's own predict function, so any model works), then trains
the model that is kept on every window while recording its learning curve. Progress covers the
whole run (each fit's share in proportion to its windows) and reaches 1.0; cancelling stops
whichever fit is running. `save_report` writes `report.json` (and `report.png` through the
pipeline's figure writer, which the composition root supplies) beside a saved model, and
`check_setup` refuses a model trained for another setup, saying what differs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hexloop.domain.evaluation import (
    accuracy,
    chance_level,
    confusion_matrix,
    precision_recall,
    runs_as_trials,
    trial_folds,
)
from hexloop.domain.modelsetup import describe_setup, setup_differences
from hexloop.domain.pipeline import TrainingCancelled, TrainingData, TrainingJob
from hexloop.domain.report import LearningCurve, TrainingReport

#: A Pipeline (not imported: pipeline.py imports this module, and imports go one way).
Pipeline = Any

REPORT_JSON, REPORT_PNG = "report.json", "report.png"


class NoCrossValidation(Exception):
    """Why a run has no cross-validated accuracy (the model is still trained)."""


def features_name(pipeline: Pipeline) -> str:
    """The feature function's name: what the setup file named, else the extract function's
    'module:qualname'."""
    if getattr(pipeline, "features_name", None):
        return str(pipeline.features_name)
    fn = pipeline._extract
    if fn is None:
        return ""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def pipeline_setup(pipeline: Pipeline, task: str, names) -> dict[str, Any]:
    """What a model trained now by `pipeline` is trained for (domain.modelsetup)."""
    streams = pipeline.streams
    conditioning = {}
    for s in streams:
        chain = getattr(s, "conditioning", None)
        specs = getattr(chain, "specs", chain)
        conditioning[s.name] = [dict(spec) for spec in specs] if specs else []
    return describe_setup(task=task, class_names=names, features=features_name(pipeline),
                          streams=[(s.name, s.window_ms) for s in streams],
                          conditioning=conditioning)


def current_setup(pipeline: Pipeline) -> dict[str, Any]:
    """This pipeline's setup, for comparing with a model's: its app's class names when it learns
    classes; a regression target is not known before the model says so, so not compared."""
    described = pipeline_setup(pipeline, "classification", pipeline.app.class_names)
    if not pipeline.app.class_names:
        del described["class_names"], described["task"]
    return described


def check_setup(model: Any, pipeline: Pipeline) -> None:
    """Raise ValueError naming every difference between the setup `model` was trained for (its
    `metadata["setup"]`) and `pipeline`'s; a model recording no setup is not checked."""
    trained = (getattr(model, "metadata", None) or {}).get("setup")
    if not isinstance(trained, Mapping):
        return
    current = current_setup(pipeline)
    if trained.get("task") == "regression":
        current.pop("class_names", None)
        current.pop("task", None)
    differences = setup_differences(trained, current)
    if differences:
        raise ValueError("it was trained for another setup: " + "; ".join(differences)
                         + ". Use the setup it was trained with, or train a model for this one")


def _class_of(values: Mapping[str, Any], names: tuple[str, ...]) -> int:
    try:
        return int(np.argmax([float(values[n]) for n in names]))
    except KeyError:
        raise NoCrossValidation(
            f"predict returned {sorted(values)}, not one value per class {list(names)}"
        ) from None


def classifier(model: Any, predict: Callable[[Any, np.ndarray], Mapping[str, Any]] | None,
               names: tuple[str, ...]) -> Callable[[np.ndarray], int]:
    """features -> class index: through the Model port when the model names its outputs by the
    classes (whatever the pipeline's predict renames them to), else through `predict`, whose
    mapping must then hold one value per class name."""
    outputs = list(getattr(model, "output_names", ()) or ())
    if set(names) <= set(outputs) and callable(getattr(model, "predict", None)):
        index = [outputs.index(n) for n in names]
        return lambda x: int(np.argmax(np.asarray(model.predict(x), dtype=np.float64)[index]))
    if predict is None:
        raise TypeError("cross-validation needs a predict function (@pipeline.predict) or a "
                        "model whose output_names are the class names")
    return lambda x: _class_of(predict(model, x), names)


def _shares(sizes: list[int]) -> list[tuple[float, float]]:
    total = float(sum(sizes)) or 1.0
    out, start = [], 0.0
    for n in sizes:
        out.append((start, n / total))
        start += n / total
    return out


def run_training(
    train: Callable[[TrainingData, TrainingJob], Any],
    predict: Callable[[Any, np.ndarray], Mapping[str, Any]] | None,
    data: TrainingData,
    job: TrainingJob,
    *,
    folds: int = 5,
    seed: int = 0,
    setup: Mapping[str, Any] | None = None,
    on_curve: Callable[[str, LearningCurve], None] | None = None,
) -> tuple[Any, TrainingReport]:
    """(model trained on all of `data`, its report). Cross-validates classification when
    `folds` >= 2 and there are at least two trials; raises TrainingCancelled when cancelled."""
    t0 = time.monotonic()
    names = tuple(data.names)
    plan, note = [], ""
    groups = None
    if data.task != "classification":
        note = "cross-validated accuracy is for classification; this model learns regression"
    elif folds < 2:
        note = "cross-validation is off (cv_folds < 2)"
    else:
        groups = np.asarray(data.groups) if data.groups is not None else runs_as_trials(data.y)
        try:
            plan = trial_folds(groups, np.asarray(data.y), folds, seed)
        except ValueError as e:
            note = str(e)
    shares = _shares([len(tr) for tr, _ in plan] + [len(data)])

    def fit(subset: TrainingData, share: tuple[float, float], stage: str) -> Any:
        curve = LearningCurve()

        def collect(progress) -> None:
            nonlocal curve
            if progress.epoch > 0 and progress.loss == progress.loss:
                curve = curve.add(progress.epoch, progress.loss, progress.val_loss)
                if on_curve is not None:
                    on_curve(stage, curve)

        if on_curve is not None:
            on_curve(stage, curve)
        model = train(subset, job.part(share[0], share[1], stage, collect))
        job.raise_if_cancelled()
        if model is None:
            raise TypeError("@pipeline.train returned None: return the trained model")
        return model, curve

    y_true, y_pred, fold_scores = [], [], []
    try:
        for i, (tr, te) in enumerate(plan):
            stage = f"fold {i + 1} of {len(plan)}"
            try:
                model, _ = fit(data.subset(tr), shares[i], stage)
            except (TrainingCancelled, TypeError):
                raise
            except Exception as e:  # noqa: BLE001 - the final model may still train
                raise NoCrossValidation(f"{stage} could not be trained ({type(e).__name__}: "
                                        f"{e})") from None
            x = np.asarray(data.x)
            truth = np.asarray(data.y)[te]
            which = classifier(model, predict, names)
            guess = np.array([which(x[j]) for j in te], dtype=np.int64)
            y_true.append(truth)
            y_pred.append(guess)
            fold_scores.append(float(np.mean(truth == guess)))
    except NoCrossValidation as e:
        note, y_true, y_pred, fold_scores, plan = str(e), [], [], [], []
    model, curve = fit(data, shares[-1], "final model")
    job.report(done=1.0)

    fields: dict[str, Any] = {}
    if y_true:
        truth, guess = np.concatenate(y_true), np.concatenate(y_pred)
        confusion = confusion_matrix(truth, guess, len(names))
        precision, recall = precision_recall(confusion)
        fields = dict(accuracy=accuracy(confusion), chance=chance_level(truth, len(names)),
                      confusion=tuple(tuple(int(v) for v in row) for row in confusion),
                      precision=tuple(precision.tolist()), recall=tuple(recall.tolist()),
                      folds=len(plan), trials=0 if groups is None else int(np.unique(groups).size),
                      fold_accuracy=tuple(fold_scores))
    report = TrainingReport(names, data.task, windows=len(data), curve=curve, note=note,
                            setup=dict(setup or {}), seconds=time.monotonic() - t0, **fields)
    return model, report


def attach(model: Any, report: TrainingReport) -> None:
    """Give the model its report and setup, for its file to carry (a model that takes no
    attributes simply goes without)."""
    try:
        model.metadata = {"setup": dict(report.setup), "report": report.to_dict()}
    except (AttributeError, TypeError):
        pass


def report_of(model: Any) -> TrainingReport | None:
    """The report a loaded model carries, if any."""
    doc = (getattr(model, "metadata", None) or {}).get("report")
    try:
        return TrainingReport.from_dict(doc) if doc else None
    except (ValueError, TypeError):
        return None


def save_report(report: TrainingReport, model_path: str | os.PathLike,
                figure: Callable[[TrainingReport, str], None] | None) -> list[str]:
    """Write report.json (and report.png with `figure`) beside the model; the paths written."""
    folder = os.path.dirname(os.path.abspath(os.fspath(model_path)))
    path = os.path.join(folder, REPORT_JSON)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report.to_dict(), f, indent=1, allow_nan=False)
    os.replace(tmp, path)
    written = [path]
    if figure is not None:
        png = os.path.join(folder, REPORT_PNG)
        figure(report, png)
        written.append(png)
    return written
