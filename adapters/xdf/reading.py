"""Reading an XDF file (LabRecorder's format) with pyxdf into a RecordedSession.

`read_xdf(path)` loads every stream with `pyxdf.load_xdf`, clock offsets applied as pyxdf does
(`synchronize_clocks=True`, clock resets handled) and dejittering off unless asked, so each
sample keeps its recorded stamp. Numeric streams keep pyxdf's arrays as they are (same dtype,
same bits); string streams are marker streams: one of them becomes the label track, and every
one is kept verbatim (time and text of each marker) in the session's extras under `xdf` (or,
past MARKERS_IN_META_BYTES, in `<session>.markers.json` beside the session).

Which string stream becomes the labels: the one named by `markers=`; otherwise the only one that
holds markers; otherwise the only one of those whose LSL type contains "marker"; otherwise none
can be chosen and XdfError lists them. Its distinct markers are the class names in order of first
appearance, unless `classes` maps them (`parse_classes`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from hexloop.adapters._optional import optional
from hexloop.domain.labels import LabelEvent, LabelTrack, Trial
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import GeometryError, StreamInfo

#: XDF channel formats and the numpy dtype pyxdf gives them.
XDF_DTYPES = {"float32": "float32", "double64": "float64", "int8": "int8", "int16": "int16",
              "int32": "int32", "int64": "int64"}


#: Marker streams larger than this (as JSON) go to `<session>.markers.json` beside the session
#: instead of meta.json's extras, which readers refuse past 16 MiB.
MARKERS_IN_META_BYTES = 4 * 2**20
MARKERS_FILE_SUFFIX = ".markers.json"


class XdfError(ValueError):
    """An XDF file that cannot be read or imported as asked; the message says what to do."""


@attrs.frozen(eq=False)
class XdfStream:
    """One numeric stream: samples (n, channels) exactly as pyxdf read them, and their stamps."""

    info: StreamInfo
    data: np.ndarray
    timestamps: np.ndarray
    header: Mapping[str, Any]  # the XDF stream header fields hexloop keeps (name, id, host, ...)


def parse_classes(text: str | Sequence[str]) -> list[tuple[str, str]]:
    """`--classes` as (marker, class name) pairs, in class order.

    Comma-separated items, each `NAME` (the marker NAME is class NAME) or `MARKER=NAME` (the
    marker MARKER is class NAME; several markers may share a name). Class indices follow the
    order in which names first appear: `rest,fist` makes rest 0 and fist 1; `0=rest,1=fist,2=rest`
    makes markers 0 and 2 class rest (0) and marker 1 class fist (1).
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    pairs, seen = [], set()
    for raw in items:
        item = raw.strip()
        marker, eq, name = item.partition("=")
        marker, name = marker.strip(), (name.strip() if eq else marker.strip())
        if not marker or not name:
            raise XdfError(f"--classes item {raw!r} is empty or half-written; write NAME or "
                           f"MARKER=NAME, comma-separated, e.g. --classes rest,fist")
        if marker in seen:
            raise XdfError(f"--classes names the marker {marker!r} twice; give each marker once")
        seen.add(marker)
        pairs.append((marker, name))
    if not pairs:
        raise XdfError("--classes is empty; write the class names, e.g. --classes rest,fist")
    return pairs


def _field(header: Mapping, key: str, default: str = "") -> str:
    value = header.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return default if value is None else str(value)


def _channels(header: Mapping, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Channel labels and units from desc/channels/channel, when the file gives one per channel."""
    try:
        channels = header["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return (), ()
    if not isinstance(channels, list) or len(channels) != count:
        return (), ()
    names = [_field(c, "label") if isinstance(c, Mapping) else "" for c in channels]
    units = [_field(c, "unit") if isinstance(c, Mapping) else "" for c in channels]
    names = names if all(names) and len(set(names)) == count else []
    return tuple(names), tuple(units) if any(units) else ()


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        base = name or "stream"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def _created(header: Mapping, path: Path) -> dt.datetime:
    text = _field(header.get("info", {}), "datetime")
    try:
        when = dt.datetime.fromisoformat(text)
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _kept_header(header: Mapping, name: str) -> dict:
    keys = ("type", "source_id", "hostname", "created_at", "uid", "session_id",
            "nominal_srate", "channel_format", "effective_srate")
    kept = {"xdf_name": name, "stream_id": header.get("stream_id")}
    kept.update({k: _field(header, k) for k in keys if k in header})
    return kept


class XdfRecording:
    """An XDF file as a RecordedSession: `meta`, `labels`, `data(stream)`, plus `streams`,
    `markers` (every string stream, verbatim) and `label_stream` (the one the labels came from).
    """

    def __init__(self, path: Path, streams: list[XdfStream], markers: dict, label_stream,
                 labels: LabelTrack, meta: SessionMeta):
        self.path = str(path)
        self.streams = tuple(streams)
        self.markers = markers
        self.label_stream = label_stream
        #: every marker stream verbatim when too large for meta.json (written beside the session)
        self.markers_overflow: dict | None = None
        self._labels = labels
        self._meta = meta

    @property
    def meta(self) -> SessionMeta:
        return self._meta

    @property
    def labels(self) -> LabelTrack:
        return self._labels

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(s.info.name for s in self.streams)

    def stream(self, name: str) -> XdfStream:
        for s in self.streams:
            if s.info.name == name:
                return s
        raise KeyError(f"no numeric stream {name!r} in {self.path}; it has {list(self.stream_names)}")

    def data(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        """The whole stream: data (channels, n) (a view of the samples) and timestamps (n,)."""
        s = self.stream(stream)
        return s.data.T, s.timestamps

    def timestamps(self, stream: str) -> np.ndarray:
        return self.stream(stream).timestamps

    def trials(self) -> list[Trial]:
        """Label intervals; the last one runs until the last sample of any stream."""
        ends = [float(s.timestamps[-1]) for s in self.streams if s.timestamps.size]
        ends += [e.time for e in self._labels.events[-1:]]
        return self._labels.trials(max(ends, default=0.0))

    def close(self) -> None:
        """Nothing to release: the file was read whole."""

    def __repr__(self) -> str:
        return f"XdfRecording({self.path!r}, streams={list(self.stream_names)})"


def _label_stream(markers: dict, chosen: str | None, path: Path) -> str | None:
    if chosen is not None:
        if chosen not in markers:
            raise XdfError(f"{path.name} has no string stream named {chosen!r}; its marker "
                           f"streams are {sorted(markers) or 'none'}")
        return chosen
    holding = [name for name, m in markers.items() if m["times"]]
    if len(holding) <= 1:
        return holding[0] if holding else None
    typed = [name for name in holding if "marker" in markers[name]["type"].lower()]
    if len(typed) == 1:
        return typed[0]
    raise XdfError(f"{path.name} holds several marker streams ({', '.join(holding)}); choose the "
                   "one that gives the labels with --markers NAME (all are kept in the session)")


def _labels(marker: dict | None, classes, path: Path) -> tuple[tuple[str, ...], list[LabelEvent]]:
    if marker is None:
        if classes is not None:
            raise XdfError(f"--classes was given but {path.name} has no marker stream holding "
                           "markers to label; leave --classes out")
        return (), []
    order = np.argsort(np.asarray(marker["times"], np.float64), kind="stable")
    times = [marker["times"][i] for i in order]
    values = [marker["values"][i] for i in order]
    if classes is None:
        names = tuple(dict.fromkeys(values))
        index = {v: i for i, v in enumerate(names)}
    else:
        pairs = parse_classes(classes)
        names = tuple(dict.fromkeys(name for _, name in pairs))
        index = {m: names.index(name) for m, name in pairs}
        unlisted = dict.fromkeys(v for v in values if v not in index)
        if unlisted:
            shown = ", ".join(repr(v[:60]) for v in list(unlisted)[:8])
            raise XdfError(
                f"the marker stream {marker['name']!r} holds markers not in --classes: {shown}"
                f"{' ...' if len(unlisted) > 8 else ''}; add each one (NAME, or MARKER=NAME to "
                "give it another class name) or leave --classes out to use every marker")
    return names, [LabelEvent(float(t), index[v]) for t, v in zip(times, values)]


def read_xdf(path: str | os.PathLike, *, classes: str | Sequence[str] | None = None,
             markers: str | None = None, dejitter: bool = False) -> XdfRecording:
    """Read an XDF file: every numeric stream, every marker stream, the label track.

    Raises XdfError (a ValueError) for a file pyxdf cannot read, a stream hexloop cannot hold
    (more than 4096 channels, ...), unlisted markers, or an ambiguous marker stream.
    """
    pyxdf = optional("pyxdf", extra="xdf", purpose="reading XDF files")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no XDF file at {path}: check the path")
    try:
        raw_streams, file_header = pyxdf.load_xdf(
            str(path), synchronize_clocks=True, handle_clock_resets=True,
            dejitter_timestamps=bool(dejitter), verbose=False)
    except Exception as e:  # noqa: BLE001 - pyxdf raises many kinds on a damaged file
        raise XdfError(f"cannot read {path} as XDF ({type(e).__name__}: {e}); check that it "
                       "is a complete XDF file (LabRecorder writes them)") from e
    file_header = file_header or {}
    if not raw_streams:
        raise XdfError(f"no stream could be read from {path}: the file is empty or damaged "
                       "before its first stream header")
    raw_streams = sorted(raw_streams, key=lambda s: s["info"].get("stream_id", 0))
    numeric: list[dict[str, Any]] = []
    marker_streams: list[dict[str, Any]] = []
    for s in raw_streams:
        fmt = _field(s["info"], "channel_format", "float32")
        (marker_streams if fmt == "string" else numeric).append(s)
    names = _unique_names([_field(s["info"], "name") for s in numeric + marker_streams])
    streams, kept = [], {}
    for s, name in zip(numeric, names):
        header = s["info"]
        fmt = _field(header, "channel_format", "float32")
        if fmt not in XDF_DTYPES:
            raise XdfError(f"stream {name!r} of {path.name} has the channel format {fmt!r}, "
                           f"which hexloop cannot store; it reads {sorted(XDF_DTYPES)} and string")
        count = int(float(_field(header, "channel_count", "1")))
        data = np.asarray(s["time_series"])
        if data.size == 0:  # pyxdf gives float64 for an empty stream: keep the declared type
            data = np.empty((0, count), XDF_DTYPES[fmt])
        elif data.ndim == 1:
            data = data.reshape(-1, 1)
        channel_names, units = _channels(header, data.shape[1])
        try:
            info = StreamInfo(name, data.shape[1], float(_field(header, "nominal_srate", "0")),
                              data.dtype.name, channel_names, units, _field(header, "type"),
                              _field(header, "source_id"))
        except (GeometryError, ValueError) as e:
            raise XdfError(f"{path.name}: {e}") from e
        ts = np.asarray(s["time_stamps"], np.float64).reshape(-1)
        streams.append(XdfStream(info, data, ts, _kept_header(header, _field(header, "name"))))
        kept[name] = _kept_header(header, _field(header, "name"))
    marker_data = {}
    for s, name in zip(marker_streams, names[len(numeric):]):
        header = s["info"]
        values = [str(sample[0]) if isinstance(sample, list | tuple) and sample else str(sample)
                  for sample in s["time_series"]]
        full = [list(map(str, sample)) if isinstance(sample, list | tuple) else [str(sample)]
                for sample in s["time_series"]]
        marker_data[name] = {"name": name, "type": _field(header, "type"),
                             "times": [float(t) for t in s["time_stamps"]], "values": values,
                             "samples": full, "header": _kept_header(header, _field(header, "name"))}
    label_stream = _label_stream(marker_data, markers, path)
    label_marker = None if label_stream is None else marker_data.get(label_stream)
    class_names, events = _labels(label_marker, classes, path)
    extras = {"xdf": {
        "file": path.name,
        "header": {k: _field(file_header.get("info", {}), k) for k in file_header.get("info", {})},
        "clock_offsets_applied": True,
        "dejittered": bool(dejitter),
        "label_stream": label_stream,
        "streams": kept,
    }}
    markers_doc: dict[str, dict[str, Any]]
    markers_doc = {name: {"type": m["type"], "header": m["header"],
                          "samples": [[t, v] for t, v in zip(m["times"], m["samples"])]}
                   for name, m in marker_data.items()}
    overflow = None
    if len(json.dumps(markers_doc)) > MARKERS_IN_META_BYTES:  # meta.json is read up to 16 MiB
        overflow = markers_doc
        markers_doc = {name: {"type": m["type"], "header": m["header"], "count": len(m["times"]),
                              "in_file": MARKERS_FILE_SUFFIX}
                       for name, m in marker_data.items()}
    extras["xdf"]["markers"] = markers_doc
    meta = SessionMeta("hexloop import", [s.info for s in streams], class_names, slug=path.stem,
                       created=_created(file_header, path),
                       versions={"pyxdf": getattr(pyxdf, "__version__", "unknown")}, extras=extras)
    recording = XdfRecording(path, streams, marker_data, label_stream,
                             LabelTrack(class_names, events), meta)
    recording.markers_overflow = overflow
    return recording
