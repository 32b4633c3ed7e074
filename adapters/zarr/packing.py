"""Packing a session folder into a verified `.session.zip`, and recovering folders left by a crash.

Packing writes a stored (uncompressed) zip under a temporary name with a manifest of every
file's size and CRC-32, reads every entry back (each must match the CRC-32 of the file it was
copied from), verifies the archive as `hexloop inspect --verify` does, checks that it reads back
the same samples and labels as the folder, renames it into place atomically and only then
removes the folder.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import attrs

from .container import Container
from .layout import (
    LABELS_NAME,
    MANIFEST_NAME,
    META_NAME,
    PARTIAL_SUFFIX,
    STATUS_RECORDING,
    STATUS_RECOVERED,
    ZIP_SUFFIX,
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
            progress(min(1.0, done / total) if total else 1.0)

    if progress is not None:
        progress(0.0)
    tmp = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        manifest = _write_archive(tmp, files, advance)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _verify(tmp, folder, manifest, advance)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    shutil.rmtree(folder)
    fsync_dir(target.parent)
    return target


def _write_archive(tmp: Path, files: list[tuple[Path, str]], advance) -> dict[str, dict]:
    """Write the stored zip and its manifest; return the manifest (name: size and CRC-32 of the
    file as it was read from the folder)."""
    manifest: dict[str, dict] = {}
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path, name in files:
            entry = zipfile.ZipInfo.from_file(path, name)
            entry.compress_type = zipfile.ZIP_STORED
            size, crc = path.stat().st_size, 0
            with open(path, "rb") as src, archive.open(entry, "w", force_zip64=size > 2**31) as dst:
                copied = 0
                while block := src.read(_COPY_BLOCK):
                    crc = zlib.crc32(block, crc)
                    copied += len(block)
                    dst.write(block)
                    advance(len(block))
            manifest[name] = {"size": copied, "crc32": crc}
        archive.writestr(MANIFEST_NAME, encode_json(
            {"format": "hexloop.manifest", "files": manifest}))
    return manifest


def _verify(archive_path: Path, folder: Path, manifest: dict[str, dict], advance) -> None:
    """Every check the archive must pass before the folder may be removed (OSError if not)."""
    from .verify import verify_session

    with zipfile.ZipFile(archive_path) as archive:
        if sorted(archive.namelist()) != sorted([*manifest, MANIFEST_NAME]):
            raise OSError(f"{archive_path} does not list the session's files")
        for name, expected in manifest.items():
            crc = 0
            try:
                with archive.open(name) as entry:  # reading to the end checks the zip's CRC
                    while block := entry.read(_COPY_BLOCK):
                        crc = zlib.crc32(block, crc)
                        advance(len(block))
            except (zipfile.BadZipFile, ValueError, EOFError) as e:
                raise OSError(f"{archive_path}: {name} cannot be read back ({e})") from e
            if crc != expected["crc32"]:
                raise OSError(f"{archive_path}: {name} does not read back as it was written")
    report = verify_session(archive_path)
    if not report.ok:
        damage = "; ".join(d.text() for d in report.damaged)
        before = verify_session(folder)
        if {d.key() for d in report.damaged} == {d.key() for d in before.damaged}:
            raise OSError(
                f"the session in {folder} is damaged, so it is kept as a folder and not packed: "
                f"{damage}; everything else in it reads normally; `hexloop inspect --verify "
                f"{folder}` lists the damage")
        raise OSError(f"{archive_path} fails verification (the folder is intact): {damage}")
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
    store = LocalStore(folder)
    samples = {}
    for layout in layouts:
        paths = (layout.data_path, layout.timestamps_path)
        if not all(f"{path}/zarr.json" in names for path in paths):
            samples[layout.info.name] = 0  # killed before its arrays existed
            continue
        try:
            data, ts = (zarr.open_array(store, path=path, mode="r+") for path in paths)
            length = whole_block_length(names, layout, data.shape[0], ts.shape[0])
            if data.shape[0] != length:
                data.resize((length, layout.info.channel_count))
            if ts.shape[0] != length:
                ts.resize((length,))
        except Exception as e:  # noqa: BLE001 - zarr's errors for damaged metadata vary
            container.close()
            raise SessionFormatError(
                f"{folder}: the arrays of stream {layout.info.name!r} cannot be opened to trim "
                f"them ({type(e).__name__}: {e}); nothing was changed in them; "
                f"`hexloop inspect --verify {folder}` shows what is damaged") from e
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


@attrs.frozen
class RecoveryResult:
    """What `recover_session` did: `action` is "nothing to recover", "finished packing" (a
    leftover folder beside its verified archive was removed) or "recovered"; `message` says it."""

    path: Path
    action: str
    message: str


def _leftover_differences(folder: Path, archive: Path) -> list[str]:
    """Files of `folder` that the archive lacks or holds differently (empty: a true leftover)."""
    differences = []
    with zipfile.ZipFile(archive) as z:
        members = {i.filename: i for i in z.infolist()}
        for path, name in _session_files(folder):
            info = members.get(name)
            if info is None:
                differences.append(f"{name} is not in the archive")
                continue
            crc = 0
            with open(path, "rb") as f:
                while block := f.read(_COPY_BLOCK):
                    crc = zlib.crc32(block, crc)
            if crc != info.CRC or path.stat().st_size != info.file_size:
                differences.append(f"{name} differs from the archive's copy")
    return differences


def recover_session(path: str | os.PathLike,
                    progress: ProgressCallback | None = None) -> RecoveryResult:
    """Finish whatever a crash interrupted, verifying before claiming anything.

    * an intact `.session.zip`: nothing to recover;
    * a damaged one: SessionFormatError listing the damage (the file is left as it is);
    * a folder (or a zip's name) beside a verified archive that holds all of it (a crash while
      the folder was being removed after packing): the leftover folder is removed;
    * a folder alone: trimmed to whole blocks, finalized, packed and verified.
    """
    from .verify import verify_session

    path = Path(path)
    if path.is_file() and path.name.endswith(ZIP_SUFFIX):
        folder = path.with_name(path.name[: -len(ZIP_SUFFIX)])
        if folder.is_dir():
            return recover_session(folder, progress)
    if path.is_file():
        report = verify_session(path)
        if not report.ok:
            raise SessionFormatError(
                f"{path} is damaged and recover cannot repair it: "
                + "; ".join(d.text() for d in report.damaged)
                + "; the file is left as it is and everything else in it reads normally")
        return RecoveryResult(path, "nothing to recover",
                              f"nothing to recover: {path} is intact (every block, checksum "
                              "and label verified)")
    if not path.is_dir():
        raise FileNotFoundError(f"no session at {path}")
    target = zip_path_for(path)
    if target.exists():
        # Packed, verified and renamed into place, then interrupted while removing the folder.
        report = verify_session(target)
        if not report.ok:
            raise FileExistsError(
                f"{target} exists beside {path} but is damaged ("
                + "; ".join(d.text() for d in report.damaged)
                + f"); both are kept: move {target} aside (keep it) and run `hexloop recover "
                f"{path}` again to pack the folder anew")
        differences = _leftover_differences(path, target)
        if differences:
            raise FileExistsError(
                f"{target} is intact but {path} holds files it does not: "
                + "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
                + "; both are kept: compare them before removing either")
        shutil.rmtree(path)
        fsync_dir(path.parent)
        return RecoveryResult(
            target, "finished packing",
            f"{target} is verified and holds everything in {path}, which an interrupted "
            "cleanup after packing had left behind; the leftover folder was removed")
    repair_folder(path, finalize=True)
    packed = pack_folder(path, progress)
    return RecoveryResult(packed, "recovered",
                          f"recovered, verified and packed to {packed}")


def recover(path: str | os.PathLike, progress: ProgressCallback | None = None) -> Path:
    """`recover_session(path, progress).path`: the packed, verified session."""
    return recover_session(path, progress).path


def read_meta_document(path: str | os.PathLike) -> dict:
    """The raw meta.json of a session folder or zip, for tools that only need the header."""
    container = Container(path)
    try:
        raw = container.read(META_NAME)
        if raw is None:
            raise SessionFormatError(f"{path} has no {META_NAME}")
        return decode_meta(raw, str(path))[0]
    finally:
        container.close()
