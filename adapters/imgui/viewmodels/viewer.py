"""The signal viewer's view-model: which channels and seconds are shown, and the arrays a frame
draws, as traces or as an RMS heat map. Pure numpy; no ImGui.

Traces. The acquisition thread keeps a min/max display snapshot (a few hundred buckets per
channel, however fast the stream). A frame cuts it to the time window and merges neighbouring
buckets down to what the plot has pixels for (`points_per_channel`, `fold_buckets`: at most one
per pixel column, and one per PIXELS_PER_POINT pixels of plot area, since a channel row two
pixels tall shows no more). Each bucket is one vertical stroke from its min to its max, as wide
as the bucket, so the strokes tile into the band: one quad per bucket, half what joining the
buckets with lines costs, a quarter of ImPlot's shaded bands at the old budget. With "band" off
the min and the max are drawn as two lines (one when every bucket holds a single sample).
Under software GL the vertices are what a frame pays for, so the budget bounds them; beyond
LEGEND_CHANNELS channels the traces go out in COLOUR_GROUPS plot items (neighbouring channels
in different colours), not one item per channel.

Heat map. For hundreds of channels (high-density grids) one cell per channel, laid out as the
grid, coloured by the RMS of the newest window: one small plot item per frame.

Signal. A stream with a conditioning chain offers "conditioned" (what the ring buffer, display
and predict see; the default) and "raw" (the samples as recorded, from the stream's raw min/max
view); one without offers only "acquired". Both views follow the choice and say in their title
which one is shown. The raw heat map is each channel's peak-to-peak range over the newest window
(the raw view keeps min/max buckets, not samples), labelled so on its colour scale.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from hexloop.domain import features

from .signals import (  # noqa: F401 - the signal choice belongs to the viewer: named here too
    ACQUIRED_SIGNALS,
    CONDITIONED_SIGNALS,
    SIGNALS,
    choose_signal,
    shown_signal,
    shows_raw,
    signal_choices,
    signal_label,
)

#: Tick labels on a stacked viewer's channel axis stop at this many (every k-th name beyond).
MAX_CHANNEL_LABELS = 48
#: Buckets one viewer draws per frame across all its channels, and the least per channel:
#: neighbouring min/max buckets are merged beyond that, so 400 channels cost what 100 do.
POINT_BUDGET = 24_000
MIN_POINTS = 32
#: One bucket per this many pixels of plot area at most.
PIXELS_PER_POINT = 32
#: Up to this many channels each trace is its own plot item (own colour, legend entry)...
LEGEND_CHANNELS = 16
#: ...beyond, channels share this many plot items, neighbours in different colours.
COLOUR_GROUPS = 4
VIEWS = ("traces", "heatmap")
VIEW_LABELS = ("traces", "RMS heat map")


@attrs.frozen
class ViewerControls:
    """The controls above a viewer's plot."""

    channel_count: int
    shown: int  # channels selected
    window_s: float  # seconds on screen
    window_range: tuple[float, float]  # the slider's ends
    view: int  # index into VIEWS
    signals: tuple[str, ...] = ACQUIRED_SIGNALS  # a choice is drawn only when there are several


@attrs.frozen
class Trace:
    """One plot item: `ys` over `xs` (NaN breaks the line); `color` indexes the colormap.
    `strokes`: the points pair up into separate segments of `weight` pixels."""

    label: str
    xs: np.ndarray
    ys: np.ndarray
    color: int
    strokes: bool = False
    weight: float = 1.0


@attrs.frozen
class TraceFrame:
    traces: tuple[Trace, ...]
    window_s: float
    stacked: bool
    y_limits: tuple[float, float] | None  # stacked: the channel rows
    y_fixed: bool  # y_limits each frame (autoscale) or only at first
    y_autofit: bool  # overlaid with autoscale
    ticks: tuple[np.ndarray, tuple[str, ...]] | None  # stacked: a name per row
    legend: bool
    label: str = ""  # the plot's title: which signal it shows ("" without a choice)


@attrs.frozen
class HeatmapFrame:
    """RMS per channel as a (rows, columns) grid, row 0 on top; NaN: no channel or not shown."""

    values: np.ndarray
    scale: tuple[float, float]
    names: tuple[str, ...]  # channel name per cell, row-major ("" past the last channel)
    window_ms: float
    measure: str = "RMS"  # what colours a cell (the raw view: "peak-to-peak")
    label: str = ""  # the plot's title: which signal it shows ("" without a choice)


def viewer_message(stream: Any, stream_name: str) -> str | None:
    """Why there is nothing to draw yet, or None."""
    if stream is None:
        return f"Stream {stream_name!r} is gone."
    if stream.info is None:
        return f"Waiting for {stream_name} to connect..."
    return None


def viewer_controls(settings: Any, channel_count: int, buffer_s: float,
                    signals: tuple[str, ...] = ACQUIRED_SIGNALS) -> ViewerControls:
    """The controls' values; `signals`: the stream's signal_choices."""
    window_s = settings.window_s if settings.window_s is not None else buffer_s
    view = VIEWS.index(settings.view) if settings.view in VIEWS else 0
    return ViewerControls(channel_count, len(settings.visible(channel_count)), window_s,
                          (min(0.1, buffer_s), buffer_s), view, signals)


def ranges_text(channels: list[int]) -> str:
    """One-based "1-8, 12" text of zero-based channel indices."""
    parts: list[str] = []
    start: int | None = None
    prev = 0  # read only once start is set
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


# --- traces -----------------------------------------------------------------------------------
def viewer_data(stream: Any, settings: Any, channels: list[int]):
    """(times (k,), mins (c,k), maxs (c,k)) for the viewer, or None before any data.

    "display" reads the acquisition thread's min/max snapshot (a few hundred buckets, however
    fast the stream); "raw" copies the whole ring buffer, the slow path benchmarks compare with.
    The raw signal of a conditioned stream (settings.signal) is its raw min/max view,
    `display(raw=True)`, whatever the source (the ring buffer holds conditioned samples).
    """
    raw = shows_raw(stream, settings)
    if settings.source == "raw" and not raw:
        buffer = stream.buffer
        if buffer is None or len(buffer) == 0:
            return None
        data, ts = buffer.window(len(buffer))
        rows = data[channels].astype(np.float32, copy=False)
        return ts, rows, rows
    every = stream.info is not None and len(channels) == stream.info.channel_count
    picked = None if every else channels
    snapshot = stream.display(picked, raw=True) if raw else stream.display(picked)
    if snapshot is None or snapshot.times.size == 0:
        return None
    return snapshot.times, snapshot.mins, snapshot.maxs


def points_per_channel(channels: int, area) -> int:
    """Buckets worth drawing per channel in a plot of `area` (x, y) pixels.

    At most one per pixel column, at most POINT_BUDGET over all channels, and no more than
    the plot has pixels to show (a channel one pixel tall cannot show 600 points of detail).
    """
    x, y = (area.x, area.y) if hasattr(area, "x") else area
    width, height = max(int(x), 1), max(int(y), 1)
    budget = min(POINT_BUDGET, width * height // PIXELS_PER_POINT)
    return max(MIN_POINTS, min(width, budget // max(channels, 1)))


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


def update_scale(settings: Any, lows: np.ndarray, highs: np.ndarray) -> None:
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


def cut_window(times, lows, highs, window_s: float, per_channel: int):
    """The buckets of the newest `window_s` seconds, merged down to `per_channel`."""
    start = int(np.searchsorted(times, times[-1] - window_s, side="left"))
    return fold_buckets(times[start:], lows[:, start:], highs[:, start:], per_channel)


def zigzag(x: np.ndarray, lows: np.ndarray, highs: np.ndarray):
    """(xs (2k,), ys (c, 2k)): each bucket's min then max at its time, joined bucket to bucket."""
    xs = np.repeat(x, 2)
    ys = np.empty((lows.shape[0], 2 * lows.shape[1]), np.float32)
    ys[:, 0::2] = lows
    ys[:, 1::2] = highs
    return xs, ys


def joined(xs: np.ndarray, rows: np.ndarray):
    """Rows (m, k) over one xs (k,) as one NaN-separated line: (xs (m*(k+1),), ys)."""
    m, k = rows.shape
    ys = np.full((m, k + 1), np.nan, np.float32)
    ys[:, :k] = rows
    line_x = np.full(k + 1, np.nan, np.float32)
    line_x[:k] = xs
    return np.tile(line_x, m), ys.ravel()


def traces(names, channels: list[int], x: np.ndarray, lows: np.ndarray, highs: np.ndarray,
           band: bool, width: float = 0.0) -> tuple[Trace, ...]:
    """The plot items for channels' buckets (already offset when stacked) in a plot `width`
    pixels wide (0: unknown; strokes one pixel wide)."""
    flat = bool(np.array_equal(lows, highs))
    spacing = width / max(x.size, 1)  # pixels between buckets
    strokes = band and not flat
    if strokes:
        xs, rows = zigzag(x, lows, highs)
        per_channel = [[row] for row in rows]
    else:  # the min and max edges as two lines (one when every bucket is a single sample)
        xs = x
        per_channel = [[lo] if flat else [lo, hi] for lo, hi in zip(lows, highs)]
    xs = xs.astype(np.float32, copy=False)
    weight = max(1.0, spacing) if strokes else 1.0
    n = len(channels)
    if n <= LEGEND_CHANNELS:
        return tuple(Trace(f"{names[c]}##{c}", xs, row.astype(np.float32, copy=False), i,
                           strokes, weight)
                     for i, c in enumerate(channels) for row in per_channel[i])
    out = []
    for g in range(min(COLOUR_GROUPS, n)):
        rows = np.array([row for i in range(g, n, COLOUR_GROUPS) for row in per_channel[i]])
        if strokes:  # separate segments already: no separator needed
            gx, gy = np.tile(xs, rows.shape[0]), rows.ravel()
        else:
            gx, gy = joined(xs, rows)
        out.append(Trace(f"##group{g}", gx, gy, g, strokes, weight))
    return tuple(out)


def trace_frame(settings: Any, names, channels: list[int], got, window_s: float,
                area, label: str = "") -> TraceFrame | str:
    """What a traces frame draws from viewer_data's (times, lows, highs) in a plot of `area`
    (x, y) pixels, or why nothing; `label`: the title (signal_label)."""
    times, lows, highs = got
    newest = times[-1]
    per_channel = points_per_channel(len(channels), area)
    times, lows, highs = cut_window(times, lows, highs, window_s, per_channel)
    if times.size == 0:
        return "No samples in the window."
    x = (times - newest).astype(np.float32)
    n = len(channels)
    if settings.autoscale or settings.centers is None or len(settings.centers) != n:
        update_scale(settings, lows, highs)
    y_limits = ticks = None
    if settings.stacked:
        offsets = (-settings.spacing * np.arange(n, dtype=np.float32)) - settings.centers
        lows = lows + offsets[:, None]
        highs = highs + offsets[:, None]
        spacing = settings.spacing
        y_limits = (-spacing * (n - 0.4), spacing * 0.6)
        step = -(-n // MAX_CHANNEL_LABELS)
        labels = tuple(names[c] if (n - 1 - i) % step == 0 else ""
                       for i, c in enumerate(reversed(channels)))
        ticks = (np.linspace(-spacing * (n - 1), 0.0, n), labels)
    return TraceFrame(
        traces=traces(names, channels, x, lows, highs, settings.band, _width(area)),
        window_s=window_s,
        stacked=settings.stacked,
        y_limits=y_limits,
        y_fixed=settings.autoscale,
        y_autofit=settings.autoscale and not settings.stacked,
        ticks=ticks,
        legend=not settings.stacked and n <= LEGEND_CHANNELS,
        label=label,
    )


def _width(area) -> float:
    """The plot's inner width: the area less the channel-name axis, roughly."""
    x = area.x if hasattr(area, "x") else area[0]
    return max(float(x) - 80.0, 1.0)


# --- heat map ---------------------------------------------------------------------------------
def grid_columns(channel_count: int, requested: int | None = None) -> int:
    """Columns of the heat map grid: `requested` if given, else about square, and a multiple of
    8 when the channels come in eights (electrode grids are 8 wide: 64 -> 8, 408 -> 24)."""
    if requested:
        return max(1, min(int(requested), channel_count))
    columns = math.ceil(math.sqrt(channel_count))
    if channel_count % 8 == 0 and channel_count >= 16:
        columns = 8 * math.ceil(columns / 8)
    return max(1, columns)


def rms_grid(values: np.ndarray, columns: int) -> np.ndarray:
    """Per-channel values laid out row-major on a (rows, columns) grid, NaN past the last."""
    rows = -(-values.size // columns)
    grid = np.full(rows * columns, np.nan)
    grid[:values.size] = values
    return grid.reshape(rows, columns)


def heatmap_scale(settings: Any, values: np.ndarray) -> tuple[float, float]:
    """(0, top): the top follows the loudest channel (grows at once, shrinks slowly) while
    autoscale is on, and freezes while it is off."""
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    old = settings.heat_scale
    if settings.autoscale or old <= 0:
        settings.heat_scale = top if top > old or old <= 0 else 0.9 * old + 0.1 * top
    return 0.0, settings.heat_scale if settings.heat_scale > 0 else 1.0


def heatmap_frame(settings: Any, names, channels: list[int], window: np.ndarray,
                  window_ms: float, label: str = "") -> HeatmapFrame | str:
    """The heat map of `window` (channels, samples), the stream's newest samples; channels not
    selected stay blank so every channel keeps its place on the grid."""
    if window.ndim != 2 or window.shape[1] == 0:
        return "No samples yet."
    rms = np.full(window.shape[0], np.nan)
    rms[channels] = features.rms(window[channels])
    return _grid_frame(settings, names, rms, window_ms, "RMS", label)


def range_heatmap_frame(settings: Any, names, channels: list[int], got, window_ms: float,
                        label: str = "") -> HeatmapFrame | str:
    """The heat map of each channel's peak-to-peak range over the newest `window_ms`, from
    viewer_data's min/max buckets `got` of `channels` (at least the newest bucket)."""
    if got is None or got[0].size == 0:
        return "No samples yet."
    times, lows, highs = got
    # a bucket's time is its newest sample's: one stamped at the window's start lies before it
    start = int(np.searchsorted(times, times[-1] - window_ms / 1000.0, side="right"))
    start = min(start, times.size - 1)
    spans = np.full(len(names), np.nan)
    spans[channels] = (np.fmax.reduce(highs[:, start:], axis=1)
                       - np.fmin.reduce(lows[:, start:], axis=1))  # NaN buckets are gaps
    return _grid_frame(settings, names, spans, window_ms, "peak-to-peak", label)


def heatmap_view(stream: Any, settings: Any, names, channels: list[int]) -> HeatmapFrame | str:
    """The heat map of the signal the viewer shows: the RMS of the ring buffer's newest window,
    or for the raw signal the peak-to-peak range of the raw view over as long."""
    label = signal_label(stream, settings)
    if shows_raw(stream, settings):
        return range_heatmap_frame(settings, names, channels,
                                   viewer_data(stream, settings, channels), stream.window_ms, label)
    window, _ = stream.get_window()
    return heatmap_frame(settings, names, channels, window, stream.window_ms, label)


def _grid_frame(settings: Any, names, values: np.ndarray, window_ms: float, measure: str,
                label: str) -> HeatmapFrame:
    """Per-channel `values` (NaN: not shown) on the electrode grid, with the colour scale."""
    count = values.size
    columns = grid_columns(count, settings.grid_columns)
    cells = rms_grid(values, columns)
    labels = tuple(names) + ("",) * (cells.size - count)
    return HeatmapFrame(cells, heatmap_scale(settings, values), labels, window_ms, measure,
                        label)
