"""Packing a session folder into a verified `.session.zip`, and recovering folders left by a crash.

Packing writes a stored (uncompressed) zip under a temporary name, checks every entry's CRC and
that the archive reads back the same samples and labels as the folder, renames it into place
atomically and only then removes the folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from .layout import (
    LABELS_NAME,
    META_NAME,
    PARTIAL_SUFFIX,
    STATUS_RECORDING,
    STATUS_RECOVERED,
    ZIP_SUFFIX,
    Container,
    SessionFormatError,
    decode_labels,
    decode_meta,
    encode_json,
    encode_label,
    fsync_dir,
    write_atomically,
)

ProgressCallback = Callable[[float], None]  # fraction done, 0.0 to 1.0
_COPY_BLOCK = 4 * 2**20


def zip_path_for(folder: str | os.PathLike) -> Path:
    folder = Path(folder)
    return folder.parent / (folder.name + ZIP_SUFFIX)


def _session_files(folder: Path) -> list[tuple[Path, str]]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(PARTIAL_SUFFIX):
                continue  # temporaries of an interrupted write; never part of the session
            path = Path(root) / name
            files.append((path, path.relative_to(folder).as_posix()))
    return files


def _fingerprint(path: Path) -> tuple[dict[str, int], tuple]:
    from .reading import open_session

    with open_session(path) as session:
        counts = {name: session.sample_count(name) for name in session.stream_names}
        labels = tuple(session.labels.events)
    return counts, labels


def pack_folder(folder: str | os.PathLike, progress: ProgressCallback | None = None) -> Path:
    """Pack a session folder into `<folder>.session.zip` next to it; return the zip's path.

    `progress(fraction)` (0.0 to 1.0) is called as entries are written and then verified (each
    pass is half of the work). The folder is removed only once the zip is verified and in place;
    on any failure the folder stays as it was and the exception says why.
    """
    folder = Path(folder)
    if not (folder / META_NAME).is_file():
        raise SessionFormatError(f"{folder} is not a session folder (no {META_NAME})")
    target = zip_path_for(folder)
    if target.exists():
        raise FileExistsError(f"{target} already exists; move it away before packing {folder}")
    files = _session_files(folder)
    total = 2 * sum(path.stat().st_size for path, _ in files)
    done = 0

    def advance(nbytes: int) -> None:
        nonlocal done
        done += nbytes
        if progress is not None:
            progress(done / total if total else 1.0)

    if progress is not None:
        progress(0.0)
    tmp = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for path, name in files:
                entry = zipfile.ZipInfo.from_file(path, name)
                entry.compress_type = zipfile.ZIP_STORED
                size = path.stat().st_size
                with open(path, "rb") as src, archive.open(entry, "w", force_zip64=size > 2**31) as dst:
                    while block := src.read(_COPY_BLOCK):
                        dst.write(block)
                        advance(len(block))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _verify(tmp, folder, [name for _, name in files], advance)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    shutil.rmtree(folder)
    fsync_dir(target.parent)
    return target


def _verify(archive_path: Path, folder: Path, names: list[str], advance) -> None:
    with zipfile.ZipFile(archive_path) as archive:
        if sorted(archive.namelist()) != sorted(names):
            raise OSError(f"{archive_path} does not list the session's files")
        for name in names:
            with archive.open(name) as entry:  # reading to the end checks the CRC
                while block := entry.read(_COPY_BLOCK):
                    advance(len(block))
    if _fingerprint(archive_path) != _fingerprint(folder):
        raise OSError(f"{archive_path} does not read back the same samples and labels")


def repair_folder(folder: str | os.PathLike, finalize: bool = True) -> dict:
    """Trim every stream to its whole blocks, drop temporaries and torn label lines.

    With `finalize`, a session that was never closed also gets its final metadata (status
    "recovered", end time from the newest file, sample counts). Returns the meta.json document.
    """
    import zarr
    from zarr.storage import LocalStore

    folder = Path(folder)
    container = Container(folder)
    if container.is_zip:
        raise SessionFormatError(f"{folder} is already packed; nothing to repair")
    raw = container.read(META_NAME)
    if raw is None:
        raise SessionFormatError(f"{folder} has no {META_NAME}; it is not a session folder")
    doc, meta, layouts = decode_meta(raw, str(folder))
    newest = os.stat(folder / META_NAME).st_mtime
    for leftover in list(folder.rglob(f"*{PARTIAL_SUFFIX}")):
        leftover.unlink(missing_ok=True)
    for path, _ in _session_files(folder):
        newest = max(newest, path.stat().st_mtime)

    from .reading import whole_block_length

    names = container.names()
    root = zarr.open_group(LocalStore(folder), mode="r+")
    samples = {}
    for layout in layouts:
        try:
            data = root[layout.data_path]
            ts = root[layout.timestamps_path]
        except KeyError:
            samples[layout.info.name] = 0
            continue
        length = whole_block_length(names, layout, data.shape[0], ts.shape[0])
        if data.shape[0] != length:
            data.resize((length, layout.info.channel_count))
        if ts.shape[0] != length:
            ts.resize((length,))
        samples[layout.info.name] = length

    labels_raw = container.read(LABELS_NAME) or b""
    track, problems = decode_labels(labels_raw, meta.class_names)
    if problems:
        write_atomically(folder / LABELS_NAME,
                         b"".join(encode_label(e, meta.class_names) for e in track.events))

    if finalize and doc.get("status") == STATUS_RECORDING:
        doc["status"] = STATUS_RECOVERED
        doc["ended"] = dt.datetime.fromtimestamp(newest, dt.UTC).isoformat()
        doc["samples"] = samples
        doc["recovered"] = dt.datetime.now(dt.UTC).isoformat()
        note = "recovered after the recording was interrupted; data ends at the last whole block"
        doc["error"] = f"{doc['error']}; {note}" if doc.get("error") else note
        write_atomically(folder / META_NAME, encode_json(doc))
    container.close()
    return doc


def recover(path: str | os.PathLike, progress: ProgressCallback | None = None) -> Path:
    """Finalize and pack a session folder left by a crash (or by a failed pack); return the zip.

    A path that is already a `.session.zip` is checked by opening it and returned as it is.
    """
    path = Path(path)
    if path.is_file():
        from .reading import open_session

        open_session(path).close()
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no session at {path}")
    target = zip_path_for(path)
    if target.exists():
        # A crash after the zip was renamed into place but before the folder was removed.
        repair_folder(path, finalize=False)
        if _fingerprint(target) != _fingerprint(path):
            raise FileExistsError(
                f"{target} exists but holds different data than {path}; compare them and move "
                "one away before recovering"
            )
        shutil.rmtree(path)
        return target
    repair_folder(path, finalize=True)
    return pack_folder(path, progress)


def read_meta_document(path: str | os.PathLike) -> dict:
    """The raw meta.json of a session folder or zip, for tools that only need the header."""
    container = Container(path)
    try:
        raw = container.read(META_NAME)
        if raw is None:
            raise SessionFormatError(f"{path} has no {META_NAME}")
        return json.loads(raw)
    finally:
        container.close()
