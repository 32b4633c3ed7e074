"""Fault matrix for recorded sessions (#11 items 6, 8, 9, 11): damaged blocks, zip bombs, a
crash while removing the folder after packing, impossible metadata, and the recover and pack
verification branches no test used to reach."""

import json
import shutil
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import (  # noqa: E402
    ReadLimitError,
    SessionFormatError,
    ZarrStore,
    inspect_text,
    open_session,
    pack_folder,
    recover,
    recover_session,
    verify_session,
)
from hexloop.adapters.zarr import packing as packing_module  # noqa: E402
from hexloop.adapters.zarr import reading as reading_module  # noqa: E402
from hexloop.adapters.zarr.limits import zip_problems, zstd_content_size  # noqa: E402
from hexloop.application.composition.cli import main  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

EMG = np.arange(165, dtype=np.float32).reshape(55, 3)  # 10-sample blocks: 5 whole, 1 partial
EMG_TS = 100.0 + np.arange(55) / 100.0


def record(base: Path, pack: bool = True) -> Path:
    """A small closed session (emg 3 ch at 100 Hz in 10-sample blocks, force, two labels)."""
    session = ZarrStore(base, chunk_seconds=0.1).open_session(SessionMeta(
        "faults", [StreamInfo("emg", 3, 100.0), StreamInfo("force", 1, 20.0, "int16")],
        class_names=("rest", "fist")))
    session.append("emg", EMG, EMG_TS)
    session.append("force", np.arange(11, dtype=np.int16)[:, None], 100.0 + np.arange(11) / 20)
    session.add_label(LabelEvent(100.1, 1))
    session.add_label(LabelEvent(100.3, 0))
    return Path(session.close(pack=pack).location)


def flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset % len(raw)] ^= 0x5A
    path.write_bytes(bytes(raw))


def member_offset(archive: Path, name: str) -> int:
    """Where a stored member's bytes start inside the archive file."""
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(name)
    with open(archive, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(f.read(4), "<u2")
    return info.header_offset + 30 + int(name_len) + int(extra_len)


def rewrite(archive: Path, out: Path, change) -> None:
    """Copy an archive member by member; `change(name, bytes)` returns new bytes or None to drop."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)


# -- item 6: every damaged read is a SessionFormatError naming stream, samples and file ----------

def test_a_flipped_byte_in_a_folder_block_names_stream_samples_time_and_file(tmp_path):
    folder = record(tmp_path, pack=False)
    flip(folder / "streams/emg/data/c.2.0", 40)
    with open_session(folder) as session:
        assert np.array_equal(session.data("emg", 0, 20)[0], EMG[:20].T)  # the rest reads
        with pytest.raises(SessionFormatError) as caught:
            session.data("emg")
        with pytest.raises(SessionFormatError):
            session.to_mne()
    message = str(caught.value)
    assert "'emg'" in message and "samples 20..30" in message and "c.2.0" in message
    assert "time 100.200..100.290 s" in message
    flip(folder / "streams/emg/timestamps/c.3", 30)  # inspect reads timestamps, not data
    text = inspect_text(folder)  # it still summarizes, and says what is damaged
    assert "emg: 3 ch, 55 samples; DAMAGED" in text and "force: 1 ch, 20 Hz" in text


def test_a_flipped_byte_in_an_archive_is_never_a_raw_zip_error(tmp_path):
    archive = record(tmp_path)
    flip(archive, member_offset(archive, "streams/emg/timestamps/c.1") + 3)
    with open_session(archive) as session:
        with pytest.raises(SessionFormatError, match=r"'emg' samples 10\.\.20 .*timestamps/c\.1"):
            session.data("emg")
        assert session.data("force")[0].shape == (1, 11)  # other streams are untouched
    with pytest.raises(SessionFormatError, match="damaged"):
        recover(archive)  # never "success" for an archive with a bad CRC


def test_a_truncated_block_and_a_damaged_label_member_are_reported(tmp_path):
    folder = record(tmp_path, pack=False)
    chunk = folder / "streams/force/data/c.3.0"
    chunk.write_bytes(chunk.read_bytes()[:5])
    with open_session(folder) as session, pytest.raises(SessionFormatError, match="'force'"):
        session.data("force")
    archive = record(tmp_path / "b")
    flip(archive, member_offset(archive, "labels.jsonl") + 2)
    with open_session(archive) as session:  # the data stays readable without the labels
        assert any("labels.jsonl" in p for p in session.problems)
        assert np.array_equal(session.data("emg")[0], EMG.T)


# -- item 8: zip bombs and absurd sizes are refused before any work -------------------------------

def add_deflate_bomb(archive: Path, name: str, gib: int) -> None:
    """Append a deflated member that inflates to `gib` GiB of zeros (its deflate stream repeats
    one fully flushed piece, so building it costs milliseconds, not gigabytes)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(bytes(2**22)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = piece * (256 * gib) + compressor.flush()
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr(zipfile.ZipInfo(name), stream)  # stored, then relabelled below
        local = z.getinfo(name).header_offset
    raw = bytearray(archive.read_bytes())
    central = raw.rindex(name.encode()) - 46
    for header, method_at, size_at in ((local, 8, 22), (central, 10, 24)):
        raw[header + method_at:header + method_at + 2] = zipfile.ZIP_DEFLATED.to_bytes(2, "little")
        raw[header + size_at:header + size_at + 4] = (gib * 2**30).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    assert zlib.decompressobj(-15).decompress(stream, 2**20) == bytes(2**20)


def test_a_deflated_member_expanding_to_gigabytes_is_refused_without_inflating_it(tmp_path):
    bomb, block = tmp_path / "bomb.session.zip", "streams/emg/timestamps/c.0"
    rewrite(record(tmp_path), bomb, lambda name, data: None if name == block else data)
    add_deflate_bomb(bomb, block, gib=3)  # the first block inspect reads
    assert bomb.stat().st_size < 8 * 2**20
    with zipfile.ZipFile(bomb) as z:
        assert z.getinfo(block).file_size == 3 * 2**30
    tracemalloc.start()
    try:
        for attempt in (open_session, recover, inspect_text):
            with pytest.raises(SessionFormatError, match="compressed"):
                attempt(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # nothing was inflated
    assert not verify_session(bomb).ok


@pytest.mark.parametrize("name, size", [("meta.json", 17 * 2**20), ("labels.jsonl", 17 * 2**20),
                                        ("streams/emg/data/zarr.json", 2 * 2**20)])
def test_members_larger_than_their_role_allows_are_refused(tmp_path, name, size):
    archive = record(tmp_path)
    bad = tmp_path / "bad.session.zip"
    rewrite(archive, bad, lambda n, data: data + b" " * size if n == name else data)
    with pytest.raises(SessionFormatError, match="more than"):
        open_session(bad)


def test_a_chunk_larger_than_its_shape_or_announcing_more_is_refused(tmp_path):
    import google_crc32c

    folder = record(tmp_path, pack=False)
    (folder / "streams/emg/data/c.0.0").write_bytes(bytes(2**20))  # a block holds 120 bytes
    header = b"\x28\xb5\x2f\xfd" + bytes([0b11100000]) + (2**40).to_bytes(8, "little")
    frame = header + bytes(16)  # announces 1 TiB of output
    assert zstd_content_size(frame) == 2**40
    crc = np.uint32(google_crc32c.value(frame)).tobytes()
    (folder / "streams/emg/data/c.1.0").write_bytes(frame + crc)
    with open_session(folder) as session:
        with pytest.raises(SessionFormatError, match=r"c\.0\.0 .*more than"):
            session.data("emg", 0, 10)
        with pytest.raises(SessionFormatError, match=r"c\.1\.0 .*announces 1099511627776"):
            session.data("emg", 10, 20)
        assert np.array_equal(session.data("emg", 20)[0], EMG[20:].T)


def test_overlapping_or_inconsistent_members_are_refused():
    a, b = zipfile.ZipInfo("a"), zipfile.ZipInfo("b")
    a.file_size = a.compress_size = b.file_size = b.compress_size = 600
    assert "overlap" in zip_problems([a, b], archive_size=1000)[0]
    b.compress_size = 10
    assert "declares 600 bytes but stores 10" in zip_problems([a, b], 10**6)[0]


def test_a_read_beyond_the_memory_limit_is_refused_with_what_to_do(tmp_path, monkeypatch):
    archive = record(tmp_path)
    monkeypatch.setattr(reading_module, "MAX_READ_BYTES", 200)
    with open_session(archive) as session:
        with pytest.raises(ReadLimitError, match=r"in pieces with session\.data"):
            session.data("emg")
        assert np.array_equal(session.data("emg", 0, 10)[0], EMG[:10].T)


# -- item 11: impossible or unreadable metadata ---------------------------------------------------

@pytest.mark.parametrize("value", [0, -10, 2.5, "10", True, None])
def test_an_impossible_chunk_samples_is_refused_with_its_key(tmp_path, value):
    folder = record(tmp_path, pack=False)
    doc = json.loads((folder / "meta.json").read_text())
    doc["streams"][1]["chunk_samples"] = value
    (folder / "meta.json").write_text(json.dumps(doc))
    with pytest.raises(SessionFormatError, match=r"streams\[1\]\.chunk_samples"):
        open_session(folder)


def test_a_corrupt_or_future_meta_json_says_what_to_do(tmp_path):
    folder = record(tmp_path, pack=False)
    meta = folder / "meta.json"
    good = meta.read_text()
    meta.write_text(good[: len(good) // 2])
    with pytest.raises(SessionFormatError, match="not valid JSON.*backup.*zarr.open_group"):
        open_session(folder)
    doc = json.loads(good)
    doc["schema_version"] = 99
    meta.write_text(json.dumps(doc))
    with pytest.raises(SessionFormatError, match="schema 99.*update hexloop"):
        open_session(folder)
    doc["schema_version"] = 1
    doc["streams"][0]["info"]["channel_count"] = 0
    meta.write_text(json.dumps(doc))
    with pytest.raises(SessionFormatError, match=r"streams\[0\]\.info: .*channel count 0"):
        open_session(folder)


# -- item 9 and recover's branches ----------------------------------------------------------------

def _packed_with_leftover(tmp_path, keep_fraction: float) -> tuple[Path, Path]:
    folder = record(tmp_path, pack=False)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    archive = pack_folder(folder)
    shutil.copytree(backup, folder)  # the folder as rmtree left it when the power went
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files[int(len(files) * keep_fraction):]:
        path.unlink()
    return folder, archive


@pytest.mark.parametrize("keep_fraction", [1.0, 0.5, 0.0])
def test_a_crash_while_removing_the_packed_folder_is_finished_by_recover(tmp_path, capsys,
                                                                          keep_fraction):
    folder, archive = _packed_with_leftover(tmp_path, keep_fraction)
    assert main(["recover", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "leftover folder was removed" in out
    assert not folder.exists() and verify_session(archive).ok


def test_a_leftover_folder_that_differs_from_the_archive_is_kept_with_both(tmp_path):
    folder, archive = _packed_with_leftover(tmp_path, 1.0)
    (folder / "labels.jsonl").write_text('{"time": 1.0, "class_index": 0}\n')
    with pytest.raises(FileExistsError, match="labels.jsonl differs"):
        recover(folder)
    assert folder.exists() and archive.exists()


def test_recover_on_an_intact_archive_says_nothing_to_recover(tmp_path, capsys):
    archive = record(tmp_path)
    result = recover_session(archive)
    assert result.action == "nothing to recover" and result.path == archive
    assert main(["recover", str(archive)]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_recover_trims_uneven_arrays_drops_partials_and_repairs_a_cut_label(tmp_path):
    folder = record(tmp_path, pack=False)
    doc = json.loads((folder / "meta.json").read_text())
    doc["status"] = "recording"  # as after a crash
    (folder / "meta.json").write_text(json.dumps(doc))
    (folder / "streams/emg/timestamps/c.5").unlink()  # the writer died between data and ts
    (folder / "streams/emg/data/c.9.0.partial").write_bytes(b"half a block")
    with open(folder / "labels.jsonl", "ab") as labels:
        labels.write(b'{"time": 100.4, "cla')
    archive = recover(folder)
    with zipfile.ZipFile(archive) as z:
        assert not [n for n in z.namelist() if n.endswith(".partial")]
        shapes = [json.loads(z.read(f"streams/emg/{a}/zarr.json"))["shape"][0]
                  for a in ("data", "timestamps")]
        assert b"100.4" not in z.read("labels.jsonl")
    assert shapes == [50, 50]
    with open_session(archive) as back:
        assert back.status == "recovered" and not [p for p in back.problems if "label" in p]
        assert [e.time for e in back.labels.events] == [100.1, 100.3]
        assert np.array_equal(back.data("emg")[0], EMG[:50].T)
    assert verify_session(archive).ok


# -- packing verifies before it removes anything (a switched-off check must fail here) -----------

def _tamper(monkeypatch, change, fix_manifest: bool):
    """Alter the archive after packing wrote it; with `fix_manifest`, make its manifest (and the
    one packing compares against) agree, so that only the later checks can notice."""
    real = packing_module._write_archive

    def write_then_tamper(tmp, files, advance):
        manifest = real(tmp, files, advance)
        with zipfile.ZipFile(tmp) as z:
            members = {name: z.read(name) for name in z.namelist()}
        changed = {name: change(name, data) for name, data in members.items()}
        if fix_manifest:
            for name, data in changed.items():
                if data is not None and name in manifest:
                    manifest[name] = {"size": len(data), "crc32": zlib.crc32(data)}
            changed["manifest.json"] = json.dumps({"files": manifest}).encode()
        tmp.unlink()
        with zipfile.ZipFile(tmp, "w") as z:
            for name, data in changed.items():
                if data is not None:
                    z.writestr(name, data)
        return manifest

    monkeypatch.setattr(packing_module, "_write_archive", write_then_tamper)


@pytest.mark.parametrize("change, fix_manifest, reason", [
    (lambda n, d: None if n == "streams/emg/data/c.3.0" else d, False, "does not list"),
    (lambda n, d: d[:-1] + b"?" if n == "streams/emg/data/c.3.0" else d, False,
     "does not read back as it was written"),
    (lambda n, d: d[:-1] + b"?" if n == "streams/emg/data/c.3.0" else d, True,
     "fails verification"),
    (lambda n, d: b'{"time": 100.2, "class_index": 1}\n' if n == "labels.jsonl" else d, True,
     "same samples and labels"),
])
def test_packing_keeps_the_folder_when_the_archive_does_not_verify(tmp_path, monkeypatch, change,
                                                                   fix_manifest, reason):
    folder = record(tmp_path, pack=False)
    _tamper(monkeypatch, change, fix_manifest)
    with pytest.raises(OSError, match=reason):
        pack_folder(folder)
    assert folder.is_dir() and not list(tmp_path.glob("*.session.zip*"))
    with open_session(folder) as intact:
        assert np.array_equal(intact.data("emg")[0], EMG.T)


def test_a_damaged_folder_is_not_packed_and_says_where_the_damage_is(tmp_path):
    folder = record(tmp_path, pack=False)
    flip(folder / "streams/emg/data/c.4.0", 10)
    with pytest.raises(OSError, match=r"kept as a folder.*'emg' samples 40\.\.50.*c\.4\.0"):
        pack_folder(folder)
    assert folder.is_dir() and not list(tmp_path.glob("*.session.zip*"))
    with pytest.raises(OSError, match="damaged"):
        recover(folder)  # never claims a success it did not verify
    assert folder.is_dir()


def test_recover_refuses_a_folder_whose_array_metadata_is_damaged_with_what_to_do(tmp_path):
    folder = record(tmp_path, pack=False)
    doc = json.loads((folder / "meta.json").read_text())
    doc["status"] = "recording"
    (folder / "meta.json").write_text(json.dumps(doc))
    (folder / "streams/emg/data/zarr.json").write_text("{ not json")
    with pytest.raises(SessionFormatError, match="'emg' cannot be opened.*inspect --verify"):
        recover(folder)
    assert folder.is_dir()
    with open_session(folder) as session:  # the other stream still reads
        assert session.data("force")[0].shape == (1, 11)
        with pytest.raises(SessionFormatError, match="zarr.json cannot be read"):
            session.data("emg")


def test_recover_given_the_archive_also_finishes_a_leftover_folder(tmp_path):
    folder, archive = _packed_with_leftover(tmp_path, 0.5)
    result = recover_session(archive)
    assert result.action == "finished packing" and result.path == archive
    assert not folder.exists()
