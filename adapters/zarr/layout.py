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
import struct
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.session import SCHEMA_VERSION, SessionMeta
from hexloop.domain.streams import StreamInfo, geometry_problems

from .limits import MAX_CHUNK_BYTES, MAX_META_BYTES, check_sizes, role_limit, zip_problems

FORMAT = "hexloop.session"
ADAPTER = "hexloop.adapters.zarr"
META_NAME = "meta.json"
LABELS_NAME = "labels.jsonl"
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
    """Read access to a session's files, the same for a folder and a stored zip.

    Opening a zip checks its directory first (stored-only, sizes that fit each file's role, no
    overlapping members, the pack manifest when there is one): see limits.py. Every read is
    bounded and every failure to read is a SessionFormatError naming the file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self.problems: list[str] = []  # damage found while opening that does not stop reading
        self.damaged_names: set[str] = set()  # members the manifest says were altered or lost
        if self.path.is_dir():
            self.is_zip = False
        elif self.path.is_file():
            self.is_zip = True
            try:
                self._zip = zipfile.ZipFile(self.path, "r")
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError,
                    NotImplementedError, OverflowError, struct.error) as e:
                raise SessionFormatError(
                    f"{self.path} is neither a session folder nor a readable .session.zip ({e}); "
                    "if it is a session archive, it is damaged: use a backup copy"
                ) from e
            try:
                infos = self._zip.infolist()
                check_archive_names([i.filename for i in infos], str(self.path))
                problems = zip_problems(infos, self.path.stat().st_size)
                if problems:
                    raise SessionFormatError(
                        f"{self.path} is refused before reading: " + "; ".join(problems))
                self._sizes = {i.filename: i.file_size for i in infos if not i.is_dir()}
                self._check_manifest(infos)
            except BaseException:
                self._zip.close()
                raise
        else:
            raise FileNotFoundError(f"no session at {self.path}: the path does not exist")

    def _check_manifest(self, infos: list[zipfile.ZipInfo]) -> None:
        """Compare every member's CRC and size with the manifest written when it was packed:
        members exchanged, removed or altered since are named in `problems`."""
        raw = self.read(MANIFEST_NAME)
        if raw is None:
            return  # packed before manifests existed
        try:
            files = json.loads(raw)["files"]
            if not isinstance(files, dict):
                raise TypeError("'files' is not an object")
        except (ValueError, KeyError, TypeError, RecursionError) as e:
            self.problems.append(f"{MANIFEST_NAME} cannot be read ({e}); members are unchecked")
            return
        members = {i.filename: i for i in infos}
        for name, entry in files.items():
            info = members.get(name)
            if not isinstance(entry, dict):
                entry = {}
            if info is None:
                self.damaged_names.add(name)
                self.problems.append(f"{name} was packed but is missing from the archive")
            elif [info.file_size, info.CRC] != [entry.get("size"), entry.get("crc32")]:
                self.damaged_names.add(name)
                self.problems.append(
                    f"{name} differs from the file that was packed (size or CRC-32); it was "
                    "altered or exchanged with another member")

    def names(self) -> set[str]:
        """Every file in the session, as '/'-separated relative names."""
        return set(self.sizes())

    def sizes(self) -> dict[str, int]:
        """Every file in the session with its size in bytes."""
        if self._zip is not None:
            return dict(self._sizes)
        out = {}
        for root, _dirs, files in os.walk(self.path):
            rel = Path(root).relative_to(self.path).as_posix()
            for f in files:
                name = f if rel == "." else f"{rel}/{f}"
                try:
                    out[name] = (Path(root) / f).stat().st_size
                except OSError:
                    continue  # removed while we looked (a temporary renamed into place)
        return out

    def read(self, name: str, limit: int | None = None) -> bytes | None:
        """A file's bytes, or None when it is not there; SessionFormatError when it is larger
        than `limit` (default: its role's limit) or cannot be read whole."""
        limit = role_limit(name) if limit is None else limit
        if self._zip is not None:
            size = self._sizes.get(name)
            if size is None:
                return None
            if limit is not None and size > limit:
                raise SessionFormatError(
                    f"{self.path}: {name} is {size} bytes, more than the {limit} allowed")
            try:
                return self._zip.read(name)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, RuntimeError,
                    NotImplementedError, OverflowError, struct.error) as e:
                raise SessionFormatError(
                    f"{self.path}: {name} cannot be read ({e}); the archive is damaged there"
                ) from e
        try:
            with open(self.path / name, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if limit is not None and size > limit:
                    raise SessionFormatError(
                        f"{self.path}: {name} is {size} bytes, more than the {limit} allowed")
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError as e:
            raise SessionFormatError(f"{self.path}: {name} is a folder, not a file") from e

    def folder_problems(self) -> list[str]:
        """Role limits for a folder's files (zip members are checked on opening)."""
        return [] if self.is_zip else check_sizes(self.sizes(), str(self.path))

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
