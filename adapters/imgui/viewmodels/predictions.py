"""The Predictions panel's view-model: the newest prediction as class-probability bars (the
winner marked), or regression values over the recent predictions, and the tick's figures."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from hexloop.domain.state import State

#: Regression values are drawn over this many of the newest predictions.
RECENT = 500


@attrs.frozen
class Bar:
    label: str
    fraction: float
    best: bool


@attrs.frozen
class PredictionView:
    """Exactly one of `waiting`, `bars`, `series` or `raw` says what the prediction is."""

    name: str
    titled: bool
    waiting: str | None = None  # no prediction yet, and why
    bars: tuple[Bar, ...] = ()
    series: tuple[np.ndarray, dict[str, np.ndarray]] | None = None  # (x seconds, name -> y)
    values: str = ""  # the newest regression values
    raw: str | None = None  # values that are not numbers, as text
    footer: str = ""


def looks_like_probabilities(values: np.ndarray) -> bool:
    return (values.size > 1 and bool(np.all((values >= 0) & (values <= 1)))
            and abs(float(values.sum()) - 1.0) < 1e-3)


def _series(pipeline: Any, names: list[str]):
    recent = pipeline.predictions.recent(RECENT)
    t = np.array([p.input_time for p in recent])
    x = (t - t[-1]).astype(np.float64)
    lines = {}
    for name in names:
        try:
            lines[name] = np.array([float(p.values.get(name, np.nan)) for p in recent])
        except (TypeError, ValueError):
            continue
    return x, lines


def prediction_view(ctx: Any, pipeline: Any) -> PredictionView:
    name, titled = pipeline.name, len(ctx.pipelines) > 1
    latest = pipeline.predictions.latest
    if latest is None:
        reason = getattr(pipeline, "waiting_reason", None)  # why, in words (domain.state)
        if reason is not None:
            return PredictionView(name, titled, waiting=reason())
        hint = pipeline.refusal() if ctx.state is not State.PREDICTING else "waiting for windows"
        return PredictionView(name, titled, waiting=f"No predictions yet ({hint}).")
    names = list(latest.values)
    log = pipeline.predictions
    footer = (f"tick {latest.tick}, {latest.compute_s * 1000:.1f} ms, "
              f"{'stale' if latest.stale else 'fresh'}; "
              f"{log.stale} stale, {getattr(pipeline, 'late_ticks', 0)} late")
    try:
        values = np.array([float(latest.values[n]) for n in names])
    except (TypeError, ValueError):
        raw = ", ".join(f"{k}: {v}" for k, v in latest.values.items())
        return PredictionView(name, titled, raw=raw, footer=footer)
    if looks_like_probabilities(values):
        best = int(np.argmax(values))
        bars = tuple(Bar(f"{n}  {v:.2f}", float(v), i == best)
                     for i, (n, v) in enumerate(zip(names, values)))
        return PredictionView(name, titled, bars=bars, footer=footer)
    return PredictionView(name, titled, series=_series(pipeline, names),
                          values=", ".join(f"{n} {v:.3g}" for n, v in zip(names, values)),
                          footer=footer)


def prediction_views(ctx: Any) -> tuple[PredictionView, ...]:
    return tuple(prediction_view(ctx, p) for p in list(ctx.pipelines))
