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
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.session import SCHEMA_VERSION, SessionMeta
from hexloop.domain.streams import StreamInfo

FORMAT = "hexloop.session"
ADAPTER = "hexloop.adapters.zarr"
META_NAME = "meta.json"
LABELS_NAME = "labels.jsonl"
STREAMS_GROUP = "streams"
ZIP_SUFFIX = ".session.zip"
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
    def from_dict(cls, d: Mapping[str, Any]) -> StreamLayout:
        return cls(StreamInfo.from_dict(dict(d["info"])), str(d["group"]),
                   int(d["chunk_samples"]), d.get("compression"))


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


def decode_meta(raw: bytes, where: str) -> tuple[dict, SessionMeta, list[StreamLayout]]:
    """Parse meta.json into its document, the SessionMeta and the stream layouts."""
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise SessionFormatError(f"{where}: {META_NAME} is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionFormatError(f"{where}: {META_NAME} is not a hexloop session description")
    version = doc.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SessionFormatError(
            f"{where} uses session schema {version!r}, this hexloop reads up to {SCHEMA_VERSION}; "
            "update hexloop to read it"
        )
    try:
        layouts = [StreamLayout.from_dict(s) for s in doc["streams"]]
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
    except (KeyError, TypeError, ValueError) as e:
        raise SessionFormatError(f"{where}: {META_NAME} is incomplete or inconsistent ({e})") from e
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
        except (ValueError, KeyError, TypeError):
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


def check_archive_names(names: Iterable[str], where: str) -> None:
    """Refuse archives whose entries would land outside a folder they were extracted into."""
    for name in names:
        path = PurePosixPath(name.replace("\\", "/"))
        if (
            name.startswith(("/", "\\"))
            or "\\" in name
            or ".." in path.parts
            or re.match(r"^[A-Za-z]:", name)
            or "\x00" in name
        ):
            raise SessionFormatError(
                f"{where} holds an entry named {name!r} that points outside the archive; "
                "refusing to read it (the file may be malicious or damaged)"
            )


class Container:
    """Read access to a session's files, the same for a folder and a stored zip."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.is_zip = False
        elif self.path.is_file():
            self.is_zip = True
            try:
                self._zip = zipfile.ZipFile(self.path, "r")
            except (zipfile.BadZipFile, OSError) as e:
                raise SessionFormatError(
                    f"{self.path} is neither a session folder nor a readable .session.zip ({e})"
                ) from e
            try:
                check_archive_names(self._zip.namelist(), str(self.path))
            except SessionFormatError:
                self._zip.close()
                raise
        else:
            raise FileNotFoundError(f"no session at {self.path}: the path does not exist")

    def names(self) -> set[str]:
        """Every file in the session, as '/'-separated relative names."""
        if self._zip is not None:
            return {n for n in self._zip.namelist() if not n.endswith("/")}
        out = set()
        for root, _dirs, files in os.walk(self.path):
            rel = Path(root).relative_to(self.path).as_posix()
            for f in files:
                out.add(f if rel == "." else f"{rel}/{f}")
        return out

    def read(self, name: str) -> bytes | None:
        """A file's bytes, or None when it is not there."""
        if self._zip is not None:
            try:
                return self._zip.read(name)
            except KeyError:
                return None
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def zarr_store(self):
        from zarr.storage import LocalStore, ZipStore

        if self.is_zip:
            return ZipStore(self.path, mode="r")
        return LocalStore(self.path, read_only=True)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


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
