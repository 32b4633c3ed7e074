"""Tests that kill mutants which survived `make mutation` over adapters/zarr/ (see docs/reliability.md).

Each test states the behaviour the surviving mutant broke without any other test noticing.
"""

import datetime as dt
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import (  # noqa: E402
    ReadLimitError,
    ZarrStore,
    open_session,
    verify_session,
)
from hexloop.adapters.zarr import online as zarr_online  # noqa: E402
from hexloop.adapters.zarr import reading as reading_module  # noqa: E402
from hexloop.adapters.zarr.layout import (  # noqa: E402
    MANIFEST_NAME,
    SessionFormatError,
    decode_labels,
    decode_meta,
    fsync_dir,
    session_folder_name,
    stream_groups,
)
from hexloop.adapters.zarr.packing import pack_folder, recover_session, repair_folder  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402


def test_the_session_folder_name_keeps_at_most_40_safe_characters_of_the_slug():
    # Survivor: the slug limit 40 raised to 41. The folder name is
    # <16-character UTC stamp>_<slug>_<8-hex id>, so a pasted-in description cannot make a
    # path too long for archive tools; unsafe characters become '_'.
    created = dt.datetime(2025, 3, 1, 11, 15, 2, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    name = session_folder_name(created, "p01 / right arm: " + "x" * 100, "3fa2c1d0")
    slug = "p01_right_arm_" + "x" * (40 - len("p01_right_arm_"))
    assert name == f"20250301T101502Z_{slug}_3fa2c1d0"
    assert session_folder_name(created, "../", "3fa2c1d0") == "20250301T101502Z_session_3fa2c1d0"


def _closed_folder(base: Path) -> Path:
    """An unpacked session: emg with 30 samples in 10-sample blocks, force with none."""
    session = ZarrStore(base, chunk_seconds=0.1).open_session(SessionMeta(
        "mutants", [StreamInfo("emg", 2, 100.0), StreamInfo("force", 1, 20.0)],
        class_names=("rest",)))
    session.append("emg", np.zeros((30, 2), np.float32), 50.0 + np.arange(30) / 100.0)
    return Path(session.close(pack=False).location)


def _as_crashed(folder: Path) -> None:
    meta = folder / "meta.json"
    doc = json.loads(meta.read_text())
    doc["status"] = "recording"  # what a crash leaves
    meta.write_text(json.dumps(doc))


def test_a_recovered_session_ends_at_its_newest_file_not_at_its_meta_json(tmp_path):
    # Survivor: the loop over the session's files in repair_folder replaced by an empty one, so
    # a crashed session's end time became meta.json's (written when recording started).
    folder = _closed_folder(tmp_path)
    _as_crashed(folder)
    meta = folder / "meta.json"
    started, last_block = 1_700_000_000, 1_700_000_600
    for path in folder.rglob("*"):
        os.utime(path, (started, started))
    newest = next(p for p in sorted(folder.rglob("*")) if p.is_file() and p != meta)
    os.utime(newest, (last_block, last_block))
    repaired = repair_folder(folder)
    assert repaired["status"] == "recovered"
    assert repaired["ended"] == dt.datetime.fromtimestamp(last_block, dt.UTC).isoformat()


def test_a_stream_whose_arrays_were_never_created_is_recovered_with_zero_samples(tmp_path):
    # Survivor: the sample count of such a stream (a crash between meta.json and the stream's
    # arrays) written as 1 instead of 0 in the recovered meta.json.
    folder = _closed_folder(tmp_path)
    _as_crashed(folder)
    shutil.rmtree(folder / "streams" / "force" / "data")
    shutil.rmtree(folder / "streams" / "force" / "timestamps")
    repaired = repair_folder(folder)
    assert repaired["samples"] == {"emg": 30, "force": 0}
    assert json.loads((folder / "meta.json").read_text())["samples"] == {"emg": 30, "force": 0}


def test_packing_progress_counts_bytes_and_is_half_done_when_the_archive_is_written(tmp_path):
    # Survivor: the byte counter starting at 1 instead of 0. The bar is documented as two equal
    # passes (write, then read back), so it must read exactly 0.5 between them.
    folder = _closed_folder(tmp_path)
    seen: list[float] = []
    pack_folder(folder, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert 0.5 in seen


def test_a_meta_json_of_another_format_is_refused_as_not_a_session(tmp_path):
    # Survivor: `not a dict OR wrong format` weakened to AND, so a JSON object written by
    # another tool (or another version's differently named format) was read as a session.
    doc = json.loads((_closed_folder(tmp_path) / "meta.json").read_text())
    doc["format"] = "someone.else"
    with pytest.raises(SessionFormatError, match="not a hexloop session description"):
        decode_meta(json.dumps(doc).encode(), "somewhere")
    with pytest.raises(SessionFormatError, match="not a hexloop session description"):
        decode_meta(b"[1, 2]", "somewhere")


def test_recover_given_the_archive_finishes_a_leftover_folder_beside_it(tmp_path):
    # Survivor: the folder's name derived from the archive's by slicing with +len instead of
    # -len, so `recover X.session.zip` never saw the leftover folder X beside it.
    folder = _closed_folder(tmp_path)
    archive = pack_folder(folder)
    with zipfile.ZipFile(archive) as z:  # the folder as a crash during its removal leaves it
        z.extractall(folder, [n for n in z.namelist() if n != MANIFEST_NAME])
    result = recover_session(archive)
    assert result.action == "finished packing"
    assert result.path == archive and not folder.exists()


def test_a_torn_label_line_before_the_final_newline_is_reported_as_cut_short():
    # Survivor: `the last line OR only blank lines follow` narrowed to AND, so a torn line that
    # still got its newline was called "not a label record" instead of an interrupted write.
    good = b'{"time": 1.0, "class_index": 0}\n'
    track, problems = decode_labels(good + b'{"time": 2.\n', ("rest",))
    assert track.events == (LabelEvent(1.0, 0),)
    assert problems == ["labels.jsonl line 2 is cut short (the recording was interrupted while "
                        "writing it); skipped"]
    _, problems = decode_labels(b"garbage\n" + good, ("rest",))
    assert problems == ["labels.jsonl line 1 is not a label record; skipped"]


def test_syncing_a_folder_that_cannot_be_opened_is_best_effort(tmp_path):
    # Survivor: `except OSError` around opening the folder removed. Directory fsync is an extra
    # on top of the file's own fsync; where a folder cannot be opened it must not fail a write.
    fsync_dir(tmp_path / "gone")
    fsync_dir(tmp_path)


def test_repair_removes_leftover_partial_files(tmp_path):
    # Survivor: the loop deleting `*.partial` temporaries in repair_folder emptied; a crash
    # mid-write leaves them, and they must not be packed or mistaken for data.
    folder = _closed_folder(tmp_path)
    _as_crashed(folder)
    leftovers = [folder / "meta.json.partial", folder / "streams" / "emg" / "data" / "c.3.0.partial"]
    for path in leftovers:
        path.write_bytes(b"half written")
    repair_folder(folder)
    assert not any(path.exists() for path in leftovers)
    assert not list(folder.rglob("*.partial"))


def test_streams_with_clashing_names_get_the_next_free_numbered_group():
    # Survivor: the clash suffix stepping by 2 (X_3 skipped, X_4 taken). Groups stayed unique,
    # and readers look groups up in meta.json (docs/recording.md), so that mutant was harmless;
    # the names are pinned so that a change to the on-disk layout is a deliberate one, and the
    # case-insensitive uniqueness ("x" and "X" never share a folder on macOS) is checked.
    infos = [StreamInfo(name, 1, 10.0) for name in ("x", "x_2", "X", "a/b", "a b")]
    assert stream_groups(infos) == [
        "streams/x", "streams/x_2", "streams/X_3", "streams/a_b", "streams/a_b_4"]


def test_asking_for_frames_of_an_unknown_bridge_lists_the_bridges_there(tmp_path):
    # Survivor: `names or 'none'` turned into `names and 'none'`, so a session holding frames
    # of 'cam' answered that it held none.
    folder = _closed_folder(tmp_path)
    with open_session(folder) as session:
        with pytest.raises(LookupError, match=r"no frames of bridge 'other' here; it holds none"):
            session.frames("other")
    (folder / "bridges" / "cam.zarr").mkdir(parents=True)
    (folder / "bridges" / "cam.zarr" / "zarr.json").write_text("{}")
    with open_session(folder) as session:
        with pytest.raises(LookupError, match=r"it holds \['cam'\]"):
            session.frames("other")


def test_a_closed_session_missing_its_last_block_says_how_many_samples_meta_json_promised(
        tmp_path):
    # Survivor: the check comparing meta.json's sample counts with what is readable negated
    # (`not isinstance(expected, dict)`), so a closed session that lost a block said nothing.
    folder = _closed_folder(tmp_path)
    for block in (folder / "streams" / "emg" / "data" / "c.2.0",
                  folder / "streams" / "emg" / "timestamps" / "c.2"):
        block.unlink()
    with open_session(folder) as session:
        assert session.sample_count("emg") == 20
        assert any("meta.json records 30 samples but only 20 are readable" in p
                   for p in session.problems)


def test_frames_without_a_bridge_name_open_the_only_bridge_there(tmp_path):
    # Survivor: `if bridge is None` negated, so frames() on a session with one bridge looked
    # up a bridge named None. The bridge here is an empty group, so opening it fails with its
    # own error, which names it.
    folder = _closed_folder(tmp_path)
    (folder / "bridges" / "cam.zarr").mkdir(parents=True)
    (folder / "bridges" / "cam.zarr" / "zarr.json").write_text(
        '{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    with open_session(folder) as session:
        with pytest.raises(ValueError, match="not a hexloop bridge frame group"):
            session.frames()


def test_online_scores_every_prediction_after_a_cue_by_default(tmp_path, monkeypatch):
    # Survivor: online()'s default settle_s 0.0 raised to 1.0, which would silently leave the
    # first second after every cue out of the score. The default is checked at the seam to the
    # scorer; building a real online session takes the whole app (tests/test_online_session.py).
    calls = []
    monkeypatch.setattr(zarr_online, "online_score", lambda *args: calls.append(args[1:]))
    with open_session(_closed_folder(tmp_path)) as session:
        session.online()
        session.online("output:hand", hold_s=0.2, settle_s=0.5)
    assert calls == [(None, 0.1, 0.0), ("output:hand", 0.2, 0.5)]


def test_a_session_with_no_sample_and_no_label_ends_at_zero(tmp_path):
    # Survivor: end_time's value for "nothing recorded" changed from 0.0 to 1.0, which made an
    # empty session look one second long.
    session = ZarrStore(tmp_path, chunk_seconds=0.1).open_session(
        SessionMeta("mutants", [StreamInfo("emg", 2, 100.0)], class_names=("rest",)))
    with open_session(session.close(pack=False).location) as empty:
        assert empty.time_span("emg") is None
        assert empty.end_time == 0.0


def test_a_stream_of_one_sample_reads_back_its_timestamp(tmp_path):
    # Survivor: the "nothing to read" shortcut `n == 0` changed to `n == 1`, which returned no
    # timestamp for a stream that recorded exactly one sample.
    session = ZarrStore(tmp_path, chunk_seconds=0.1).open_session(
        SessionMeta("mutants", [StreamInfo("force", 1, 20.0)], class_names=("rest",)))
    session.append("force", np.array([[7.0]], np.float32), np.array([50.25]))
    with open_session(session.close(pack=False).location) as single:
        assert single.timestamps("force").tolist() == [50.25]


def test_only_bridge_frame_groups_are_listed_as_bridges(tmp_path):
    # Survivor: `... and n.count("/") == 2` turned into `or`, which listed every two-level
    # zarr.json (each stream's group) as a bridge with a garbled name.
    folder = _closed_folder(tmp_path)
    with open_session(folder) as session:
        assert session.bridges() == []
    (folder / "bridges" / "cam.zarr").mkdir(parents=True)
    (folder / "bridges" / "cam.zarr" / "zarr.json").write_text("{}")
    with open_session(folder) as session:
        assert session.bridges() == ["cam"]


def test_the_read_limit_counts_the_timestamps_as_well_as_the_samples(tmp_path, monkeypatch):
    # Survivor: the estimate subtracted the 8 bytes of each timestamp instead of adding them,
    # so a read whose samples fit the limit but whose timestamps do not went ahead.
    folder = _closed_folder(tmp_path)  # emg: 30 samples of 2 float32 channels, float64 stamps
    monkeypatch.setattr(reading_module, "MAX_READ_BYTES", 30 * (2 * 4 + 8) - 1)
    with open_session(folder) as session:
        with pytest.raises(ReadLimitError, match="samples 0..30 of stream 'emg' needs"):
            session.data("emg")
        assert session.data("emg", 0, 29)[0].shape == (2, 29)


def test_a_hole_before_the_last_block_of_a_crashed_recording_is_damage(tmp_path):
    # Survivor: the last block present taken as present[+1] (the second) instead of present[-1],
    # so in a recording cut off by a crash a block missing after the second was not reported.
    session = ZarrStore(tmp_path, chunk_seconds=0.1).open_session(
        SessionMeta("mutants", [StreamInfo("emg", 2, 100.0)], class_names=("rest",)))
    session.append("emg", np.zeros((40, 2), np.float32), 50.0 + np.arange(40) / 100.0)
    folder = Path(session.close(pack=False).location)
    _as_crashed(folder)
    (folder / "streams" / "emg" / "data" / "c.2.0").unlink()  # blocks 0, 1 and 3 remain
    report = verify_session(folder)
    assert [(d.samples, d.file) for d in report.damaged if "block's file is missing" in d.what] \
        == [((20, 30), "streams/emg/data/c.2.0")]
