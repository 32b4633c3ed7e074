"""discontinuities.jsonl: where a stream's clock jumped while recording, one JSON object a line.

Each line is `{"stream": "emg", "sample": 5120, "before": 812.4, "after": 312.9}`: sample 5120
(counted from the session's first sample of that stream) is the first one after the jump;
`before` is the time the stream's clock had reached, `after` the time stamped on that sample.
Like labels.jsonl, the file is appended and flushed as the jump is reported, so a crash keeps it;
a line a crash cut short is skipped and reported by the reader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from .names import DISCONTINUITIES_NAME


def encode_discontinuity(stream: str, sample: int, before: float, after: float) -> bytes:
    """One discontinuities.jsonl line (non-finite times are written as null)."""
    def number(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    record = {"stream": str(stream), "sample": int(sample), "before": number(before),
              "after": number(after)}
    return (json.dumps(record, allow_nan=False) + "\n").encode()


def decode_discontinuities(raw: bytes, streams: Iterable[str]) -> tuple[list, list[str]]:
    """The Discontinuity records of discontinuities.jsonl, and a sentence per skipped line."""
    from hexloop.domain.streams import Discontinuity

    known = set(streams)
    found, problems = [], []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            item = Discontinuity(str(record["stream"]), int(record["sample"]),
                                 _time(record["before"]), _time(record["after"]))
            if item.sample < 0:
                raise ValueError("negative sample")
        except (ValueError, KeyError, TypeError, OverflowError):
            last = all(not rest.strip() for rest in lines[number:])
            problems.append(
                f"{DISCONTINUITIES_NAME} line {number} is "
                + ("cut short (the recording was interrupted while writing it)" if last
                   else "not a discontinuity record")
                + "; skipped"
            )
            continue
        if item.stream not in known:
            problems.append(f"{DISCONTINUITIES_NAME} line {number}: no stream {item.stream!r} "
                            "in this session; skipped")
            continue
        found.append(item)
    return found, problems


def _time(value) -> float:
    return math.nan if value is None else float(value)
