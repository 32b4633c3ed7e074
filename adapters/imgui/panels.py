"""The built-in panels of the hexloop window, each a plain function of the app context.

Panels run on the main thread between ImGui's new_frame and render. They only read what other
threads publish (stream health, display snapshots, predictions, the log) and start slow work
on short worker threads (state.Tasks), so a frame never waits on disk or training.
Buttons the state machine would refuse are drawn disabled with a tooltip saying why.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from imgui_bundle import imgui, implot

from hexloop.domain.state import Action, State

from .state import ViewerSettings, gui_state, parse_channels

GREEN = (0.35, 0.85, 0.45, 1.0)
ORANGE = (1.0, 0.65, 0.2, 1.0)
RED = (1.0, 0.38, 0.38, 1.0)
BLUE = (0.55, 0.7, 0.95, 1.0)
GREY = (0.6, 0.6, 0.6, 1.0)

STATUS_COLORS = {"streaming": GREEN, "stalled": ORANGE, "connecting": BLUE, "error": RED,
                 "refused": RED, "stopped": GREY}
STATE_COLORS = {State.IDLE: GREY, State.RECORDING: RED, State.TRAINING: ORANGE,
                State.PREDICTING: GREEN}
LEVEL_COLORS = {"info": (0.8, 0.8, 0.8, 1.0), "warning": ORANGE, "error": RED}
BRIDGE_COLORS = {"running": GREEN, "stopped": GREY, "crashed": RED}

#: Tick labels on a stacked viewer's channel axis stop at this many (every k-th name beyond).
MAX_CHANNEL_LABELS = 48
#: Points one viewer draws per frame across all its channels, and the least per channel:
#: neighbouring min/max buckets are merged beyond that, so 400 channels cost what 100 do.
POINT_BUDGET = 120_000
MIN_POINTS = 64
PIXELS_PER_POINT = 4


# --- small helpers ---------------------------------------------------------------------------
def refusable_button(label: str, refusal: str | None) -> bool:
    """A button that is disabled, with `refusal` as its tooltip, when refusal is not None."""
    imgui.begin_disabled(refusal is not None)
    clicked = imgui.button(label)
    imgui.end_disabled()
    if refusal is not None and imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
        imgui.set_tooltip(refusal)
    return clicked and refusal is None


def _age_text(age_s: float) -> str:
    if not np.isfinite(age_s):
        return "-"
    return f"{age_s * 1000:.0f} ms" if age_s < 1 else f"{age_s:.1f} s"


def _duration_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:d}:{secs:02d}"


def _tooltip(text: str | None) -> None:
    if text and imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
        imgui.set_tooltip(text)


# --- streams ---------------------------------------------------------------------------------
def streams_panel(ctx: Any) -> None:
    """One row per stream: status (a refusal's reason as tooltip), measured and nominal rate,
    channels, age, lost and rejected, and the anomalies kept (clock jumps, non-finite, clipped)."""
    if not ctx.streams:
        imgui.text_disabled("No streams: add one with app.streams(Stream(...)).")
        return
    flags = (imgui.TableFlags_.row_bg | imgui.TableFlags_.borders_inner_v
             | imgui.TableFlags_.sizing_stretch_prop | imgui.TableFlags_.resizable)
    if not imgui.begin_table("streams", 8, flags):
        return
    widest = max(len(name) for name in ctx.streams)
    # Column weights from typical contents, so the rate is not the one cut short.
    samples = ("n" * min(max(widest, 4), 16), "streaming", "2048 / 2048", "Ch", "999 ms",
               "Lost", "Rejected", "Anomalies")
    titles = ("Stream", "Status", "Rate (Hz)", "Ch", "Newest", "Lost", "Rejected", "Anomalies")
    for title, sample in zip(titles, samples):
        imgui.table_setup_column(title, imgui.TableColumnFlags_.width_stretch,
                                 imgui.calc_text_size(sample).x)
    imgui.table_headers_row()
    for name, stream in list(ctx.streams.items()):
        health = stream.health
        info = stream.info
        status = getattr(health.status, "value", str(health.status))
        imgui.table_next_row()
        imgui.table_next_column()
        imgui.text(name)
        imgui.table_next_column()
        imgui.text_colored(STATUS_COLORS.get(status, GREY), status)
        _tooltip(health.error)
        imgui.table_next_column()
        nominal = f" / {info.sampling_rate:g}" if info and info.sampling_rate else ""
        imgui.text(f"{health.rate_hz:.0f}{nominal}")
        imgui.table_next_column()
        imgui.text(str(info.channel_count) if info else "-")
        imgui.table_next_column()
        imgui.text(_age_text(health.age_s))
        imgui.table_next_column()
        if health.lost:
            imgui.text_colored(ORANGE, str(health.lost))
            _tooltip("samples missing according to timestamp gaps")
        else:
            imgui.text("0")
        imgui.table_next_column()
        if health.rejected:
            imgui.text_colored(RED, str(health.rejected))
            _tooltip(health.error or "chunks refused by validation; see the log")
        else:
            imgui.text("0")
        imgui.table_next_column()
        _anomalies_cell(health)
    imgui.end_table()


def _anomalies_cell(health: Any) -> None:
    """Clock jumps (J), non-finite values (NaN) and clipped values (clip): kept, but odd."""
    counts = [(getattr(health, field, 0), short) for field, short in
              (("clock_jumps", "J"), ("non_finite", "NaN"), ("clipped", "clip"))]
    text = " ".join(f"{n} {short}" for n, short in counts if n)
    if not text:
        imgui.text("0")
        return
    imgui.text_colored(ORANGE, text)
    _tooltip("kept, not refused: clock jumps (timestamps re-anchored, marked in the recording), "
             "NaN or infinite values (stored as they came), values clipped to the stream's "
             "dtype range; see the log")


# --- signal viewer ---------------------------------------------------------------------------
def viewer_data(stream: Any, settings: ViewerSettings, channels: list[int]):
    """(times (k,), mins (c,k), maxs (c,k)) for the viewer, or None before any data.

    "display" reads the acquisition thread's min/max snapshot (a few hundred buckets, however
    fast the stream); "raw" copies the whole ring buffer, the slow path benchmarks compare with.
    """
    if settings.source == "raw":
        buffer = stream.buffer
        if buffer is None or len(buffer) == 0:
            return None
        data, ts = buffer.window(len(buffer))
        rows = data[channels].astype(np.float32, copy=False)
        return ts, rows, rows
    every = stream.info is not None and len(channels) == stream.info.channel_count
    snapshot = stream.display(None if every else channels)
    if snapshot is None or snapshot.times.size == 0:
        return None
    return snapshot.times, snapshot.mins, snapshot.maxs


def _update_scale(settings: ViewerSettings, lows: np.ndarray, highs: np.ndarray) -> None:
    """Autoscale: remove each channel's midpoint and space channels by their typical span."""
    lo = np.fmin.reduce(lows, axis=1)  # a NaN bucket (no finite sample) is a gap, not a value
    hi = np.fmax.reduce(highs, axis=1)
    settings.centers = ((lo + hi) / 2).astype(np.float32)
    spans = hi - lo
    finite = spans[np.isfinite(spans)]
    target = float(np.percentile(finite, 90)) * 1.1 if finite.size else 1.0
    if not target > 0:
        target = 1.0
    old = settings.spacing
    # Grow at once (no overlap), shrink slowly (no flicker).
    settings.spacing = target if target > old or old <= 0 else 0.95 * old + 0.05 * target


def _channel_picker(settings: ViewerSettings, names: tuple[str, ...], count: int) -> None:
    shown = settings.visible(count)
    if imgui.button(f"Channels ({len(shown)}/{count})"):
        settings.channel_text = _ranges_text(shown)
        imgui.open_popup("channel picker")
    if not imgui.begin_popup("channel picker"):
        return
    if imgui.button("All"):
        settings.channels = list(range(count))
    imgui.same_line()
    if imgui.button("None"):
        settings.channels = []
    imgui.same_line()
    if imgui.button("First 8"):
        settings.channels = list(range(min(8, count)))
    imgui.set_next_item_width(imgui.get_font_size() * 12)
    entered, settings.channel_text = imgui.input_text(
        "##channels", settings.channel_text, imgui.InputTextFlags_.enter_returns_true)
    imgui.same_line()
    if imgui.button("Apply") or entered:
        try:
            settings.channels = parse_channels(settings.channel_text, count)
            settings.channel_error = ""
        except ValueError as e:
            settings.channel_error = str(e)
    _tooltip("one-based channels, e.g. 1-8, 12, 20-")
    if settings.channel_error:
        imgui.text_colored(RED, settings.channel_error)
    chosen = set(settings.visible(count))
    if imgui.begin_child("list", (imgui.get_font_size() * 16, imgui.get_font_size() * 14)):
        clipper = imgui.ListClipper()
        clipper.begin(count)
        while clipper.step():
            for c in range(clipper.display_start, clipper.display_end):
                changed, on = imgui.checkbox(f"{c + 1}: {names[c]}##{c}", c in chosen)
                if changed:
                    chosen = chosen | {c} if on else chosen - {c}
                    settings.channels = sorted(chosen)
    imgui.end_child()
    imgui.end_popup()


def _ranges_text(channels: list[int]) -> str:
    parts, start, prev = [], None, None
    for c in channels:
        if start is None:
            start = prev = c
        elif c == prev + 1:
            prev = c
        else:
            parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
            start = prev = c
    if start is not None:
        parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
    return ", ".join(parts)


def signal_viewer(ctx: Any, stream_name: str) -> None:
    """Min/max bands of the chosen channels of one stream over a scrolling time window."""
    stream = ctx.streams.get(stream_name)
    if stream is None:
        imgui.text_disabled(f"Stream {stream_name!r} is gone.")
        return
    info = stream.info
    if info is None:
        imgui.text_disabled(f"Waiting for {stream_name} to connect...")
        return
    settings = gui_state(ctx).viewer(stream_name)
    buffer_s = stream.buffer_ms / 1000.0

    _channel_picker(settings, info.channel_names, info.channel_count)
    imgui.same_line()
    imgui.set_next_item_width(imgui.get_font_size() * 9)
    window_s = settings.window_s if settings.window_s is not None else buffer_s
    changed, window_s = imgui.slider_float("window", window_s, min(0.1, buffer_s), buffer_s,
                                           "%.1f s", imgui.SliderFlags_.logarithmic)
    if changed:
        settings.window_s = window_s
    imgui.same_line()
    _, settings.autoscale = imgui.checkbox("autoscale", settings.autoscale)
    imgui.same_line()
    _, settings.stacked = imgui.checkbox("stack", settings.stacked)
    imgui.same_line()
    _, settings.band = imgui.checkbox("band", settings.band)
    _tooltip("shade between each bucket's min and max (off: the two edges as lines)")

    channels = settings.visible(info.channel_count)
    if not channels:
        imgui.text_disabled("No channels selected: pick some with the Channels button.")
        return
    got = viewer_data(stream, settings, channels)
    if got is None:
        imgui.text_disabled("No samples yet.")
        return
    times, lows, highs = got
    newest = times[-1]
    start = int(np.searchsorted(times, newest - window_s, side="left"))
    times, lows, highs = times[start:], lows[:, start:], highs[:, start:]
    per_channel = points_per_channel(len(channels), imgui.get_content_region_avail())
    times, lows, highs = fold_buckets(times, lows, highs, per_channel)
    if times.size == 0:
        imgui.text_disabled("No samples in the window.")
        return
    x = (times - newest).astype(np.float32)
    if settings.autoscale or settings.centers is None or len(settings.centers) != len(channels):
        _update_scale(settings, lows, highs)
    n = len(channels)
    if settings.stacked:
        offsets = (-settings.spacing * np.arange(n, dtype=np.float32)) - settings.centers
        lows = lows + offsets[:, None]
        highs = highs + offsets[:, None]
    _draw_plot(f"##{stream_name}", settings, info.channel_names, channels, x, lows, highs,
               window_s)


def points_per_channel(channels: int, area) -> int:
    """Buckets worth drawing per channel in a plot of `area` (x, y) pixels.

    At most one per pixel column, at most POINT_BUDGET over all channels, and no more than
    the plot has pixels to show (a channel one pixel tall cannot show 600 points of detail).
    """
    width, height = max(int(area.x), 1), max(int(area.y), 1)
    budget = min(POINT_BUDGET, width * height // PIXELS_PER_POINT)
    return max(MIN_POINTS, min(width, budget // channels))


def fold_buckets(times: np.ndarray, lows: np.ndarray, highs: np.ndarray, limit: int):
    """Merge neighbouring buckets (min of mins, max of maxs) until at most `limit` remain."""
    k = times.size
    if k <= limit:
        return times, lows, highs
    f = -(-k // limit)
    drop = k % f  # the oldest few, so the newest bucket stays whole
    # Element-wise over f strided views: much faster than reducing a short trailing axis.
    folded_lows = lows[:, drop::f].copy()
    folded_highs = highs[:, drop::f].copy()
    for j in range(1, f):
        np.fmin(folded_lows, lows[:, drop + j :: f], out=folded_lows)  # NaN buckets are gaps
        np.fmax(folded_highs, highs[:, drop + j :: f], out=folded_highs)
    return times[drop + f - 1 :: f], folded_lows, folded_highs


def _at_least(lows: np.ndarray, highs: np.ndarray, height: float):
    short = (highs - lows) < height
    if not short.any():
        return lows, highs
    middle = (lows + highs) / 2
    return (np.where(short, middle - height / 2, lows),
            np.where(short, middle + height / 2, highs))


def _draw_plot(plot_id: str, settings: ViewerSettings, names, channels: list[int],
               x: np.ndarray, lows: np.ndarray, highs: np.ndarray, window_s: float) -> None:
    n = len(channels)
    if settings.stacked:
        y_range = settings.spacing * n
    else:
        y_range = float(np.nanmax(highs) - np.nanmin(lows)) if highs.size else 1.0
    pixel_height = y_range / max(imgui.get_content_region_avail().y - 40, 20)
    plot_flags = implot.Flags_.no_mouse_text
    if settings.stacked or n > 16:
        plot_flags |= implot.Flags_.no_legend
    if not implot.begin_plot(plot_id, (-1, -1), plot_flags):
        return
    y_flags = implot.AxisFlags_.none
    if settings.autoscale and not settings.stacked:
        y_flags |= implot.AxisFlags_.auto_fit
    implot.setup_axes("seconds", "", implot.AxisFlags_.none, y_flags)
    implot.setup_axis_limits(implot.ImAxis_.x1, -window_s, 0.0, implot.Cond_.always)
    if settings.stacked:
        spacing = settings.spacing
        cond = implot.Cond_.always if settings.autoscale else implot.Cond_.once
        implot.setup_axis_limits(implot.ImAxis_.y1, -spacing * (n - 0.4), spacing * 0.6, cond)
        step = -(-n // MAX_CHANNEL_LABELS)
        labels = [names[c] if (n - 1 - i) % step == 0 else ""
                  for i, c in enumerate(reversed(channels))]
        implot.setup_axis_ticks(implot.ImAxis_.y1, -spacing * (n - 1), 0.0, n, labels)
    # A band needs height: buckets of single samples (min == max) draw as a line instead,
    # and bands thinner than a pixel are widened to one so quiet channels do not break up.
    flat = bool(np.array_equal(lows, highs))
    if settings.band and not flat:
        lows, highs = _at_least(lows, highs, pixel_height)
    band = implot.Spec(fill_alpha=0.85)
    for i, c in enumerate(channels):
        label = f"{names[c]}##{c}"
        if settings.band and not flat:
            implot.plot_shaded(label, x, lows[i], highs[i], band)
        else:
            implot.plot_line(label, x, lows[i])
            if not flat:
                implot.plot_line(label, x, highs[i])
    implot.end_plot()


# --- recording -------------------------------------------------------------------------------
def _stop_recording_refusal(ctx: Any, saving: bool) -> str | None:
    if saving:
        return "saving the recording..."
    if ctx.recording is None:
        return ctx.machine.check(Action.STOP_RECORDING) or "not recording"
    return None


def recording_panel(ctx: Any) -> None:
    """Record/Stop, one button per class label, elapsed time and where the session goes."""
    app = ctx.app
    state = gui_state(ctx)
    saving = state.tasks.busy("stop-recording")
    recording = ctx.recording
    if recording is None and not saving:
        imgui.set_next_item_width(imgui.get_font_size() * 10)
        _, state.slug = imgui.input_text_with_hint("##slug", "session name", state.slug)
        _tooltip("optional; becomes part of the session's folder name (e.g. s01)")
        imgui.same_line()
        if refusable_button("Record", app.recording_refusal()):
            try:
                app.start_recording(slug=state.slug.strip())
            except Exception as e:  # noqa: BLE001 - refusals and store errors are shown
                ctx.log.error("recording", f"could not start recording: {e}")
                state.messages["recording"] = str(e)
    else:
        if refusable_button("Stop", _stop_recording_refusal(ctx, saving)):
            state.tasks.start("stop-recording", app.stop_recording, ctx.log, "recording")
        imgui.same_line()
        if saving:
            imgui.text_colored(ORANGE, "saving...")
        elif ctx.recording_started is not None:
            imgui.text_colored(RED, "REC")
            imgui.same_line()
            imgui.text(_duration_text(time.monotonic() - ctx.recording_started))

    names = tuple(getattr(app, "class_names", ()))
    if names:
        imgui.separator_text("Cue a class")
        current = _current_label(ctx)
        refusal = None
        if saving:
            refusal = "saving the recording..."
        elif recording is None:
            refusal = "labels are recorded with a session: press Record first"
        for i, name in enumerate(names):
            if i:
                imgui.same_line()
            active = current == i and recording is not None
            if active:
                imgui.push_style_color(imgui.Col_.button, (0.75, 0.3, 0.3, 1.0))
            clicked = refusable_button(name, refusal)
            if active:
                imgui.pop_style_color()
            if clicked:
                try:
                    app.mark(name)
                except Exception as e:  # noqa: BLE001
                    ctx.log.error("recording", f"could not mark {name!r}: {e}")
        if recording is not None and ctx.labels is not None:
            counts = ctx.labels.counts(app.clock.now())
            imgui.text_disabled("trials: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    imgui.separator()
    if recording is not None:
        imgui.text("Recording to")
        imgui.text_wrapped(str(recording.location))
    summary = ctx.last_summary
    if summary is not None:
        imgui.text("Last session")
        imgui.text_wrapped(str(summary.location))
        samples = ", ".join(f"{k}: {v}" for k, v in summary.samples.items())
        imgui.text_disabled(f"{summary.labels} labels; samples {samples}")
        if summary.error:
            imgui.text_colored(RED, "Problem:")
            imgui.same_line()
            imgui.text_wrapped(summary.error)
    message = state.tasks.errors.get("stop-recording") or state.messages.get("recording")
    if message and ctx.recording is None:
        imgui.text_colored(RED, message)


def _current_label(ctx: Any) -> int | None:
    labels = ctx.labels
    if labels is None:
        return None
    events = labels.events
    return events[-1].class_index if events else None


# --- pipelines -------------------------------------------------------------------------------
def _train_refusal(ctx: Any, preparing: bool, target: str | None) -> str | None:
    reason = ctx.machine.check(Action.START_TRAINING)
    if reason:
        return reason
    if preparing:
        return "preparing the training data..."
    if getattr(ctx.app, "store", None) is None:
        return "no store configured: training reads the last recording back from the store"
    if target is None and not getattr(ctx.app, "class_names", ()):
        return "no classes to learn: give App(class_names=...) or pick a target stream"
    if ctx.last_summary is None:
        what = "labelled trials" if target is None else f"{target} with the inputs"
        return f"no recording yet: record {what}, press Stop, then Train"
    return None


def _train_from_last_recording(ctx: Any, pipeline: Any, target: str | None) -> None:
    session = ctx.app.store.read(ctx.last_summary.location)
    data = pipeline.training_data(session) if target is None else \
        pipeline.training_data(session, target=target)
    pipeline.start_training(data)


def _target_streams(ctx: Any, pipeline: Any) -> list[str]:
    """Streams a pipeline could learn to predict (regression): those it does not read."""
    inputs = getattr(pipeline, "stream_names", None)
    if not inputs:
        return []
    return [name for name in ctx.streams if name not in inputs]


def _training_target(ctx: Any, state: Any, pipeline: Any) -> str | None:
    """A combo choosing what Train learns: the cued classes, or a stream's values."""
    key = pipeline.name
    candidates = _target_streams(ctx, pipeline)
    if key not in state.train_targets:
        state.train_targets[key] = getattr(pipeline, "training_target", None)
    target = state.train_targets[key]
    if not candidates:
        return target
    choices = [None, *candidates]
    labels = ["cued classes", *(f"stream {name} (regression)" for name in candidates)]
    index = choices.index(target) if target in choices else 0
    imgui.set_next_item_width(imgui.get_font_size() * 14)
    changed, index = imgui.combo("learn", index, labels)
    if changed:
        state.train_targets[key] = choices[index]
    return choices[index]


def _default_model_path(ctx: Any, pipeline: Any) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(ctx.app.name))
    suffix = "" if pipeline.name == "pipeline" else f"-{pipeline.name}"
    return f"{safe}{suffix}.model"


def pipeline_panel(ctx: Any) -> None:
    """Per pipeline: Train (progress, Cancel), Predict on/off, Save and Load the model."""
    if not ctx.pipelines:
        imgui.text_disabled("No pipeline: create one with Pipeline(app, ...).")
        return
    state = gui_state(ctx)
    for pipeline in list(ctx.pipelines):
        imgui.push_id(pipeline.name)
        try:
            if len(ctx.pipelines) > 1:
                imgui.separator_text(pipeline.name)
            _one_pipeline(ctx, state, pipeline)
        finally:
            imgui.pop_id()


def _one_pipeline(ctx: Any, state: Any, pipeline: Any) -> None:
    key = pipeline.name
    preparing = state.tasks.busy(f"train-{key}")
    training = ctx.state is State.TRAINING and not pipeline.wait_training(0)
    target = _training_target(ctx, state, pipeline)
    if refusable_button("Train", _train_refusal(ctx, preparing, target)):
        state.tasks.start(f"train-{key}",
                          lambda: _train_from_last_recording(ctx, pipeline, target), ctx.log, key)
    _tooltip(None if preparing or ctx.last_summary is None
             else f"train on {ctx.last_summary.location}")
    imgui.same_line()
    if refusable_button("Cancel", None if training else
                        "another pipeline is training" if ctx.state is State.TRAINING else
                        "nothing is training"):
        pipeline.cancel_training()
    progress = pipeline.progress
    if training and progress is not None:
        overlay = progress.message or "training"
        if progress.epochs:
            overlay = f"epoch {progress.epoch}/{progress.epochs}"
            if np.isfinite(progress.loss):
                overlay += f"  loss {progress.loss:.3g}"
            if np.isfinite(progress.score):
                overlay += f"  score {progress.score:.2f}"
        imgui.progress_bar(progress.fraction, (-1, 0), overlay)
    elif preparing:
        imgui.progress_bar(0.0, (-1, 0), "preparing training data...")
    elif progress is not None and progress.message:
        color = RED if progress.message.startswith("failed") else GREY
        imgui.text_colored(color, progress.message)
    error = state.tasks.errors.get(f"train-{key}")
    if error and not training:
        imgui.text_colored(RED, "Training did not start:")
        imgui.text_wrapped(error)

    imgui.separator_text("Predict")
    predicting = ctx.state is State.PREDICTING
    if refusable_button("Start predicting", pipeline.refusal()):
        try:
            pipeline.start_predicting()
        except Exception as e:  # noqa: BLE001
            ctx.log.error(key, f"could not start predicting: {e}")
    imgui.same_line()
    if refusable_button("Stop predicting",
                        None if predicting else ctx.machine.check(Action.STOP_PREDICTING)):
        try:
            pipeline.stop_predicting()
        except Exception as e:  # noqa: BLE001
            ctx.log.error(key, f"could not stop predicting: {e}")
    imgui.text_disabled(f"{pipeline.predictions.count} predictions, "
                        f"{pipeline.predictions.rate():.1f}/s of {pipeline.predict_hz:g}/s, "
                        f"{pipeline.errors} errors")
    _loop_health("predict", getattr(pipeline, "health", None))
    for out in getattr(pipeline, "outputs", ()):
        _loop_health(f"output {out.name}", getattr(out, "health", None),
                     f"{getattr(out, 'sent', 0)} sent at {getattr(out, 'hz', 0):g}/s")

    imgui.separator_text("Model")
    model = pipeline.model
    imgui.text(f"model: {type(model).__name__ if model is not None else 'none yet'}")
    path = state.model_paths.setdefault(key, _default_model_path(ctx, pipeline))
    imgui.set_next_item_width(-imgui.get_font_size() * 9)
    _, path = imgui.input_text("##model path", path)
    state.model_paths[key] = path
    busy = state.tasks.busy(f"model-{key}")
    save_refusal = ("saving or loading..." if busy else
                    "no model to save: train or load one first" if model is None else
                    "give a file path" if not path.strip() else None)
    imgui.same_line()
    exists = bool(path.strip()) and os.path.exists(path.strip())
    if refusable_button("Overwrite" if exists else "Save", save_refusal):
        state.tasks.start(f"model-{key}", lambda: _save(ctx, pipeline, path.strip()), ctx.log, key)
    _tooltip(f"replace {path.strip()}" if exists else None)
    imgui.same_line()
    load_refusal = ("saving or loading..." if busy else
                    "wait for training to finish" if training else
                    "give a file path" if not path.strip() else
                    f"no file at {path.strip()}" if not exists else None)
    if refusable_button("Load", load_refusal):
        state.tasks.start(f"model-{key}", lambda: pipeline.load_model(path.strip()), ctx.log, key)
    error = state.tasks.errors.get(f"model-{key}")
    if error:
        imgui.text_colored(RED, error)


def _loop_health(label: str, health: Any, fine: str | None = None) -> None:
    """A paced loop's slow parts (late and skipped ticks, overruns or blocked sends), in red."""
    slow = health.summary() if health is not None else ""
    if slow:
        imgui.text_colored(RED, f"{label}: {slow}")
        _tooltip(f"{label}: {health.late} ticks late, {health.skipped} deadlines skipped; "
                 f"slowest {health.max_duration_s * 1e3:.0f} ms for a "
                 f"{health.period_s * 1e3:.0f} ms period (see the log)")
    elif fine:
        imgui.text_disabled(f"{label}: {fine}")


def _save(ctx: Any, pipeline: Any, path: str) -> None:
    pipeline.save_model(path)
    ctx.log.info(pipeline.name, f"saved the model to {path}")


# --- predictions -----------------------------------------------------------------------------
def _looks_like_probabilities(values: np.ndarray) -> bool:
    return (values.size > 1 and bool(np.all((values >= 0) & (values <= 1)))
            and abs(float(values.sum()) - 1.0) < 1e-3)


def predictions_panel(ctx: Any) -> None:
    """Class probabilities as bars (the winner highlighted), or regression values over time."""
    if not ctx.pipelines:
        imgui.text_disabled("No pipeline.")
        return
    for pipeline in list(ctx.pipelines):
        imgui.push_id(pipeline.name)
        try:
            if len(ctx.pipelines) > 1:
                imgui.separator_text(pipeline.name)
            _one_prediction(ctx, pipeline)
        finally:
            imgui.pop_id()


def _one_prediction(ctx: Any, pipeline: Any) -> None:
    latest = pipeline.predictions.latest
    if latest is None:
        hint = pipeline.refusal() if ctx.state is not State.PREDICTING else "waiting for windows"
        imgui.push_style_color(imgui.Col_.text, imgui.get_style_color_vec4(imgui.Col_.text_disabled))
        imgui.text_wrapped(f"No predictions yet ({hint}).")
        imgui.pop_style_color()
        return
    names = list(latest.values)
    try:
        values = np.array([float(latest.values[n]) for n in names])
    except (TypeError, ValueError):
        imgui.text_wrapped(", ".join(f"{k}: {v}" for k, v in latest.values.items()))
        return
    if _looks_like_probabilities(values):
        best = int(np.argmax(values))
        for i, (name, value) in enumerate(zip(names, values)):
            if i == best:
                imgui.push_style_color(imgui.Col_.plot_histogram, GREEN)
            imgui.progress_bar(float(value), (-1, 0), f"{name}  {value:.2f}")
            if i == best:
                imgui.pop_style_color()
    else:
        recent = pipeline.predictions.recent(500)
        t = np.array([p.input_time for p in recent])
        x = (t - t[-1]).astype(np.float64)
        if implot.begin_plot("##values", (-1, imgui.get_font_size() * 14)):
            implot.setup_axes("seconds", "", implot.AxisFlags_.auto_fit,
                              implot.AxisFlags_.auto_fit)
            for name in names:
                try:
                    y = np.array([float(p.values.get(name, np.nan)) for p in recent])
                except (TypeError, ValueError):
                    continue
                implot.plot_line(name, x, y)
            implot.end_plot()
        imgui.text(", ".join(f"{n} {v:.3g}" for n, v in zip(names, values)))
    log = pipeline.predictions
    age = "stale" if latest.stale else "fresh"
    imgui.text_disabled(f"tick {latest.tick}, {latest.compute_s * 1000:.1f} ms, {age}; "
                        f"{log.stale} stale, {getattr(pipeline, 'late_ticks', 0)} late")


# --- bridges ---------------------------------------------------------------------------------
def bridges_panel(ctx: Any) -> None:
    """Each bridge: state, exit code and its last stderr lines, with Start and Stop."""
    bridges = list(getattr(ctx, "bridges", ()))
    if not bridges:
        imgui.text_disabled("No bridges.")
        return
    tasks = gui_state(ctx).tasks
    for bridge in bridges:
        name = str(bridge.name)
        imgui.push_id(name)
        try:
            status = bridge.status
            state = str(getattr(status, "state", "?"))
            imgui.text(name)
            imgui.same_line()
            imgui.text_colored(BRIDGE_COLORS.get(state, GREY), state)
            code = getattr(status, "exit_code", None)
            if code is not None and state != "running":
                imgui.same_line()
                imgui.text(f"exit {code}")
            detail = getattr(status, "detail", "")
            if detail:
                imgui.text_wrapped(detail)
            busy = tasks.busy(f"bridge-{name}")
            imgui.same_line()
            if refusable_button("Start", "busy..." if busy else
                                "already running" if state == "running" else None):
                tasks.start(f"bridge-{name}", bridge.start, ctx.log, f"bridge {name}")
            imgui.same_line()
            if refusable_button("Stop", "busy..." if busy else
                                None if state == "running" else "not running"):
                tasks.start(f"bridge-{name}", bridge.stop, ctx.log, f"bridge {name}")
            tail = tuple(getattr(status, "stderr_tail", ()) or ())
            if tail and imgui.tree_node(f"stderr ({len(tail)} lines)"):
                imgui.text_wrapped("\n".join(tail))
                imgui.tree_pop()
            imgui.separator()
        finally:
            imgui.pop_id()


# --- log -------------------------------------------------------------------------------------
_LEVELS = ("all", "warnings", "errors")


def log_panel(ctx: Any) -> None:
    """The app log, newest last, filtered by level; follows new entries unless scrolled up."""
    state = gui_state(ctx)
    imgui.set_next_item_width(imgui.get_font_size() * 8)
    _, state.log_level = imgui.combo("##level", state.log_level, list(_LEVELS))
    imgui.same_line()
    _, state.log_follow = imgui.checkbox("follow", state.log_follow)
    imgui.same_line()
    if imgui.button("Clear"):
        state.log_hidden_before = time.time()
    entries = [e for e in ctx.log.entries() if e.time >= state.log_hidden_before
               and (state.log_level == 0 or e.level == "error"
                    or (state.log_level == 1 and e.level == "warning"))]
    if imgui.begin_child("entries", (0, 0), imgui.ChildFlags_.borders):
        clipper = imgui.ListClipper()
        clipper.begin(len(entries))
        while clipper.step():
            for entry in entries[clipper.display_start:clipper.display_end]:
                imgui.text_disabled(time.strftime("%H:%M:%S", time.localtime(entry.time)))
                imgui.same_line()
                imgui.text_colored(LEVEL_COLORS.get(entry.level, GREY), entry.level)
                imgui.same_line()
                imgui.text(f"{entry.source}: {entry.message}")
        if state.log_follow and imgui.get_scroll_y() >= imgui.get_scroll_max_y() - 1:
            imgui.set_scroll_here_y(1.0)
    imgui.end_child()


# --- status bar ------------------------------------------------------------------------------
def status_bar(ctx: Any) -> None:
    """The experiment state, the app's status line and frames per second."""
    state = ctx.state
    imgui.text_colored(STATE_COLORS.get(state, GREY), state.value.upper())
    status = ctx.status or ""
    if status.startswith(state.value):  # the status line leads with the state, shown above
        status = status[len(state.value):].lstrip(" |")
    imgui.same_line()
    imgui.text(status)
    fps = gui_state(ctx).fps
    if fps:
        imgui.same_line()
        imgui.text_disabled(f"| {fps:.0f} fps")
