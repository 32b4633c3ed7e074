"""The inspect summary of a session as text: streams, durations, samples, gaps, labels per class."""

from __future__ import annotations

import numpy as np

from .layout import SessionFormatError


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.2f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.2f} s"


def _describe_stream(session, info, n: int, lines: list[str]) -> None:
    span = session.time_span(info.name)
    duration = span[1] - span[0] if span else 0.0
    rate = f"{info.sampling_rate:g} Hz" if info.sampling_rate > 0 else "irregular"
    lines.append(
        f"  {info.name}: {info.channel_count} ch, {rate}, {info.dtype}, {n} samples, "
        f"{_seconds(duration)}"
    )
    if info.sampling_rate > 0 and n > 1:
        gaps = session.gaps(info.name)
        missing = sum(round((b - a) * info.sampling_rate) - 1 for a, b in gaps)
        effective = (n - 1) / duration if duration > 0 else 0.0
        lines.append(
            f"    effective rate {effective:.2f} Hz; {len(gaps)} gaps"
            + (f" (about {missing} samples missing, longest "
               f"{_seconds(max(b - a for a, b in gaps))})" if gaps else "")
        )


def describe(session) -> str:
    """Multi-line summary of an open ZarrSession."""
    meta = session.meta
    lines = [
        f"session  {session.path}" + ("  (zip)" if session.is_zip else "  (folder)"),
        f"app      {meta.app_name}" + (f"  slug {meta.slug}" if meta.slug else ""),
        f"status   {session.status}",
        f"created  {meta.created.isoformat()}",
        f"ended    {session.document.get('ended') or '-'}",
        "versions " + ", ".join(f"{k} {v}" for k, v in sorted(meta.versions.items())),
    ]
    extras = {k: v for k, v in meta.extras.items() if k != "online"}  # its own section below
    if extras:
        lines.append("extras   " + ", ".join(f"{k}={v!r}" for k, v in extras.items()))
    lines.append("streams")
    for info in session.streams:
        n = session.sample_count(info.name)
        try:
            _describe_stream(session, info, n, lines)
        except SessionFormatError as e:
            lines.append(f"  {info.name}: {info.channel_count} ch, {n} samples; DAMAGED: {e}; "
                         "`hexloop inspect --verify` lists every damaged block")
    jumps = session.discontinuities
    if jumps:
        lines.append(f"clock    {len(jumps)} discontinuities (the timestamps jump there; every "
                     "sample is kept)")
        for d in jumps[:20]:
            lines.append(f"  {d.stream}: sample {d.sample}, {d.before:.6g} s -> {d.after:.6g} s "
                         f"({d.after - d.before:+.6g} s)")
        if len(jumps) > 20:
            lines.append(f"  ... and {len(jumps) - 20} more (session.discontinuities)")
    labels = session.labels
    trials = session.trials()
    lines.append(f"labels   {len(labels)} events, {len(trials)} trials")
    for index, name in enumerate(labels.class_names):
        mine = [t for t in trials if t.class_index == index]
        total = float(np.sum([t.duration for t in mine])) if mine else 0.0
        lines.append(f"  {name}: {len(mine)} trials, {_seconds(total)}")
    from .online import describe_online

    lines += describe_online(session)
    if session.error:
        lines.append(f"error    {session.error}")
    for problem in session.problems:
        lines.append(f"note     {problem}")
    return "\n".join(lines)
