"""The Pipeline panel's view-model, per pipeline: Train (what it learns, progress, Cancel),
Start / Stop predicting with the achieved rate, the loops that cannot keep up (late and skipped
ticks, overruns, blocked sends), and Save / Load of the model; and what its buttons do."""

from __future__ import annotations

import math
import os
from typing import Any

import attrs

from hexloop.domain.state import Action, State

from .common import Button, Text
from .training import TrainingReportView, training_report_view

PREPARING = "preparing the training data..."


@attrs.frozen
class Progress:
    fraction: float
    overlay: str


@attrs.frozen
class TargetChoice:
    """The "learn" combo: the cued classes (None) or a stream the pipeline does not read."""

    choices: tuple[str | None, ...]
    labels: tuple[str, ...]
    index: int


@attrs.frozen
class PipelineView:
    """One pipeline. `targets` is the "learn" choice, None when the pipeline reads every stream
    (only the cued classes can be learnt)."""

    name: str
    titled: bool  # several pipelines: each under its name
    target: str | None  # what Train learns: a stream's values, or None for the cued classes
    targets: TargetChoice | None
    train: Button
    cancel: Button
    progress: Progress | None
    note: Text | None  # the last training outcome when nothing runs
    train_error: str | None  # why the last Train did not start
    start: Button
    stop: Button
    rates: str
    loops: tuple[Text, ...]  # predict and outputs: red when they cannot keep up
    model: str
    path: str
    save: Button
    load: Button
    model_error: str | None
    #: the training report (accuracy next to chance, heat map, learning curve: live while training)
    report: TrainingReportView | None = None


# --- intents ----------------------------------------------------------------------------------
@attrs.frozen
class ChooseTarget:
    pipeline: str
    target: str | None  # None: the cued classes


@attrs.frozen
class Train:
    pipeline: str
    target: str | None


@attrs.frozen
class CancelTraining:
    pipeline: str


@attrs.frozen
class StartPredicting:
    pipeline: str


@attrs.frozen
class StopPredicting:
    pipeline: str


@attrs.frozen
class EditModelPath:
    pipeline: str
    path: str


@attrs.frozen
class SaveModel:
    pipeline: str
    path: str


@attrs.frozen
class LoadModel:
    pipeline: str
    path: str


#: What the pipeline panel can ask for in one frame.
PipelineIntent = (ChooseTarget | Train | CancelTraining | StartPredicting | StopPredicting
                  | EditModelPath | SaveModel | LoadModel)


# --- building ---------------------------------------------------------------------------------
def train_refusal(ctx: Any, preparing: bool, target: str | None) -> str | None:
    reason = ctx.machine.check(Action.START_TRAINING)
    if reason:
        return reason
    if preparing:
        return PREPARING
    if getattr(ctx.app, "store", None) is None:
        return "no store configured: training reads the last recording back from the store"
    if target is None and not getattr(ctx.app, "class_names", ()):
        return "no classes to learn: give App(class_names=...) or pick a target stream"
    if ctx.last_summary is None:
        what = "labelled trials" if target is None else f"{target} with the inputs"
        return f"no recording yet: record {what}, press Stop, then Train"
    return None


def target_streams(ctx: Any, pipeline: Any) -> list[str]:
    """Streams a pipeline could learn to predict (regression): those it does not read."""
    inputs = getattr(pipeline, "stream_names", None)
    if not inputs:
        return []
    return [name for name in ctx.streams if name not in inputs]


def target_choice(ctx: Any, state: Any, pipeline: Any):
    """(choices, labels, index) of what Train learns; the chosen target is choices[index]."""
    target = state.train_targets.get(pipeline.name, getattr(pipeline, "training_target", None))
    candidates = target_streams(ctx, pipeline)
    if not candidates:
        return [target], None, 0
    choices = [None, *candidates]
    labels = ("cued classes", *(f"stream {name} (regression)" for name in candidates))
    return choices, labels, choices.index(target) if target in choices else 0


def default_model_path(ctx: Any, pipeline: Any) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(ctx.app.name))
    suffix = "" if pipeline.name == "pipeline" else f"-{pipeline.name}"
    return f"{safe}{suffix}.model"


def progress_of(pipeline: Any, training: bool, preparing: bool):
    """(Progress bar or None, note or None) for the training part."""
    progress = pipeline.progress
    if training and progress is not None:
        overlay = progress.message or "training"
        if progress.epochs:
            overlay = f"epoch {progress.epoch}/{progress.epochs}"
            if getattr(progress, "stage", ""):
                overlay = f"{progress.stage}, {overlay}"  # cross-validation fold, final model
            if math.isfinite(progress.loss):
                overlay += f"  loss {progress.loss:.3g}"
            if math.isfinite(progress.score):
                overlay += f"  score {progress.score:.2f}"
        return Progress(progress.fraction, overlay), None
    if preparing:
        return Progress(0.0, "preparing training data..."), None
    if progress is not None and progress.message:
        tone = "red" if progress.message.startswith("failed") else "grey"
        return None, Text(progress.message, tone)
    return None, None


def loop_health(label: str, health: Any, fine: str | None = None) -> Text | None:
    """A paced loop's slow parts (late and skipped ticks, overruns or blocked sends), in red;
    else `fine` greyed, or nothing."""
    slow = health.summary() if health is not None else ""
    if slow:
        return Text(f"{label}: {slow}", "red",
                    f"{label}: {health.late} ticks late, {health.skipped} deadlines skipped; "
                    f"slowest {health.max_duration_s * 1e3:.0f} ms for a "
                    f"{health.period_s * 1e3:.0f} ms period (see the log)")
    return Text(f"{label}: {fine}", "muted") if fine else None


def pipeline_view(ctx: Any, state: Any, pipeline: Any, exists=os.path.exists) -> PipelineView:
    """One pipeline's panel; `exists` tells whether a model file is there (replaceable in tests)."""
    key = pipeline.name
    preparing = state.tasks.busy(f"train-{key}")
    training = ctx.state is State.TRAINING and not pipeline.wait_training(0)
    choices, labels, index = target_choice(ctx, state, pipeline)
    target = choices[index]
    progress, note = progress_of(pipeline, training, preparing)
    error = state.tasks.errors.get(f"train-{key}")

    predicting = ctx.state is State.PREDICTING
    rates = (f"{pipeline.predictions.count} predictions, "
             f"{pipeline.predictions.rate():.1f}/s of {pipeline.predict_hz:g}/s, "
             f"{pipeline.errors} errors")
    loops = [loop_health("predict", getattr(pipeline, "health", None))]
    for out in getattr(pipeline, "outputs", ()):
        loops.append(loop_health(f"output {out.name}", getattr(out, "health", None),
                                 f"{getattr(out, 'sent', 0)} sent at {getattr(out, 'hz', 0):g}/s"))

    model = pipeline.model
    path = state.model_paths.get(key, None)
    if path is None:
        path = default_model_path(ctx, pipeline)
    given = path.strip()
    busy = state.tasks.busy(f"model-{key}")
    there = bool(given) and exists(given)
    save_refusal = ("saving or loading..." if busy else
                    "no model to save: train or load one first" if model is None else
                    "give a file path" if not given else None)
    load_refusal = ("saving or loading..." if busy else
                    "wait for training to finish" if training else
                    "give a file path" if not given else
                    f"no file at {given}" if not there else None)
    return PipelineView(
        name=key,
        titled=len(ctx.pipelines) > 1,
        target=target,
        targets=TargetChoice(tuple(choices), labels, index) if labels is not None else None,
        train=Button("Train", train_refusal(ctx, preparing, target),
                     None if preparing or ctx.last_summary is None
                     else f"train on {ctx.last_summary.location}"),
        cancel=Button("Cancel", None if training else
                      "another pipeline is training" if ctx.state is State.TRAINING else
                      "nothing is training"),
        progress=progress,
        note=note,
        train_error=error if error and not training else None,
        start=Button("Start predicting", pipeline.refusal()),
        stop=Button("Stop predicting",
                    None if predicting else ctx.machine.check(Action.STOP_PREDICTING)),
        rates=rates,
        loops=tuple(line for line in loops if line is not None),
        model=f"model: {type(model).__name__ if model is not None else 'none yet'}",
        path=path,
        save=Button("Overwrite" if there else "Save", save_refusal,
                    f"replace {given}" if there else None),
        load=Button("Load", load_refusal),
        model_error=state.tasks.errors.get(f"model-{key}"),
        report=training_report_view(pipeline, training),
    )


def pipeline_views(ctx: Any, state: Any) -> tuple[PipelineView, ...]:
    return tuple(pipeline_view(ctx, state, p) for p in list(ctx.pipelines))


# --- carrying out -----------------------------------------------------------------------------
def _pipeline(ctx: Any, name: str) -> Any:
    for pipeline in ctx.pipelines:
        if pipeline.name == name:
            return pipeline
    return None


def _train_from_last_recording(ctx: Any, pipeline: Any, target: str | None) -> None:
    session = ctx.app.store.read(ctx.last_summary.location)
    data = pipeline.training_data(session) if target is None else \
        pipeline.training_data(session, target=target)
    pipeline.start_training(data)


def _save(ctx: Any, pipeline: Any, path: str) -> None:
    pipeline.save_model(path)
    ctx.log.info(pipeline.name, f"saved the model to {path}")


def apply_pipeline(ctx: Any, state: Any, intent: PipelineIntent) -> None:
    """Carry out what the user asked; training data, Save and Load run on worker threads."""
    key = intent.pipeline
    pipeline = _pipeline(ctx, key)
    if pipeline is None:  # removed since the frame was drawn
        return
    tasks = state.tasks
    if isinstance(intent, ChooseTarget):
        state.train_targets[key] = intent.target
    elif isinstance(intent, Train):
        tasks.start(f"train-{key}",
                    lambda: _train_from_last_recording(ctx, pipeline, intent.target), ctx.log, key)
    elif isinstance(intent, CancelTraining):
        pipeline.cancel_training()
    elif isinstance(intent, StartPredicting | StopPredicting):
        verb = "start" if isinstance(intent, StartPredicting) else "stop"
        if verb == "stop" and getattr(ctx, "recording", None) is not None:
            # an online session closes (and packs) first: off the frame, shown as "saving..."
            tasks.start("stop-recording", pipeline.stop_predicting, ctx.log, "recording")
            return
        try:
            pipeline.start_predicting() if verb == "start" else pipeline.stop_predicting()
        except Exception as e:  # noqa: BLE001 - shown in the log
            ctx.log.error(key, f"could not {verb} predicting: {e}")
    elif isinstance(intent, EditModelPath):
        state.model_paths[key] = intent.path
    elif isinstance(intent, SaveModel):
        tasks.start(f"model-{key}", lambda: _save(ctx, pipeline, intent.path.strip()), ctx.log, key)
    elif isinstance(intent, LoadModel):
        tasks.start(f"model-{key}", lambda: pipeline.load_model(intent.path.strip()), ctx.log, key)
