"""Memory bounds for reading sessions, and the checks that refuse zip bombs before any work is done.

A `.session.zip` is stored-only (no member is compressed by the zip itself), so every member's
size in memory is its size on disk. The reader refuses, before reading anything:

* compressed (deflated, bzip2, lzma, ...) members;
* members whose declared sizes disagree (stored means compressed size == size), that overlap
  (their sizes add up to more than the archive), or that are larger than their role allows:
  `meta.json`, `labels.jsonl`, Zarr metadata (`zarr.json`);
* chunk files larger than their array's chunk (shape x itemsize) plus codec overhead, and zstd
  chunks whose frame announces more bytes than that chunk (checked in `zstd_content_size`
  before zarr decodes them);
* any single `data()` read larger than `MAX_READ_BYTES`.

docs/reliability.md and docs/recording.md list these numbers; change them together.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping

from .names import DISCONTINUITIES_NAME, LABELS_NAME, META_NAME

#: The largest meta.json accepted (it holds the free-form extras, so it is generous).
MAX_META_BYTES = 16 * 2**20
#: The largest labels.jsonl (about 200 000 label events) or discontinuities.jsonl accepted.
MAX_LABELS_BYTES = 16 * 2**20
#: The largest Zarr metadata document (`zarr.json`) accepted.
MAX_ZARR_JSON_BYTES = 1 * 2**20
#: The largest decoded chunk (block) accepted. The writer keeps data blocks under 64 MiB; a
#: timestamp block (8 bytes a sample) of a one-byte, one-channel stream can be 8x that.
MAX_CHUNK_BYTES = 512 * 2**20
#: The most bytes one `ZarrSession.data()` call may return; read longer streams in pieces with
#: `data(name, start, stop)`.
MAX_READ_BYTES = 4 * 2**30
#: Bytes a chunk file may exceed its decoded size by: zstd's worst case (incompressible input)
#: plus the crc32c checksum.
_ZSTD_MARGIN = 1024


def role_limit(name: str) -> int | None:
    """The largest size a session file of this name may have, or None for chunks and others."""
    if name == META_NAME:
        return MAX_META_BYTES
    if name in (LABELS_NAME, DISCONTINUITIES_NAME):
        return MAX_LABELS_BYTES
    if name == "zarr.json" or name.endswith("/zarr.json"):
        return MAX_ZARR_JSON_BYTES
    return None


def max_chunk_file_bytes(chunk_nbytes: int) -> int:
    """The largest chunk file that can hold a chunk of `chunk_nbytes` decoded bytes."""
    return chunk_nbytes + chunk_nbytes // 128 + _ZSTD_MARGIN


def zip_problems(infos: list[zipfile.ZipInfo], archive_size: int) -> list[str]:
    """Why this archive's directory is unsafe or damaged to read, as sentences (empty when fine)."""
    problems = []
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        if info.compress_type != zipfile.ZIP_STORED:
            # compressor_names: in the standard library, not in its type stubs
            method = zipfile.compressor_names.get(  # type: ignore[attr-defined]
                info.compress_type, str(info.compress_type))
            problems.append(
                f"member {info.filename!r} is compressed ({method}); session archives are "
                "stored-only, so it was not made by hexloop or was altered")
            continue
        if info.compress_size != info.file_size:
            problems.append(
                f"member {info.filename!r} declares {info.file_size} bytes but stores "
                f"{info.compress_size}; the archive's directory is damaged")
            continue
        limit = role_limit(info.filename)
        if limit is not None and info.file_size > limit:
            problems.append(
                f"member {info.filename!r} declares {info.file_size} bytes, more than the "
                f"{limit} bytes a file of its kind may have")
        total += info.file_size
    if total > archive_size:
        problems.append(
            f"the members declare {total} bytes in an archive of {archive_size} bytes: they "
            "overlap, as in a zip bomb")
    return problems


def check_sizes(sizes: Mapping[str, int], where: str) -> list[str]:
    """Role limits for a folder's files (name -> size), as sentences."""
    out = []
    for name, size in sizes.items():
        limit = role_limit(name)
        if limit is not None and size > limit:
            out.append(f"{where}: {name} is {size} bytes, more than the {limit} bytes a file of "
                       "its kind may have")
    return out


def zstd_content_size(frame: bytes) -> int | None:
    """The decoded size a zstd frame announces in its header (RFC 8878, 3.1.1.1), or None when
    the header is not a zstd frame header or does not announce one."""
    if len(frame) < 6 or frame[:4] != b"\x28\xb5\x2f\xfd":
        return None
    descriptor = frame[4]
    fcs_flag = descriptor >> 6
    single_segment = (descriptor >> 5) & 1
    dict_id_size = (0, 1, 2, 4)[descriptor & 3]
    offset = 5 + (0 if single_segment else 1) + dict_id_size
    size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(frame) < offset + size:
        return None
    value = int.from_bytes(frame[offset:offset + size], "little")
    return value + 256 if size == 2 else value
