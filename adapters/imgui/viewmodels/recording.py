"""The Recording panel's view-model: Record / Stop, one cue button per class, elapsed time,
where the session goes and the last session's summary; and what its buttons do."""

from __future__ import annotations

import time
from typing import Any

import attrs

from hexloop.domain.state import Action, State

from .common import Button, Text, duration_text

SLUG_TIP = "optional; becomes part of the session's folder name (e.g. s01)"
SAVING = "saving the recording..."


@attrs.frozen
class RecordingView:
    """`idle`: no session open or closing, so the session-name field and Record are shown;
    otherwise Stop and `elapsed` ("REC 0:42") or "saving..." while the session closes."""

    idle: bool
    slug: str
    record: Button
    stop: Button
    saving: bool
    elapsed: str | None
    classes: tuple[Button, ...]
    active_class: int | None  # the cued class while recording
    trials: str | None  # "trials: rest 3, fist 2"
    destination: str | None  # where the open session is written
    last: tuple[Text, ...]  # the last session: location, counts, problem
    message: Text | None  # why the last start or stop failed


# --- intents ----------------------------------------------------------------------------------
@attrs.frozen
class EditSlug:
    text: str


@attrs.frozen
class StartRecording:
    slug: str


@attrs.frozen
class StopRecording:
    pass


@attrs.frozen
class Mark:
    name: str


#: What the recording panel can ask for in one frame.
RecordingIntent = EditSlug | StartRecording | StopRecording | Mark


def stop_refusal(ctx: Any, saving: bool) -> str | None:
    if saving:
        return SAVING
    if ctx.recording is None:
        return ctx.machine.check(Action.STOP_RECORDING) or "not recording"
    return None


def current_label(ctx: Any) -> int | None:
    """The class of the newest cue in the current (or last) recording, if any."""
    labels = ctx.labels
    if labels is None:
        return None
    events = labels.events
    return events[-1].class_index if events else None


def recording_view(ctx: Any, state: Any, now: float | None = None) -> RecordingView:
    """The panel for `ctx` and the window's `state`; `now` is time.monotonic() by default."""
    app = ctx.app
    saving = state.tasks.busy("stop-recording")
    recording = ctx.recording
    elapsed = None
    if recording is not None and not saving and ctx.recording_started is not None:
        now = time.monotonic() if now is None else now
        elapsed = duration_text(now - ctx.recording_started)

    names = tuple(getattr(app, "class_names", ()))
    # while predicting the cues switch the simulated gesture (app.cue), labelled only if recording
    predicting = ctx.machine.state is State.PREDICTING
    cue_refusal = (SAVING if saving else
                   "labels are recorded with a session: press Record first"
                   if recording is None and not predicting else None)
    trials = None
    if names and recording is not None and ctx.labels is not None:
        counts = ctx.labels.counts(app.clock.now())
        trials = "trials: " + ", ".join(f"{k} {v}" for k, v in counts.items())

    last: tuple[Text, ...] = ()
    summary = ctx.last_summary
    if summary is not None:
        samples = ", ".join(f"{k}: {v}" for k, v in summary.samples.items())
        last = (Text(str(summary.location)),
                Text(f"{summary.labels} labels; samples {samples}", "muted"))
        if summary.error:
            last += (Text(f"Problem: {summary.error}", "red"),)
    message = state.tasks.errors.get("stop-recording") or state.messages.get("recording")

    return RecordingView(
        idle=recording is None and not saving,
        slug=state.slug,
        record=Button("Record", app.recording_refusal()),
        stop=Button("Stop", stop_refusal(ctx, saving)),
        saving=saving,
        elapsed=elapsed,
        classes=tuple(Button(name, cue_refusal) for name in names),
        active_class=(current_label(ctx) if recording is not None else
                      getattr(app, "cue_class", None) if predicting else None),
        trials=trials,
        destination=str(recording.location) if recording is not None else None,
        last=last,
        message=Text(message, "red") if message and recording is None else None,
    )


def apply_recording(ctx: Any, state: Any, intent: RecordingIntent) -> None:
    """Carry out what the user asked; closing a session runs on a worker thread."""
    app = ctx.app
    if isinstance(intent, EditSlug):
        state.slug = intent.text
    elif isinstance(intent, StartRecording):
        try:
            app.start_recording(slug=intent.slug.strip())
        except Exception as e:  # noqa: BLE001 - refusals and store errors are shown
            ctx.log.error("recording", f"could not start recording: {e}")
            state.messages["recording"] = str(e)
    elif isinstance(intent, StopRecording):
        state.tasks.start("stop-recording", app.stop_recording, ctx.log, "recording")
    elif isinstance(intent, Mark):
        try:
            getattr(app, "cue", app.mark)(intent.name)  # labels only while recording
        except Exception as e:  # noqa: BLE001
            ctx.log.error("recording", f"could not mark {intent.name!r}: {e}")
