"""The model file: a zip holding a JSON header and raw `.npy` tensors; nothing is ever unpickled.

Layout: `header.json` (format, versions, network description, output names, normalization,
training summary, and name/shape/dtype/sha256 of every tensor) and `tensors/<name>.npy`.
Reading checks everything against the header and the header against what the caller expects,
with every size bounded before it is read, so a corrupt, truncated, tampered or foreign file is
refused with a `ModelFileError` naming the problem. Writing goes through a temporary file and an
atomic rename, so an existing model file is never left half-written.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np

from hexloop.ports.model import ModelFileError

FORMAT = "hexloop.torch-model"
FORMAT_VERSION = 1
HEADER_NAME = "header.json"
MAX_HEADER_BYTES = 4 << 20
MAX_TENSOR_BYTES = 2 << 30
_NPY_HEADER_ROOM = 4096
_TENSOR_DTYPE = "<f4"


def _tensor_member(name: str) -> str:
    return f"tensors/{name}.npy"


def write_model_file(
    path: str | PathLike, header: Mapping[str, Any], tensors: Mapping[str, np.ndarray]
) -> None:
    """Write header + float32 tensors to `path`, replacing it atomically."""
    path = os.fspath(path)
    doc = dict(header)
    doc["format"], doc["format_version"] = FORMAT, FORMAT_VERSION
    doc["tensors"] = {}
    blobs = {}
    for name, array in tensors.items():
        array = np.ascontiguousarray(array, dtype=_TENSOR_DTYPE)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        blobs[name] = buffer.getvalue()
        doc["tensors"][name] = {
            "shape": list(array.shape),
            "dtype": _TENSOR_DTYPE,
            "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
        }
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".hexloop-model-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
                zf.writestr(HEADER_NAME, json.dumps(doc, indent=1, allow_nan=False))
                for name, blob in blobs.items():
                    zf.writestr(_tensor_member(name), blob)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename, or a power cut leaves it empty
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelFileError(f"it has no {name}") from None
    if info.file_size > limit:
        raise ModelFileError(f"{name} claims {info.file_size} bytes, more than {limit} allowed")
    with zf.open(info) as member:
        blob = member.read(limit + 1)  # reading to the end also checks the CRC-32
    if len(blob) > limit:
        raise ModelFileError(f"{name} is larger than {limit} bytes")
    return blob


def read_header(zf: zipfile.ZipFile) -> dict:
    try:
        doc = json.loads(_read_member(zf, HEADER_NAME, MAX_HEADER_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"its header is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"it is not a {FORMAT} file (format is {_get(doc, 'format')!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"it has format version {doc.get('format_version')!r}; this hexloop reads version "
            f"{FORMAT_VERSION}, so load it with the hexloop version that saved it "
            f"({doc.get('hexloop_version', 'unknown')})"
        )
    if not isinstance(doc.get("tensors"), dict):
        raise ModelFileError("its header lists no tensors")
    return doc


def _get(doc: Any, key: str) -> Any:
    return doc.get(key) if isinstance(doc, dict) else None


def read_tensors(
    zf: zipfile.ZipFile, header: dict, expected: Mapping[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """The tensors named in `expected`, each checked for shape, dtype, checksum and finiteness."""
    listed = header["tensors"]
    if set(listed) != set(expected):
        missing, extra = sorted(set(expected) - set(listed)), sorted(set(listed) - set(expected))
        raise ModelFileError(f"its tensors do not fit the network (missing {missing}, extra {extra})")
    out = {}
    for name, shape in expected.items():
        entry = listed[name]
        if not isinstance(entry, dict) or entry.get("shape") != list(shape):
            raise ModelFileError(f"tensor {name} has shape {_get(entry, 'shape')}, expected {list(shape)}")
        if entry.get("dtype") != _TENSOR_DTYPE:
            raise ModelFileError(f"tensor {name} has dtype {entry.get('dtype')!r}, expected float32")
        nbytes = 4 * math.prod(shape)
        if nbytes > MAX_TENSOR_BYTES:
            raise ModelFileError(f"tensor {name} is too large ({nbytes} bytes)")
        blob = _read_member(zf, _tensor_member(name), nbytes + _NPY_HEADER_ROOM)
        try:
            array = np.load(io.BytesIO(blob), allow_pickle=False)
        except (ValueError, EOFError, OSError) as e:
            raise ModelFileError(f"tensor {name} is not a valid .npy array ({e})") from None
        if array.dtype != np.dtype(_TENSOR_DTYPE) or array.shape != tuple(shape):
            raise ModelFileError(f"tensor {name} holds {array.dtype} {array.shape}, not as listed")
        if hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() != entry.get("sha256"):
            raise ModelFileError(f"tensor {name} does not match its checksum (corrupted or edited)")
        if not np.isfinite(array).all():
            raise ModelFileError(f"tensor {name} holds NaN or infinite values")
        out[name] = array
    return out


def open_model_file(path: str | PathLike) -> zipfile.ZipFile:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError("no such file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError("it is not a zip archive, so not a hexloop model file")
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ModelFileError(f"unreadable zip archive ({e})") from None
