"""What a model was trained for, and how that differs from the setup about to use it.

A model file carries a plain description (`describe_setup`): the class names (or regression
targets), the feature function's name, the input streams with their window lengths, and each
stream's conditioning chain. `setup_differences` compares two such descriptions key by key, so
loading a model into another setup is refused with a message that says what differs. A key the
model does not record (an older file) is not compared, nor is a feature function without a
stable name (a lambda, or a function defined inside another: '<lambda>', '<locals>'), which
says nothing about what it computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SETUP_KEYS = ("task", "class_names", "features", "streams", "conditioning")


def describe_setup(*, task: str, class_names: Sequence[str], features: str,
                   streams: Sequence[tuple[str, float]],
                   conditioning: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-ready description: `streams` as (name, window_ms) in the pipeline's order,
    `conditioning` as stream name -> its chain spec (a list of stage dicts, [] for none)."""
    return {
        "task": task,
        "class_names": [str(n) for n in class_names],
        "features": str(features),
        "streams": [{"name": str(n), "window_ms": float(w)} for n, w in streams],
        "conditioning": {str(k): _plain(v) for k, v in (conditioning or {}).items()},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, Mapping) and "name" in v for v in value):
        return ", ".join(f"{v['name']} ({v.get('window_ms', '?'):g} ms)"
                         if isinstance(v.get("window_ms"), int | float) else str(v["name"])
                         for v in value) or "none"
    if isinstance(value, list):
        return repr([_plain(v) for v in value]) if value else "none"
    return repr(value)


def setup_differences(trained: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One sentence per key on which the model's setup and this one differ ([] when they agree).

    Only keys both descriptions hold are compared; conditioning is compared per stream.
    """
    out = []
    for key in SETUP_KEYS:
        if key not in trained or key not in current:
            continue
        was, now = _plain(trained[key]), _plain(current[key])
        if key == "features" and ("<" in str(was) or "<" in str(now)):
            continue
        if key == "conditioning":
            for stream in sorted(set(was) | set(now)):
                a, b = was.get(stream, []), now.get(stream, [])
                if a != b:
                    out.append(f"conditioning of stream {stream!r}: the model was trained on "
                               f"{_show(a)}, this setup has {_show(b)}")
            continue
        if was != now:
            what = {"task": "task", "class_names": "class names",
                    "features": "feature function", "streams": "input streams"}[key]
            out.append(f"{what}: the model was trained for {_show(was)}, this setup has "
                       f"{_show(now)}")
    return out
