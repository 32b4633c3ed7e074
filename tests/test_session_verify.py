"""`verify_session` and `hexloop inspect --verify` (#11 item 7): every block read, damage named
with stream, samples, time and file, exit 0 when intact and 1 when damaged."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore, verify_session  # noqa: E402
from hexloop.application.composition.cli import main  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from tests.helpers import wait_for  # noqa: E402


def record(base: Path, ts=None, pack: bool = True, close: bool = True, jump: int | None = None):
    """emg: 2 ch at 100 Hz in 10-sample blocks, 45 samples; returns the recording's location."""
    session = ZarrStore(base, chunk_seconds=0.1).open_session(
        SessionMeta("verify", [StreamInfo("emg", 2, 100.0)], class_names=("rest", "fist")))
    ts = 10.0 + np.arange(45) / 100.0 if ts is None else ts
    session.append("emg", np.arange(90, dtype=np.float32).reshape(45, 2), ts)
    session.add_label(LabelEvent(10.1, 1))
    if jump is not None:
        session.add_discontinuity("emg", jump, float(ts[jump - 1]), float(ts[jump]))
    if not close:
        return Path(session.location), session
    return Path(session.close(pack=pack).location)


def run_verify(path, capsys) -> tuple[int, str]:
    code = main(["inspect", "--verify", str(path)])
    return code, capsys.readouterr().out


def test_an_intact_archive_and_folder_verify_with_exit_0(tmp_path, capsys):
    archive = record(tmp_path / "zip")
    folder = record(tmp_path / "folder", pack=False)
    for path in (archive, folder):
        report = verify_session(path)
        assert report.ok and report.samples == {"emg": 45} and report.blocks == 10
        code, out = run_verify(path, capsys)
        assert code == 0 and "result   intact" in out


def test_a_damaged_block_is_named_with_stream_samples_time_and_file_and_exits_1(tmp_path, capsys):
    folder = record(tmp_path, pack=False)
    chunk = folder / "streams/emg/data/c.3.0"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 1
    chunk.write_bytes(bytes(raw))
    report = verify_session(folder)
    assert [(d.stream, d.samples, d.file) for d in report.damaged] == [
        ("emg", (30, 40), "streams/emg/data/c.3.0")]
    assert report.damaged[0].time == pytest.approx((10.30, 10.39))
    code, out = run_verify(folder, capsys)
    assert code == 1
    assert "DAMAGED  stream 'emg' samples 30..40 time 10.300..10.390 s in streams/emg/data/c.3.0" \
        in out


def test_missing_blocks_and_lengths_that_disagree_are_damage(tmp_path):
    folder = record(tmp_path, pack=False)
    (folder / "streams/emg/timestamps/c.1").unlink()
    doc = json.loads((folder / "meta.json").read_text())
    doc["samples"]["emg"] = 60
    (folder / "meta.json").write_text(json.dumps(doc))
    texts = [d.text() for d in verify_session(folder).damaged]
    assert any("meta.json records 60 samples, the arrays hold 45" in t for t in texts)
    assert any("timestamps block's file is missing" in t and "samples 10..20" in t
               for t in texts)


def test_timestamps_that_go_back_are_anomalies_unless_a_clock_jump_was_recorded(tmp_path):
    ts = 10.0 + np.arange(45) / 100.0
    ts[25:] -= 5.0  # the sender's clock stepped back 5 s at sample 25
    report = verify_session(record(tmp_path / "a", ts=ts))
    assert report.ok  # data kept; the step is reported, not damage
    assert report.anomalies == ("stream 'emg': time goes back 4.990000 s at sample 25 "
                                "(10.240 s -> 5.250 s)",)
    explained = verify_session(record(tmp_path / "b", ts=ts, jump=25))
    assert explained.ok and not explained.anomalies
    assert any("clock jump recorded at sample 25" in n for n in explained.notes)


def test_non_finite_timestamps_are_damage(tmp_path):
    ts = 10.0 + np.arange(45) / 100.0
    ts[12] = np.nan
    report = verify_session(record(tmp_path, ts=ts))
    assert [(d.samples, d.file) for d in report.damaged] == [
        ((10, 20), "streams/emg/timestamps/c.1")]
    assert "not finite (first at sample 12)" in report.damaged[0].what


def test_a_recording_cut_off_by_a_crash_is_intact_with_an_anomaly(tmp_path, capsys):
    folder, session = record(tmp_path, close=False)
    try:
        assert wait_for(lambda: session.samples_written["emg"] == 40)  # 4 whole blocks
        copy = tmp_path / "crashed"
        shutil.copytree(folder, copy)  # as the disk holds it while recording
        report = verify_session(copy)
        assert report.ok and report.samples == {"emg": 40}
        assert "recover" in report.anomalies[0]
    finally:
        session.close(pack=False)


def test_an_unreadable_archive_is_reported_not_raised(tmp_path, capsys):
    junk = tmp_path / "junk.session.zip"
    junk.write_bytes(b"PK\x03\x04 not really")
    code, out = run_verify(junk, capsys)
    assert code == 1 and "neither a session folder nor a readable" in out
    assert main(["inspect", "--verify", str(tmp_path / "absent")]) == 2


def test_sessions_recorded_before_block_checksums_still_read_and_verify(tmp_path):
    folder = record(tmp_path, pack=False)
    for array in ("data", "timestamps"):  # as hexloop wrote them before the crc32c codec
        meta = folder / "streams/emg" / array / "zarr.json"
        doc = json.loads(meta.read_text())
        doc["codecs"] = [c for c in doc["codecs"] if c["name"] != "crc32c"]
        meta.write_text(json.dumps(doc))
        for chunk in meta.parent.glob("c.*"):
            chunk.write_bytes(chunk.read_bytes()[:-4])
    report = verify_session(folder)
    assert report.ok and report.samples == {"emg": 45}
    assert any("no block checksums" in note for note in report.notes)
    from hexloop.adapters.zarr import open_session

    with open_session(folder) as session:
        assert np.array_equal(session.data("emg")[0].T.ravel(), np.arange(90, dtype=np.float32))
