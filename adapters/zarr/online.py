"""Reading an online session (recorded while predicting): its prediction and output streams
scored against the cues with `hexloop.domain.online`, and the lines `hexloop inspect` prints.

An online session declares a stream of type "Predictions" per pipeline and one of type "Output"
per Output, and describes the model in `extras["online"]` (application/online.py writes them).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from hexloop.domain.labels import LabelTrack
from hexloop.domain.online import (
    DEFAULT_HOLD_S,
    NotClassScores,
    OnlineScore,
    decisions,
    score_online,
)
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo

from .layout import SessionFormatError


class _Session(Protocol):
    """What scoring reads of a ZarrSession (a Protocol: reading.py imports this module)."""

    @property
    def path(self) -> str: ...

    @property
    def streams(self) -> tuple[StreamInfo, ...]: ...

    @property
    def meta(self) -> SessionMeta: ...

    @property
    def labels(self) -> LabelTrack: ...

    def info(self, stream: str) -> StreamInfo: ...

    def data(self, stream: str) -> tuple[np.ndarray, np.ndarray]: ...

PREDICTIONS_TYPE = "Predictions"
OUTPUT_TYPE = "Output"


def online_streams(session: _Session, kind: str = PREDICTIONS_TYPE) -> list[str]:
    """The names of the session's streams of type `kind` ("Predictions" or "Output")."""
    return [info.name for info in session.streams if info.type == kind]


def online_score(session: _Session, stream: str | None = None, hold_s: float = DEFAULT_HOLD_S,
                 settle_s: float = 0.0) -> OnlineScore:
    """Online accuracy (overall, per class) and decision latency after each cue of a prediction
    stream (the first one by default) or an output stream (what an Output sent)."""
    if stream is None:
        found = online_streams(session)
        if not found:
            raise LookupError(
                f"{session.path} holds no predictions: it was not recorded while predicting "
                "(record an online session with start_predicting(record=True), or press Record "
                "while predicting)")
        stream = found[0]
    data, ts = session.data(stream)
    decided = decisions(data, session.info(stream).channel_names, session.meta.class_names)
    return score_online(ts, decided, session.labels, hold_s, settle_s)


def _model_line(entry: dict) -> str:
    model: dict[str, Any] = entry["model"] if isinstance(entry.get("model"), dict) else {}
    kind = str(model.get("type") or "?").rsplit(".", 1)[-1]
    if model.get("sha256"):
        where = f"{model.get('file')} (sha256 {str(model['sha256'])[:16]}...)"
    else:
        where = "not saved to a file"
    report: dict[str, Any] = model["report"] if isinstance(model.get("report"), dict) else {}
    summary = f"; trained: {report['summary']}" if report.get("summary") else ""
    return f"  model {kind}, {where}{summary}"


def describe_online(session: _Session) -> list[str]:
    """The `online` section of `hexloop inspect`: per prediction and output stream, the online
    accuracy and decision latency; the model used. Empty for a session recorded offline."""
    predictions = online_streams(session)
    outputs = online_streams(session, OUTPUT_TYPE)
    if not predictions and not outputs:
        return []
    lines = ["online   recorded while predicting; scored against the cues"]
    extras = session.meta.extras.get("online")
    entries = extras.get("pipelines", []) if isinstance(extras, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            lines.append(_model_line(entry))
    for name in predictions + outputs:
        try:
            score = online_score(session, name)
        except NotClassScores:
            lines.append(f"  {name}: not class scores (a regression model's values): no accuracy")
            continue
        except (SessionFormatError, ValueError) as e:
            lines.append(f"  {name}: cannot be scored: {e}")
            continue
        body = score.lines()
        lines.append(f"  {name}: {body[0]}")
        lines += [f"  {line}" for line in body[1:]]
    return lines
