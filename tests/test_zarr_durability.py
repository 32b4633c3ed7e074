"""Durability of a recording: a CRC32C per chunk, and each block fsynced on the writer thread."""

import glob
import os
import threading
import zipfile

import numpy as np
import pytest

pytest.importorskip("zarr")

import zarr  # noqa: E402
from zarr.storage import LocalStore  # noqa: E402

from hexloop.adapters.zarr import SessionFormatError, ZarrStore, open_session  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

INFO = StreamInfo("emg", 2, 100.0)  # 0.1 s blocks: 10 samples


def _record(store, samples=35, label=True):
    session = store.open_session(SessionMeta("x", [INFO], class_names=("rest", "fist")))
    data = np.arange(samples * 2, dtype=np.float32).reshape(samples, 2)
    for start in range(0, samples, 7):
        stop = min(samples, start + 7)
        session.append("emg", data[start:stop], np.arange(start, stop) / 100.0)
    if label:
        session.add_label(LabelEvent(0.1, 1))
    return session, data


@pytest.mark.parametrize("compression", ["zstd", None])
def test_every_chunk_carries_a_crc32c_and_a_flipped_byte_is_caught(tmp_path, compression):
    store = ZarrStore(tmp_path, chunk_seconds=0.1, compression=compression, pack=False)
    session, data = _record(store)
    folder = session.close().location
    root = zarr.open_group(LocalStore(folder, read_only=True), mode="r")
    for name in ("data", "timestamps"):
        array = root[f"streams/emg/{name}"]
        codecs = [type(c).__name__ for c in array.compressors]
        assert codecs[-1] == "Crc32cCodec", f"{name}: {codecs}"
    assert np.array_equal(root["streams/emg/data"][:], data)
    for chunk in ("streams/emg/data/c.1.0", "streams/emg/timestamps/c.2"):
        path = os.path.join(folder, chunk)
        raw = bytearray(open(path, "rb").read())
        raw[len(raw) // 3] ^= 0x10  # one flipped bit, in the payload
        open(path, "wb").write(bytes(raw))
    root = zarr.open_group(LocalStore(folder, read_only=True), mode="r")
    assert np.array_equal(root["streams/emg/data"][:10], data[:10])  # other blocks read fine
    with pytest.raises(ValueError, match="checksum"):
        root["streams/emg/data"][10:20]
    with pytest.raises(ValueError, match="checksum"):
        root["streams/emg/timestamps"][20:30]


def test_a_flipped_byte_in_a_packed_session_is_caught_too(tmp_path):
    session, data = _record(ZarrStore(tmp_path, chunk_seconds=0.1, compression=None))
    archive = session.close().location
    with zipfile.ZipFile(archive) as z:
        entry = z.getinfo("streams/emg/data/c.0.0")
        offset = entry.header_offset + 30 + len(entry.filename) + len(entry.extra)
    with open(archive, "r+b") as f:  # flip the stored chunk's first byte, as a bad disk would
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))
    with zipfile.ZipFile(archive) as z:  # the zip's own CRC notices, and so does the chunk's
        assert z.testzip() == "streams/emg/data/c.0.0"
    with open_session(archive) as back, pytest.raises(SessionFormatError, match="'emg'"):
        back.data("emg")


@pytest.fixture
def fsynced(monkeypatch):
    """Every path fsynced from now on, with the name of the thread that did it."""
    calls = []
    real = os.fsync

    def spy(fd):
        try:
            calls.append((os.readlink(f"/proc/self/fd/{fd}"), threading.current_thread().name))
        except OSError:
            pass
        real(fd)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to name the synced files")
    monkeypatch.setattr(os, "fsync", spy)
    return calls


def test_durability_fsync_syncs_every_block_on_the_writer_thread(tmp_path, fsynced):
    store = ZarrStore(tmp_path, chunk_seconds=0.1, pack=False)
    assert store.durability == "fsync"  # the default
    session, _ = _record(store)
    folder = os.path.realpath(session.location)
    session.close()
    synced = {path for path, _ in fsynced}
    blocks = len(glob.glob(f"{folder}/streams/emg/data/c.*"))
    assert blocks == 4  # 3 full blocks and the partial last one
    for k in range(blocks):
        for chunk in (f"data/c.{k}.0", f"timestamps/c.{k}"):
            assert f"{folder}/streams/emg/{chunk}" in synced, f"block {k}: {chunk} not fsynced"
    for array in ("data", "timestamps"):  # the new shape and the new entries
        assert f"{folder}/streams/emg/{array}/zarr.json" in synced
        assert f"{folder}/streams/emg/{array}" in synced
    assert f"{folder}/labels.jsonl" in synced
    chunk_threads = {thread for path, thread in fsynced if "/c." in path}
    assert chunk_threads and all(t.startswith("zarr-writer-") for t in chunk_threads), (
        f"blocks were fsynced on {chunk_threads}, not only the writer thread")


def test_durability_flush_leaves_the_blocks_to_the_os(tmp_path, fsynced):
    store = ZarrStore(tmp_path, chunk_seconds=0.1, pack=False, durability="flush")
    session, data = _record(store)
    folder = os.path.realpath(session.location)
    summary = session.close()
    assert not [path for path, _ in fsynced if "/c." in path]
    assert f"{folder}/labels.jsonl" in {path for path, _ in fsynced}  # labels stay synced
    assert summary.samples == {"emg": len(data)}


def test_durability_is_checked_and_shown(tmp_path):
    with pytest.raises(ValueError, match="durability must be one of"):
        ZarrStore(tmp_path, durability="sometimes")
    assert "durability='flush'" in repr(ZarrStore(tmp_path, durability="flush"))
