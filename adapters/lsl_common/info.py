"""Mapping an announced LSL stream to a StreamInfo, and refusing what hexloop cannot read."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from hexloop.domain.streams import GeometryError, StreamInfo, geometry_problems

from .discovery import LSL_FORMATS, Announcement

log = logging.getLogger(__name__)


class StreamRefused(GeometryError):
    """A stream was found but hexloop will not read it; the message says why and what to do."""


def clean_labels(values: list[str | None] | None, count: int, default: str, what: str, stream):
    """Labels from a stream's description, or None when they cannot be used as they are."""
    if not values:
        return None
    if len(values) != count:
        log.warning(
            "LSL stream %r describes %d channel %s for %d channels; ignoring them",
            stream,
            len(values),
            what,
            count,
        )
        return None
    return tuple(default.format(i + 1) if v is None else str(v) for i, v in enumerate(values))


def announced_info(
    a: Announcement, labels: list[str | None] | None, units: list[str | None] | None
) -> StreamInfo:
    """The StreamInfo of an announced stream with the channel labels and units it describes."""
    count = a.channel_count
    return StreamInfo(
        a.name,
        count,
        a.sampling_rate,
        a.format,
        channel_names=clean_labels(labels, count, "ch{}", "labels", a.name) or (),
        units=clean_labels(units, count, "", "units", a.name) or (),
        type=a.type,
        source_id=a.source_id,
    )


def refuse_if_unusable(
    a: Announcement,
    expected_channels: int | None,
    expected_rate: float | None,
    old: StreamInfo | None,
) -> None:
    """Raise StreamRefused, with every reason, for a stream hexloop must not read.

    A string stream, absurd geometry, a channel count or rate other than the source expects,
    or a reconnect (`old` is the info of the first connection) that changed shape.
    """
    where = f"LSL stream {a.name!r} on {a.host or 'an unknown host'}"
    if a.format not in LSL_FORMATS.values() or a.format == "string":
        raise StreamRefused(
            f"{where} carries {a.format} values; a Source reads numeric streams only "
            "(a string marker stream is not a data stream: read its markers as labels with a "
            "[[markers]] table, docs/lsl.md)"
        )
    # Judge the announced geometry without building a StreamInfo (which would raise).
    probe = SimpleNamespace(
        name=a.name,
        channel_count=a.channel_count,
        sampling_rate=a.sampling_rate,
        dtype=a.format,
        channel_names=(),
        units=(),
    )
    problems = geometry_problems(probe)  # type: ignore[arg-type]  # reads only these fields
    if expected_channels is not None and a.channel_count != expected_channels:
        problems.append(
            f"it has {a.channel_count} channels but this source expects "
            f"{expected_channels}; check which device is streaming or fix `channels`"
        )
    if expected_rate is not None and a.sampling_rate != expected_rate:
        problems.append(
            f"it runs at {a.sampling_rate:g} Hz but this source expects "
            f"{expected_rate:g} Hz; check the device settings or fix `rate`"
        )
    if old is not None:
        changed = [
            f"{what} {was} -> {now}"
            for what, was, now in (
                ("channels", old.channel_count, a.channel_count),
                ("rate", old.sampling_rate, a.sampling_rate),
                ("format", old.dtype, a.format),
            )
            if was != now
        ]
        if changed:
            problems.append(
                "it came back with a different shape (" + ", ".join(changed) + "); "
                "restart the stream in hexloop so buffers and recordings match"
            )
    if problems:
        raise StreamRefused(f"{where} was refused: " + "; ".join(problems))
