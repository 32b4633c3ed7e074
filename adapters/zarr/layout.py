"""The on-disk session format: folder and entry names, meta.json and labels.jsonl, folder or zip access.

A session is one folder (or the same tree inside a stored `.session.zip`) that is also a Zarr v3
hierarchy: `meta.json` and `labels.jsonl` sit next to the root `zarr.json`, and each stream is the
group `streams/<key>` holding `data` (samples x channels) and `timestamps` (float64).
docs/recording.md describes every field.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.session import SCHEMA_VERSION, SessionMeta
from hexloop.domain.streams import StreamInfo, geometry_problems

from .limits import MAX_CHUNK_BYTES, MAX_META_BYTES
from .names import LABELS_NAME, META_NAME

FORMAT = "hexloop.session"
ADAPTER = "hexloop.adapters.zarr"
STREAMS_GROUP = "streams"
ZIP_SUFFIX = ".session.zip"
MANIFEST_NAME = "manifest.json"  # in archives only: every packed file's size and CRC-32
PARTIAL_SUFFIX = ".partial"  # zarr's and our own temporary files end in this

STATUS_RECORDING = "recording"  # still being written, or the writer died (crash): recover it
STATUS_CLOSED = "closed"
STATUS_RECOVERED = "recovered"


class SessionFormatError(ValueError):
    """A file or folder that is not a readable hexloop session; the message says why and what to do."""


@attrs.frozen
class StreamLayout:
    """Where and how one stream is stored: its info, Zarr group and block (chunk) length."""

    info: StreamInfo
    group: str  # e.g. "streams/emg"
    chunk_samples: int
    compression: str | None

    @property
    def data_path(self) -> str:
        return f"{self.group}/data"

    @property
    def timestamps_path(self) -> str:
        return f"{self.group}/timestamps"

    def to_dict(self) -> dict:
        return {
            "info": self.info.to_dict(),
            "group": self.group,
            "chunk_samples": self.chunk_samples,
            "compression": self.compression,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "streams[?]") -> StreamLayout:
        """A layout from meta.json; a value that cannot be right is refused with its key."""
        try:
            info = StreamInfo.from_dict(dict(d["info"]))
            problems = geometry_problems(info)
        except (TypeError, ValueError) as e:  # newer StreamInfo checks its geometry itself
            raise SessionFormatError(f"{where}.info: {e}") from e
        if problems:
            raise SessionFormatError(f"{where}.info: " + "; ".join(problems))
        chunk = d["chunk_samples"]
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk <= 0:
            raise SessionFormatError(
                f"{where}.chunk_samples is {chunk!r}; it must be a positive whole number of "
                "samples (the block length)")
        if chunk * max(info.channel_count * info.np_dtype.itemsize, 8) > MAX_CHUNK_BYTES:
            raise SessionFormatError(
                f"{where}.chunk_samples is {chunk}: blocks of {info.channel_count} channels "
                f"would exceed the {MAX_CHUNK_BYTES // 2**20} MiB a block may have")
        group = d["group"]
        if not isinstance(group, str) or not group.startswith(f"{STREAMS_GROUP}/"):
            raise SessionFormatError(f"{where}.group is {group!r}; it must be 'streams/<key>'")
        return cls(info, group, chunk, d.get("compression"))


def package_versions() -> dict[str, str]:
    """Versions of everything that shapes the files, from the installed package metadata."""
    versions = {"python": platform.python_version()}
    for package in ("hexloop", "zarr", "numcodecs", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str, limit: int = 48) -> str:
    """`text` reduced to letters, digits, '.', '_' and '-', usable as a file or Zarr node name."""
    cleaned = _UNSAFE.sub("_", text).strip("._-")[:limit]
    return cleaned or fallback


def session_folder_name(created: dt.datetime, slug: str, short_id: str) -> str:
    """`<UTC timestamp>_<slug>_<short id>`, e.g. `20250301T101502Z_s01_3fa2c1d0`."""
    stamp = created.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{safe_name(slug, 'session', 40)}_{short_id}"


def stream_groups(infos: Sequence[StreamInfo]) -> list[str]:
    """A unique Zarr group path per stream, readable where the stream name allows it."""
    taken: set[str] = set()
    groups = []
    for i, info in enumerate(infos):
        key = base = safe_name(info.name, f"stream{i}")
        suffix = i
        while key.lower() in taken:  # "x", "X" and "x_1" never share a folder
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key.lower())
        groups.append(f"{STREAMS_GROUP}/{key}")
    return groups


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def meta_document(
    meta: SessionMeta,
    layouts: Sequence[StreamLayout],
    *,
    session_id: str,
    status: str,
    clock_reference: Mapping[str, Any] | None = None,
    ended: dt.datetime | None = None,
    samples: Mapping[str, int] | None = None,
    dropped: Mapping[str, int] | None = None,
    error: str | None = None,
) -> dict:
    """Everything meta.json holds, as a JSON-ready dict."""
    versions = {**package_versions(), **{str(k): str(v) for k, v in meta.versions.items()}}
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "session_id": session_id,
        "app_name": meta.app_name,
        "slug": meta.slug,
        "created": _iso(meta.created),
        "ended": _iso(ended),
        "clock_reference": dict(clock_reference or {}),
        "class_names": list(meta.class_names),
        "streams": [layout.to_dict() for layout in layouts],
        "samples": None if samples is None else dict(samples),
        "dropped": None if dropped is None else dict(dropped),
        "error": error,
        "adapter": ADAPTER,
        "versions": versions,
        "extras": dict(meta.extras),
    }


def encode_json(document: Mapping[str, Any]) -> bytes:
    try:
        return (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"session metadata must be plain JSON (str, numbers, bools, lists, dicts): {e}; "
            "convert the offending extras value before recording"
        ) from e


#: What to do about a meta.json that cannot be read, appended to every such error.
META_ADVICE = (
    "the session's description (meta.json) is damaged: restore the session from a backup copy; "
    "its arrays are plain Zarr and `zarr.open_group(path)` still reads them, and "
    "`hexloop inspect --verify PATH` lists what else is damaged"
)


def decode_meta(raw: bytes, where: str) -> tuple[dict, SessionMeta, list[StreamLayout]]:
    """Parse meta.json into its document, the SessionMeta and the stream layouts.

    Anything that cannot be right (bad JSON, a future schema, a missing or impossible field such
    as `chunk_samples` 0) raises SessionFormatError naming the key and saying what to do.
    """
    if len(raw) > MAX_META_BYTES:
        raise SessionFormatError(
            f"{where}: {META_NAME} is {len(raw)} bytes, more than the {MAX_META_BYTES} a "
            f"session description may have; {META_ADVICE}")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise SessionFormatError(
            f"{where}: {META_NAME} is not valid JSON ({e}); {META_ADVICE}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionFormatError(
            f"{where}: {META_NAME} is not a hexloop session description (its \"format\" is not "
            f"{FORMAT!r}); if this is a hexloop session, {META_ADVICE}")
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionFormatError(
            f"{where}: {META_NAME} has schema_version {version!r}, not a version number; "
            f"{META_ADVICE}")
    if version > SCHEMA_VERSION:
        raise SessionFormatError(
            f"{where} uses session schema {version!r}, this hexloop reads up to {SCHEMA_VERSION}; "
            "update hexloop to read it (pip install -U hexloop)"
        )
    try:
        streams = doc["streams"]
        if not isinstance(streams, list):
            raise TypeError("'streams' is not a list")
        layouts = [StreamLayout.from_dict(s, f"streams[{i}]") for i, s in enumerate(streams)]
        created = dt.datetime.fromisoformat(doc["created"])
        meta = SessionMeta(
            str(doc["app_name"]),
            tuple(layout.info for layout in layouts),
            class_names=tuple(doc.get("class_names") or ()),
            slug=str(doc.get("slug") or ""),
            created=created,
            versions=dict(doc.get("versions") or {}),
            extras=dict(doc.get("extras") or {}),
        )
    except SessionFormatError as e:
        raise SessionFormatError(f"{where}: {META_NAME} {e}; {META_ADVICE}") from e
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise SessionFormatError(
            f"{where}: {META_NAME} is incomplete or inconsistent ({type(e).__name__}: {e}); "
            f"{META_ADVICE}") from e
    return doc, meta, layouts


def encode_label(event: LabelEvent, class_names: Sequence[str]) -> bytes:
    """One labels.jsonl line."""
    name = class_names[event.class_index] if 0 <= event.class_index < len(class_names) else None
    record = {"time": float(event.time), "class_index": int(event.class_index), "class_name": name}
    return (json.dumps(record) + "\n").encode()


def decode_labels(raw: bytes, class_names: Sequence[str]) -> tuple[LabelTrack, list[str]]:
    """The label track from labels.jsonl, and a sentence per line that had to be skipped.

    A crash can cut the last line short; it is skipped and reported, never fatal.
    """
    problems: list[str] = []
    events: list[LabelEvent] = []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            event = LabelEvent(float(record["time"]), int(record["class_index"]))
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            last = number == len(lines) or all(not rest.strip() for rest in lines[number:])
            problems.append(
                f"{LABELS_NAME} line {number} is "
                + ("cut short (the recording was interrupted while writing it)" if last
                   else "not a label record")
                + "; skipped"
            )
            continue
        if not 0 <= event.class_index < len(class_names):
            problems.append(
                f"{LABELS_NAME} line {number}: class index {event.class_index} is not one of "
                f"{list(class_names)}; skipped"
            )
            continue
        events.append(event)
    events.sort(key=lambda e: e.time)
    return LabelTrack(class_names, events), problems


def write_atomically(path: Path, payload: bytes) -> None:
    """Write to a temporary name, fsync, then rename over `path`: readers see old or new, never half."""
    tmp = path.with_name(path.name + PARTIAL_SUFFIX)
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """fsync a folder (or a file) by name; errors are ignored: the data is written, just not
    synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
