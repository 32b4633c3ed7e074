"""ZarrStore: the Store contract, round trips, meta.json, blocks on disk, labels, packing, failures."""

import datetime as dt
import errno
import json
import os
import threading
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.zarr import (  # noqa: E402
    SessionFormatError,
    ZarrStore,
    open_session,
    pack_folder,
)
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SCHEMA_VERSION, SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from hexloop.ports.contracts import check_store  # noqa: E402
from hexloop.ports.store import RecordedSession, RecordingSession  # noqa: E402

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64"]


def _random(rng, n, info):
    dtype = info.np_dtype
    if dtype.kind == "f":
        return rng.standard_normal((n, info.channel_count)).astype(dtype)
    limits = np.iinfo(dtype)
    return rng.integers(limits.min, limits.max, (n, info.channel_count), dtype=dtype,
                        endpoint=True)


def _record(store, infos, chunks=12, class_names=("rest", "fist"), labels=(), seed=0, **meta_kw):
    """Record random chunks of uneven length; return (summary, {name: (data, ts)}, session)."""
    rng = np.random.default_rng(seed)
    session = store.open_session(SessionMeta("test", infos, class_names=class_names, **meta_kw))
    written = {info.name: ([], []) for info in infos}
    for k in range(chunks):
        for info in infos:
            n = int(rng.integers(1, 40))
            data = _random(rng, n, info)
            start = sum(len(t) for t in written[info.name][1])
            ts = 100.0 + (start + np.arange(n)) / info.sampling_rate
            session.append(info.name, data, ts)
            written[info.name][0].append(data)
            written[info.name][1].append(ts)
        for label in labels:
            if label[0] == k:
                session.add_label(LabelEvent(label[1], label[2]))
    summary = session.close()
    joined = {name: (np.concatenate(d), np.concatenate(t)) for name, (d, t) in written.items()}
    return summary, joined, session


def test_store_contract(tmp_path):
    check_store(lambda: ZarrStore(tmp_path))
    check_store(lambda: ZarrStore(tmp_path / "plain", compression=None, chunk_seconds=0.5))


def test_every_accepted_dtype_round_trips_exactly(tmp_path):
    infos = [StreamInfo(dtype, 3, 50.0, dtype) for dtype in DTYPES]
    summary, written, _ = _record(ZarrStore(tmp_path, chunk_seconds=1.0), infos)
    with open_session(summary.location) as back:
        for dtype in DTYPES:
            data, ts = back.data(dtype)
            assert data.dtype == np.dtype(dtype)
            assert np.array_equal(data, written[dtype][0].T)
            assert np.array_equal(ts, written[dtype][1])


def test_the_session_implements_both_store_ports(tmp_path):
    store = ZarrStore(tmp_path)
    session = store.open_session(SessionMeta("x", [StreamInfo("a", 1, 10.0)]))
    assert isinstance(session, RecordingSession)
    summary = session.close()
    assert isinstance(store.read(summary.location), RecordedSession)


def test_meta_json_is_written_at_start_with_everything(tmp_path):
    infos = [StreamInfo("emg", 4, 1000.0, "float32", type="EMG", units=("V",) * 4),
             StreamInfo("force", 1, 100.0, "int16", channel_names=("grip",))]
    meta = SessionMeta("study", infos, class_names=("rest", "fist"), slug="P01 run/1",
                       versions={"my_protocol": "2.1"}, extras={"participant": "P01", "gain": 2.5})
    session = ZarrStore(tmp_path).open_session(meta)
    try:
        folder = session.location
        doc = json.loads(open(os.path.join(folder, "meta.json")).read())
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["status"] == "recording"
        assert doc["app_name"] == "study"
        created = dt.datetime.fromisoformat(doc["created"])
        assert created.tzinfo is not None and created == meta.created
        assert [s["info"]["name"] for s in doc["streams"]] == ["emg", "force"]
        assert doc["streams"][1]["info"]["channel_names"] == ["grip"]
        assert doc["streams"][0]["info"]["units"] == ["V"] * 4
        assert doc["class_names"] == ["rest", "fist"]
        assert doc["extras"] == {"participant": "P01", "gain": 2.5}
        assert doc["versions"]["zarr"] == __import__("zarr").__version__
        assert doc["versions"]["hexloop"] and doc["versions"]["my_protocol"] == "2.1"
        reference = doc["clock_reference"]  # maps stream timestamps to wall time
        assert abs(reference["monotonic"] - time.monotonic()) < 60
        assert dt.datetime.fromisoformat(reference["utc"]).tzinfo is not None
        name = os.path.basename(folder)
        assert name.startswith(meta.created.strftime("%Y%m%dT%H%M%SZ") + "_P01_run_1_")
    finally:
        summary = session.close()
    with open_session(summary.location) as back:
        assert back.status == "closed"
        assert back.meta.streams == tuple(infos)
        assert back.meta.extras == meta.extras
        assert back.meta.created == meta.created
        assert back.document["samples"] == {"emg": 0, "force": 0}
        assert back.document["ended"] is not None


def test_two_sessions_started_in_the_same_second_get_their_own_folders(tmp_path):
    meta = SessionMeta("same", [StreamInfo("a", 1, 10.0)], slug="s01")
    store = ZarrStore(tmp_path, pack=False)
    first, second = store.open_session(meta), store.open_session(meta)
    assert first.location != second.location
    first.append("a", np.ones((3, 1), np.float32), np.arange(3.0))
    second.append("a", np.zeros((5, 1), np.float32), np.arange(5.0))
    a, b = first.close(), second.close()
    assert open_session(a.location).sample_count("a") == 3
    assert open_session(b.location).sample_count("a") == 5


def test_blocks_on_disk_are_whole_and_data_and_timestamps_stay_together(tmp_path):
    info = StreamInfo("emg", 2, 200.0)
    store = ZarrStore(tmp_path, chunk_seconds=0.25, pack=False)
    assert store.block_samples(200.0, 2, 4) == 50
    session = store.open_session(SessionMeta("x", [info]))
    session.append("emg", np.ones((130, 2), np.float32), np.arange(130) / 200.0)
    deadline = time.monotonic() + 5
    while session.samples_written["emg"] < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    with open_session(session.location) as live:  # readable while recording
        assert live.sample_count("emg") == 100  # two whole blocks; 30 samples still staged
        assert live.status == "recording"
        chunks = {n for n in live._container.names() if "/c." in n}
    assert {"streams/emg/data/c.0.0", "streams/emg/data/c.1.0", "streams/emg/timestamps/c.0",
            "streams/emg/timestamps/c.1"} == chunks
    summary = session.close()
    assert summary.samples == {"emg": 130}
    with open_session(summary.location) as back:
        assert back.sample_count("emg") == 130


def test_block_length_follows_the_rate_and_stays_bounded():
    store = ZarrStore(".", chunk_seconds=1.0)
    assert store.block_samples(2048.0, 64, 4) == 2048
    assert store.block_samples(10240.0, 408, 4) == 10240
    assert store.block_samples(100_000.0, 4096, 8) * 4096 * 8 <= 64 * 2**20
    assert store.block_samples(0.0, 3, 4) == 256  # irregular streams


def test_folder_and_zip_read_identically(tmp_path):
    infos = [StreamInfo("emg", 3, 100.0), StreamInfo("force", 1, 10.0, "int32")]
    summary, written, _ = _record(ZarrStore(tmp_path, pack=False, chunk_seconds=0.5), infos,
                                  labels=[(2, 100.05, 0), (6, 100.2, 1)])
    folder = summary.location
    with open_session(folder) as f:
        from_folder = {n: f.data(n) for n in f.stream_names}
        folder_labels, folder_meta, folder_trials = f.labels.events, f.meta, f.trials()
    progress = []
    zipped = pack_folder(folder, progress=progress.append)
    assert not os.path.exists(folder)
    assert zipped.name.endswith(".session.zip")
    assert progress[0] == 0.0 and progress[-1] == 1.0 and len(progress) > 2
    assert all(a <= b for a, b in zip(progress, progress[1:]))
    with zipfile.ZipFile(zipped) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    with open_session(zipped) as z:
        assert z.is_zip
        for name in ("emg", "force"):
            data, ts = z.data(name)
            assert np.array_equal(data, from_folder[name][0])
            assert np.array_equal(ts, from_folder[name][1])
            assert np.array_equal(data, written[name][0].T)
        assert z.labels.events == folder_labels
        assert z.meta == folder_meta
        assert z.trials() == folder_trials


def test_labels_are_on_disk_as_soon_as_they_are_added(tmp_path):
    session = ZarrStore(tmp_path).open_session(
        SessionMeta("x", [StreamInfo("a", 1, 10.0)], class_names=("rest", "fist", "pinch")))
    session.add_label(LabelEvent(1.5, 2))
    session.add_label(LabelEvent(2.5, 0))
    lines = open(os.path.join(session.location, "labels.jsonl")).read().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"time": 1.5, "class_index": 2, "class_name": "pinch"},
        {"time": 2.5, "class_index": 0, "class_name": "rest"},
    ]
    with pytest.raises(ValueError, match="outside 0..2"):
        session.add_label(LabelEvent(3.0, 3))
    summary = session.close()
    assert summary.labels == 2
    with pytest.raises(RuntimeError, match="closed"):
        session.add_label(LabelEvent(4.0, 1))


def test_a_slow_label_fsync_never_blocks_the_next_label(tmp_path, monkeypatch):
    from hexloop.adapters.zarr import recording

    in_fsync, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd):
        in_fsync.set()
        release.wait(5.0)
        real_fsync(fd)

    session = ZarrStore(tmp_path).open_session(
        SessionMeta("x", [StreamInfo("a", 1, 10.0)], class_names=("rest", "fist")))
    monkeypatch.setattr(recording.os, "fsync", slow_fsync)
    session.add_label(LabelEvent(1.0, 1))
    assert in_fsync.wait(5.0)  # the writer thread is now inside a slow fsync
    marker = threading.Thread(target=session.add_label, args=(LabelEvent(2.0, 0),))
    marker.start()
    marker.join(2.0)
    blocked = marker.is_alive()
    release.set()
    marker.join()
    monkeypatch.setattr(recording.os, "fsync", real_fsync)
    assert not blocked
    assert session.close().labels == 2


def test_trials_and_windowing_from_a_session(tmp_path):
    info = StreamInfo("emg", 2, 100.0)
    session = ZarrStore(tmp_path).open_session(
        SessionMeta("x", [info, StreamInfo("force", 1, 50.0)], class_names=("rest", "fist")))
    t = np.arange(400) / 100.0
    data = np.stack([t, -t], axis=1).astype(np.float32)
    session.append("emg", data, t)
    tf = np.arange(200) / 50.0
    session.append("force", (tf * 10)[:, None].astype(np.float32), tf)
    session.add_label(LabelEvent(1.0, 0))
    session.add_label(LabelEvent(2.0, 1))
    session.add_label(LabelEvent(3.0, 0))
    with open_session(session.close().location) as back:
        trials = back.trials()
        assert [(tr.class_index, tr.start, tr.stop) for tr in trials] == [
            (0, 1.0, 2.0), (1, 2.0, 3.0), (0, 3.0, t[-1])]
        x, y, ends = back.labeled_windows("emg", window_s=0.2, step_s=0.1)
        assert x.shape[1:] == (2, 20)
        # every window lies inside one trial and carries that trial's class
        starts = x[:, 0, 0].astype(np.float64)
        assert np.allclose(ends - starts, 0.19, atol=1e-6)
        assert np.array_equal(y, back.labels.class_at(ends))
        assert np.array_equal(back.labels.class_at(starts), y)
        assert (y == 1).sum() == 9 and (y == 0).sum() == 18  # 9 windows per 1 s trial
        xr, yr, ends_r = back.aligned_windows("emg", "force", window_s=0.5, step_s=0.5)
        inside = ends_r <= tf[-1]  # past the last force sample the target holds still
        assert inside.sum() == 7
        assert np.allclose(yr[inside, 0], ends_r[inside] * 10, atol=1e-4)
        assert xr.shape == (8, 2, 50)


def test_bad_inputs_get_clear_errors(tmp_path):
    store = ZarrStore(tmp_path)
    with pytest.raises(ValueError, match="plain JSON"):
        store.open_session(SessionMeta("x", [StreamInfo("a", 1, 10.0)], extras={"f": object()}))
    assert list(tmp_path.iterdir()) == []  # nothing half-made left behind
    session = store.open_session(SessionMeta("x", [StreamInfo("a", 2, 10.0)]))
    with pytest.raises(KeyError, match="records \\['a'\\]"):
        session.append("b", np.ones((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="\\(samples, 2\\)"):
        session.append("a", np.ones((1, 3)), np.zeros(1))
    with pytest.raises(ValueError, match="timestamps"):
        session.append("a", np.ones((2, 2)), np.zeros(1))
    summary = session.close()
    assert session.close() is summary  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        session.append("a", np.ones((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="compression"):
        ZarrStore(tmp_path, compression="gzip")
    with pytest.raises(FileNotFoundError):
        open_session(tmp_path / "nothing here")
    (tmp_path / "not_a_session").mkdir()
    with pytest.raises(SessionFormatError, match="no meta.json"):
        open_session(tmp_path / "not_a_session")
    (tmp_path / "junk.session.zip").write_bytes(b"junk")
    with pytest.raises(SessionFormatError, match="readable"):
        open_session(tmp_path / "junk.session.zip")


@pytest.mark.parametrize("evil", ["../outside.txt", "/etc/passwd", "a/../../b", "C:/x",
                                  "a\\..\\b"])
def test_an_archive_with_escaping_names_is_refused(tmp_path, evil):
    summary, _, _ = _record(ZarrStore(tmp_path), [StreamInfo("a", 1, 10.0)], chunks=2)
    good = zipfile.ZipFile(summary.location)
    bad_path = tmp_path / "evil.session.zip"
    with zipfile.ZipFile(bad_path, "w") as bad:
        for item in good.infolist():
            bad.writestr(item.filename, good.read(item))
        bad.writestr(evil, b"gotcha")
    good.close()
    with pytest.raises(SessionFormatError, match="outside the archive"):
        open_session(bad_path)


def test_a_failed_pack_keeps_the_folder_and_says_so(tmp_path):
    store = ZarrStore(tmp_path)
    session = store.open_session(SessionMeta("x", [StreamInfo("a", 1, 10.0)]))
    session.append("a", np.arange(25, dtype=np.float32)[:, None], np.arange(25.0))
    os.mkdir(session.location + ".session.zip")  # something already sits at the zip's name
    summary = session.close()
    assert summary.location == session.location and os.path.isdir(summary.location)
    assert "packing failed" in summary.error and "hexloop recover" in summary.error
    with open_session(summary.location) as back:
        assert back.status == "closed"
        assert np.array_equal(back.data("a")[0][0], np.arange(25))


class _FailingArray:
    """Wraps a Zarr array; appends fail with ENOSPC from the `fail_at`-th call on."""

    def __init__(self, array, fail_at):
        self.array, self.fail_at, self.calls = array, fail_at, 0

    def append(self, data, axis=0):
        self.calls += 1
        if self.calls >= self.fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.array.append(data, axis=axis)

    def __getattr__(self, name):
        return getattr(self.array, name)


def test_a_disk_failure_is_reported_at_once_and_what_was_written_stays(tmp_path):
    info = StreamInfo("emg", 4, 100.0)
    session = ZarrStore(tmp_path, chunk_seconds=0.1).open_session(SessionMeta("x", [info]))
    writer = session._writers["emg"]
    writer.data_array = _FailingArray(writer.data_array, fail_at=4)  # fault injection
    rng = np.random.default_rng(1)
    sent = []
    for k in range(30):
        data = rng.standard_normal((7, 4)).astype(np.float32)
        session.append("emg", data, k * 0.07 + np.arange(7) / 100.0)  # never raises
        sent.append(data)
        if session.error:
            break
        time.sleep(0.01)
    deadline = time.monotonic() + 5
    while session.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "No space left on device" in session.error
    assert "everything up to 30 samples is kept" in session.error
    for _ in range(5):  # recording goes on without raising or blocking
        session.append("emg", np.zeros((7, 4), np.float32), np.full(7, 99.0))
    summary = session.close()
    assert summary.samples == {"emg": 30}
    assert "could not be recorded" in summary.error
    with open_session(summary.location) as back:
        data, _ = back.data("emg")
        assert np.array_equal(data, np.concatenate(sent)[:30].T)
        assert back.document["dropped"]["emg"] > 0


def test_when_the_disk_cannot_keep_up_append_drops_and_reports_but_never_waits(tmp_path):
    info = StreamInfo("emg", 8, 1000.0)
    block_bytes = 100 * 8 * 4 + 100 * 8
    store = ZarrStore(tmp_path, chunk_seconds=0.1, max_backlog_bytes=2 * block_bytes)
    session = store.open_session(SessionMeta("x", [info]))
    gate = threading.Event()
    real_write = session._write_block

    def stuck_disk(writer, data, ts):
        gate.wait(10)
        real_write(writer, data, ts)

    session._write_block = stuck_disk
    done = threading.Event()

    def acquire():
        for k in range(10):  # 10 blocks while the disk is stuck
            session.append("emg", np.full((100, 8), k, np.float32), k * 0.1 + np.arange(100) / 1e3)
        done.set()

    threading.Thread(target=acquire, daemon=True).start()
    assert done.wait(5), "append waited on a stuck disk"
    assert "cannot keep up" in session.error
    gate.set()
    summary = session.close()
    with open_session(summary.location) as back:
        data, _ = back.data("emg")
    kept = np.unique(data[0])
    assert summary.samples["emg"] == data.shape[1] < 1000
    assert kept[0] == 0  # the oldest blocks (queued before the limit) are the ones kept
    assert "could not be recorded" in summary.error


@pytest.fixture
def tiny_disk(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=1m tmpfs {mount_point}") != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount_point
    finally:
        os.system(f"umount -l {mount_point}")


def test_a_disk_that_fills_up_while_recording(tiny_disk):
    info = StreamInfo("emg", 128, 1000.0)
    store = ZarrStore(tiny_disk, chunk_seconds=0.05, compression=None)
    session = store.open_session(SessionMeta("x", [info], class_names=("rest",)))
    session.add_label(LabelEvent(0.0, 0))
    rng = np.random.default_rng(3)
    sent = []
    for k in range(60):  # 60 * 50 * 128 * 4 bytes = 1.5 MB > 1 MiB
        data = rng.standard_normal((50, 128)).astype(np.float32)
        session.append("emg", data, k * 0.05 + np.arange(50) / 1e3)  # never raises
        sent.append(data)
        time.sleep(0.005)
    deadline = time.monotonic() + 5
    while session.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "No space left on device" in session.error
    summary = session.close()
    assert summary.error
    assert os.path.isdir(summary.location), "a full disk cannot hold the zip; the folder stays"
    with open_session(summary.location) as back:
        kept, ts = back.data("emg")
        assert 0 < kept.shape[1] < 3000 and kept.shape[1] % 50 == 0
        assert np.array_equal(kept, np.concatenate(sent)[: kept.shape[1]].T)
        assert np.all(np.diff(ts) > 0)
        assert len(back.labels) == 1


def test_a_session_killed_before_its_arrays_existed_reads_as_empty(tmp_path):
    session = ZarrStore(tmp_path / "a").open_session(
        SessionMeta("x", [StreamInfo("emg", 2, 100.0)], class_names=("rest",)))
    session.add_label(LabelEvent(1.0, 0))
    early = tmp_path / "early"  # as if killed between meta.json and the first zarr.json
    early.mkdir()
    for name in ("meta.json", "labels.jsonl"):
        (early / name).write_bytes(open(os.path.join(session.location, name), "rb").read())
    session.close()
    with open_session(early) as back:
        assert back.status == "recording"
        assert back.sample_count("emg") == 0 and back.data("emg")[0].shape == (2, 0)
        assert len(back.labels) == 1
        assert any("no arrays on disk" in p for p in back.problems)


def test_streams_whose_names_differ_only_in_case_or_suffix_get_their_own_groups():
    from hexloop.adapters.zarr.layout import stream_groups

    infos = [StreamInfo(n, 1, 10.0) for n in ("x", "X", "x_1", "x_2")]
    groups = stream_groups(infos)
    assert len({g.lower() for g in groups}) == 4
