"""What a protocol run did (`ProtocolResult`: sessions, trials, model, report, online score),
and the small helpers the runner and its phases share."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs


class PhaseAborted(Exception):
    """The phase was aborted (a) or the protocol ended (q, exit)."""


@attrs.define
class ProtocolResult:
    """What a protocol run did: sessions, trials, the model and its report, the online score."""

    calibrate: str | None = None  # session locations
    online: str | None = None
    trials: dict = attrs.field(factory=dict)  # phase -> trials cued (repeats included)
    repeated: dict = attrs.field(factory=dict)  # phase -> trials run again
    aborted: list = attrs.field(factory=list)  # phases aborted
    model: str | None = None
    report: Any = None  # the TrainingReport
    score: Any = None  # the OnlineScore of the online session
    completed: bool = False
    error: str | None = None

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("calibrate", "online", "trials", "repeated",
                                              "aborted", "model", "completed", "error")}
        out["report"] = self.report.to_dict() if hasattr(self.report, "to_dict") else None
        out["online_score"] = None if self.score is None else score_dict(self.score)
        return out

    def lines(self) -> list[str]:
        out = ["protocol summary"]
        for phase, n in self.trials.items():
            again = self.repeated.get(phase, 0)
            out.append(f"  {phase:<9} {n} trials" + (f" ({again} repeated)" if again else "")
                       + (" ABORTED" if phase in self.aborted else ""))
        if self.calibrate:
            out.append(f"  calibration session {self.calibrate}")
        if self.report is not None:
            out.append(f"  trained   {self.report.summary()}")
        if self.model:
            out.append(f"  model     {self.model}")
        if self.online:
            out.append(f"  online session {self.online}")
        if self.score is not None:
            out += [f"  online    {line}" for line in self.score.lines()]
        if self.error:
            out.append(f"  stopped   {self.error}")
        return out


def score_dict(score: Any) -> dict:
    """An OnlineScore for protocol.json: accuracy, chance, per class, latency after each cue
    (a ramp protocol's RampScore says its own)."""
    if hasattr(score, "to_dict"):
        return score.to_dict()
    return {"accuracy": score.accuracy, "chance": score.chance, "scored": score.scored,
            "per_class": dict(score.per_class), "missed": score.missed,
            "latencies": [{"time": c.time, "class": score.class_names[c.class_index],
                           "latency_s": c.latency_s} for c in score.latencies]}


def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "model"


def beside(location: str, filename: str) -> Path:
    """A folder named after the session, beside it, holding `filename`."""
    where = Path(location)
    stem = where.name.split(".")[0]
    return where.parent / f"{stem}-model" / filename


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value
