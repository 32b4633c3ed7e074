"""Faults while recording: the session folder removed or made unwritable, clock jumps marked.

What is simulated, honestly: removal is real (`shutil.rmtree` of the live folder). Tests run as
root, for whom `chmod` changes nothing, so "not writable" is made two ways: a read-only bind
mount over the session folder (real EROFS from the kernel; needs root and `mount`, else
skipped) and a monkeypatched Zarr file write that raises EACCES (runs everywhere).
"""

import errno
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore, inspect_text, open_session, recover  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import Discontinuity, StreamInfo  # noqa: E402

INFO = StreamInfo("emg", 2, 100.0)  # 0.1 s blocks: 10 samples


def _session(tmp_path, **store_kw):
    store = ZarrStore(tmp_path / "sessions", chunk_seconds=0.1, **store_kw)
    return store.open_session(SessionMeta("x", [INFO], class_names=("rest", "fist")))


def _samples(start, stop):
    data = np.stack([np.arange(start, stop), -np.arange(start, stop)], axis=1).astype(np.float32)
    return data, np.arange(start, stop) / 100.0


def _wait(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _record_until_written(session, n=20):
    session.append("emg", *_samples(0, n))
    session.add_label(LabelEvent(0.05, 1))
    _wait(lambda: session.samples_written["emg"] == n, "the first blocks on disk")


def test_a_folder_removed_mid_recording_is_said_and_everything_after_goes_to_a_rescue(tmp_path):
    session = _session(tmp_path)
    folder = session.location
    _record_until_written(session)
    shutil.rmtree(folder)  # the user (or a cleanup script) deletes the live session folder
    session.add_label(LabelEvent(0.25, 0))
    session.add_discontinuity("emg", 30, 0.29, 500.0)
    session.append("emg", *_samples(20, 45))
    _wait(lambda: session.error and "removed" in session.error, "the removal to be reported")
    rescued = folder + ".rescued"
    assert session.location == rescued
    assert f"the session folder {folder} was removed while recording" in session.error
    assert f"recording goes on in {rescued}" in session.error
    summary = session.close()
    assert summary.location == rescued + ".session.zip"
    assert summary.samples == {"emg": 25} and summary.labels == 2
    assert "removed while recording" in summary.error
    with open_session(summary.location) as back:
        data, ts = back.data("emg")
        assert np.array_equal(data, _samples(20, 45)[0].T)  # every sample after the removal
        assert np.array_equal(ts, _samples(20, 45)[1])
        assert [(e.time, e.class_index) for e in back.labels.events] == [(0.05, 1), (0.25, 0)]
        assert back.discontinuities == [Discontinuity("emg", 10, 0.29, 500.0)]  # rescued index
        assert back.document["rescued"]["from"] == folder
        assert back.document["rescued"]["first_sample"] == {"emg": 20}
    assert not os.path.exists(folder)


def test_a_folder_removed_just_before_close_still_keeps_the_labels(tmp_path):
    session = _session(tmp_path)
    folder = session.location
    session.add_label(LabelEvent(1.0, 1))
    session.add_label(LabelEvent(2.0, 0))
    shutil.rmtree(folder)
    summary = session.close()  # no block was written after the removal: close notices it
    assert f"the session folder {folder} was removed while recording" in summary.error
    with open_session(summary.location) as back:
        assert [e.time for e in back.labels.events] == [1.0, 2.0]


def test_a_folder_that_stops_being_writable_keeps_its_data_and_the_rest_is_rescued(
        tmp_path, monkeypatch):
    import zarr.storage._local as local

    session = _session(tmp_path, pack=False)
    folder = session.location
    _record_until_written(session)
    real_put = local._put

    def refused(path, value, exclusive=False):  # simulated: the OS refuses writes there
        if str(path).startswith(folder + os.sep):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_put(path, value, exclusive=exclusive)

    monkeypatch.setattr(local, "_put", refused)
    session.append("emg", *_samples(20, 45))
    session.add_label(LabelEvent(0.3, 0))
    _wait(lambda: session.error and "writable" in session.error, "the refusal to be reported")
    assert f"the session folder {folder} is no longer writable" in session.error
    assert "Permission denied" in session.error
    assert f"hexloop recover {folder}" in session.error
    summary = session.close()
    monkeypatch.setattr(local, "_put", real_put)
    assert summary.location == folder + ".rescued"
    with open_session(folder) as before:  # the data that survived stays where it was
        assert np.array_equal(before.data("emg")[0], _samples(0, 20)[0].T)
    with open_session(summary.location) as after:
        assert np.array_equal(after.data("emg")[0], _samples(20, 45)[0].T)
        assert [e.time for e in after.labels.events] == [0.05, 0.3]


@pytest.fixture
def read_only_later(tmp_path):
    """Makes a folder read-only for real (a read-only bind mount over itself); root only."""
    mounted = []

    def make_read_only(folder):
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("a read-only bind mount needs root and mount")
        run = subprocess.run  # noqa: S603 - fixed arguments
        if run(["mount", "--bind", folder, folder], capture_output=True).returncode != 0:
            pytest.skip("bind mounts are not allowed here")
        mounted.append(folder)
        if run(["mount", "-o", "remount,bind,ro", folder], capture_output=True).returncode:
            pytest.skip("read-only remounts are not allowed here")

    yield make_read_only
    for folder in mounted:
        subprocess.run(["umount", "-l", folder], capture_output=True)  # noqa: S603, S607


def test_a_folder_on_a_read_only_mount_is_said_and_rescued(tmp_path, read_only_later):
    session = _session(tmp_path, pack=False)
    folder = session.location
    _record_until_written(session)
    read_only_later(folder)
    session.append("emg", *_samples(20, 45))
    _wait(lambda: session.error and "writable" in session.error, "the refusal to be reported")
    assert "Read-only file system" in session.error
    summary = session.close()
    with open_session(summary.location) as after:
        assert np.array_equal(after.data("emg")[0], _samples(20, 45)[0].T)
        assert [e.time for e in after.labels.events] == [0.05]


def test_discontinuities_are_kept_read_back_and_shown(tmp_path):
    session = _session(tmp_path)
    session.append("emg", *_samples(0, 25))
    session.add_discontinuity("emg", 12, 0.11, -499.88)  # the clock jumped back 500 s
    with pytest.raises(KeyError, match="records \\['emg'\\]"):
        session.add_discontinuity("eeg", 1, 0.0, 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        session.add_discontinuity("emg", -1, 0.0, 1.0)
    summary = session.close()
    with pytest.raises(RuntimeError, match="closed"):
        session.add_discontinuity("emg", 20, 0.0, 1.0)
    with open_session(summary.location) as back:
        assert back.discontinuities == [Discontinuity("emg", 12, 0.11, -499.88)]
    text = inspect_text(summary.location)
    assert "1 discontinuities" in text
    assert "emg: sample 12, 0.11 s -> -499.88 s (-499.99 s)" in text


def test_discontinuities_survive_a_crash_and_recovery(tmp_path):
    session = _session(tmp_path)
    session.append("emg", *_samples(0, 25))
    session.add_discontinuity("emg", 5, 0.04, 1e6)
    session.add_discontinuity("emg", 6, 1e6, 0.06)  # a single outlier stamp: there and back
    crashed = tmp_path / "crashed"  # the folder as a SIGKILL leaves it: flushed, never closed
    shutil.copytree(session.location, crashed)
    with open(crashed / "discontinuities.jsonl", "ab") as f:
        f.write(b'{"stream": "emg", "sam')  # a line the kill cut short
    with open_session(crashed) as back:
        assert [d.sample for d in back.discontinuities] == [5, 6]
        assert any("discontinuities.jsonl line 3 is cut short" in p for p in back.problems)
    zipped = recover(crashed)
    with open_session(zipped) as back:
        assert back.discontinuities == [Discontinuity("emg", 5, 0.04, 1e6),
                                        Discontinuity("emg", 6, 1e6, 0.06)]
    session.close()


class _RefusingFile:
    """Stands in for labels.jsonl's open file; every write is refused (simulated EACCES)."""

    def write(self, line):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    def flush(self):
        pass

    def fileno(self):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    def close(self):
        pass


def test_a_label_the_folder_refuses_moves_the_session_to_a_rescue_at_once(tmp_path):
    session = _session(tmp_path, pack=False)
    folder = session.location
    session.add_label(LabelEvent(1.0, 1))
    session._label_journal._file = _RefusingFile()  # fault injection: the folder refuses writes
    session.add_label(LabelEvent(2.0, 0))
    _wait(lambda: session.location != folder, "the move to a rescue folder")
    assert f"the session folder {folder} is no longer writable" in session.error
    rescued = session.location
    assert open(os.path.join(rescued, "labels.jsonl")).read().count("\n") == 2  # on disk now
    session.add_label(LabelEvent(3.0, 1))
    summary = session.close()
    with open_session(summary.location) as back:
        assert [e.time for e in back.labels.events] == [1.0, 2.0, 3.0]


def test_a_folder_made_read_only_before_close_still_closes_into_a_rescue(tmp_path,
                                                                         read_only_later):
    session = _session(tmp_path, pack=False)
    folder = session.location
    _record_until_written(session)
    read_only_later(folder)
    summary = session.close()  # no block after: the final meta.json is what the mount refuses
    assert f"the session folder {folder} is no longer writable" in summary.error
    assert summary.location == folder + ".rescued"
    with open_session(summary.location) as after:
        assert after.status == "closed"
        assert [e.time for e in after.labels.events] == [0.05]
    with open_session(folder) as before:
        assert np.array_equal(before.data("emg")[0], _samples(0, 20)[0].T)


def test_discontinuities_become_mne_annotations(tmp_path):
    pytest.importorskip("mne")
    session = _session(tmp_path)
    session.append("emg", *_samples(0, 50))
    session.add_discontinuity("emg", 30, 0.29, 1000.3)
    with open_session(session.close().location) as back:
        raw = back.to_mne()["emg"]
    jumps = [a for a in raw.annotations if a["description"] == "clock_jump"]
    assert [(a["onset"], a["duration"]) for a in jumps] == [(0.3, 0.0)]
