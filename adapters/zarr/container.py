"""Read access to a session's files, the same for a folder and a stored `.session.zip`.

`Container` checks an archive's directory before anything is read (names that escape it,
compressed, overlapping or oversized members, the pack manifest) and bounds every read;
`guarded_store` gives zarr a store that refuses oversized chunks, zstd frames announcing more
than their chunk, and members the manifest says were altered. limits.py holds the bounds.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .layout import MANIFEST_NAME, SessionFormatError
from .limits import check_sizes, max_chunk_file_bytes, role_limit, zip_problems, zstd_content_size


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


def guarded_store(container: Container):
    """The container's Zarr store, wrapped so that no chunk is read that is larger than its
    array's chunk allows, announces a larger decoded size (zstd), or was altered since packing."""
    from zarr.storage import WrapperStore

    class GuardedStore(WrapperStore):
        chunk_limits: dict[str, tuple[int, bool]] = {}  # array path: (chunk bytes, zstd)

        def _size(self, key: str) -> int | None:
            if container.is_zip:
                return container._sizes.get(key)
            try:
                return os.stat(container.path / key).st_size
            except OSError:
                return None

        async def get(self, key, prototype, byte_range=None):
            if key in container.damaged_names:
                raise SessionFormatError(
                    f"{key} is not the file that was packed (its size or CRC-32 differs from the "
                    "archive's manifest)")
            array, _, _ = key.rpartition("/")
            chunk = self.chunk_limits.get(array) if not key.endswith("zarr.json") else None
            size = self._size(key)
            limit = role_limit(key) if chunk is None else max_chunk_file_bytes(chunk[0])
            if size is not None and limit is not None and size > limit:
                raise SessionFormatError(
                    f"{key} is {size} bytes, more than the {limit} bytes it may have")
            buf = await self._store.get(key, prototype, byte_range)
            if buf is not None and chunk is not None and chunk[1]:
                announced = zstd_content_size(bytes(buf.as_numpy_array()[:18]))
                if announced is None or announced > chunk[0]:
                    raise SessionFormatError(
                        f"{key} announces {announced} decoded bytes for a chunk of {chunk[0]}; "
                        "it is damaged (or a decompression bomb)")
            return buf

    return GuardedStore(container.zarr_store())
