"""The session model: what a recording is about and what it ended with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .streams import StreamInfo

SCHEMA_VERSION = 1


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _streams(streams: Iterable[StreamInfo]) -> tuple[StreamInfo, ...]:
    return tuple(streams)


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


@attrs.frozen
class SessionMeta:
    """Written when a recording starts: the app, its streams, class names and free-form extras."""

    app_name: str
    streams: tuple[StreamInfo, ...] = attrs.field(converter=_streams)
    class_names: tuple[str, ...] = attrs.field(default=(), converter=_names)
    slug: str = ""
    created: dt.datetime = attrs.field(factory=_now_utc)
    versions: Mapping[str, str] = attrs.field(factory=dict)
    extras: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        names = [s.name for s in self.streams]
        if len(set(names)) != len(names):
            raise ValueError(f"stream names in a session must be unique, got {names}")
        if self.created.tzinfo is None:
            raise ValueError("session creation time needs a timezone")

    def stream(self, name: str) -> StreamInfo:
        for info in self.streams:
            if info.name == name:
                return info
        raise KeyError(f"no stream {name!r} in this session; it has {[s.name for s in self.streams]}")


@attrs.frozen
class SessionSummary:
    """What `close()` reports: where the session went and how much each stream holds."""

    location: str
    samples: Mapping[str, int]
    labels: int
    ended: dt.datetime = attrs.field(factory=_now_utc)
    error: str | None = None  # set when something was lost or the session could not be packed
