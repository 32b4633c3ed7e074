"""XDF in: `read_xdf`, `hexloop import` and replay, compared bit for bit with pyxdf.load_xdf.

Files: the two shared example files (minimal.xdf, empty_streams.xdf) and files written here by
tests/xdf_writer.py from the XDF specification (pyxdf has no writer), random ones included.
"""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import SHARED
from xdf_writer import XdfOut, write_xdf

pyxdf = pytest.importorskip("pyxdf")
pytest.importorskip("zarr")

from hexloop.adapters.fakes import FakeClock  # noqa: E402
from hexloop.adapters.replay import ReplaySource  # noqa: E402
from hexloop.adapters.xdf import XdfError, import_xdf, parse_classes, read_xdf  # noqa: E402
from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.application.composition.cli import main  # noqa: E402

XDF = SHARED / "data" / "xdf"
needs_shared = pytest.mark.skipif(not (XDF / "minimal.xdf").exists(),
                                  reason="the shared XDF files are not here")
FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"


def reference(path, dejitter=False):
    streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=dejitter)
    return {s["info"]["name"][0]: s for s in streams}


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def imported(path, tmp_path, pack=True, **options):
    store = ZarrStore(tmp_path / "out", durability="flush", pack=pack)
    summary = import_xdf(path, store, **options)
    assert summary.error is None
    return open_session(summary.location)


@needs_shared
@pytest.mark.parametrize("name", ["minimal.xdf", "empty_streams.xdf"])
def test_shared_files_import_bit_exact_against_pyxdf(name, tmp_path):
    ref = reference(XDF / name)
    with imported(XDF / name, tmp_path) as session:
        numeric = [n for n, s in ref.items() if s["info"]["channel_format"][0] != "string"]
        assert list(session.stream_names) == numeric
        for n in numeric:
            data, ts = session.data(n)
            expected = np.asarray(ref[n]["time_series"])
            if expected.size:
                assert same_bits(data.T, expected), n
            else:  # pyxdf gives float64 for an empty stream; the declared format is kept
                assert data.shape[1] == 0
                assert data.dtype == np.dtype(ref[n]["info"]["channel_format"][0])
            assert same_bits(ts, ref[n]["time_stamps"]), n
        markers = session.meta.extras["xdf"]["markers"]
        assert set(markers) == {n for n in ref if n not in numeric}  # every marker stream kept


@needs_shared
def test_minimal_labels_are_the_markers_in_order_of_first_appearance(tmp_path):
    ref = reference(XDF / "minimal.xdf")["SendDataString"]
    with imported(XDF / "minimal.xdf", tmp_path) as session:
        values = [v[0] for v in ref["time_series"]]
        assert session.labels.class_names == tuple(dict.fromkeys(values))
        events = session.labels.events
        assert [e.time for e in events] == list(ref["time_stamps"])
        assert [session.labels.class_names[e.class_index] for e in events] == values


@needs_shared
def test_minimal_clock_offsets_are_applied_as_pyxdf_does(tmp_path):
    """SendDataC has clock offsets of -0.01 and -0.02 s: stamps are not the raw ones."""
    raw, _ = pyxdf.load_xdf(str(XDF / "minimal.xdf"), synchronize_clocks=False,
                            dejitter_timestamps=False)
    unsynced = {s["info"]["name"][0]: s["time_stamps"] for s in raw}["SendDataC"]
    rec = read_xdf(XDF / "minimal.xdf")
    assert not np.array_equal(rec.timestamps("SendDataC"), unsynced)
    assert same_bits(rec.timestamps("SendDataC"), reference(XDF / "minimal.xdf")["SendDataC"]["time_stamps"])


@needs_shared
def test_empty_streams_keep_an_empty_stream_and_pick_the_marker_stream_with_markers(tmp_path):
    rec = read_xdf(XDF / "empty_streams.xdf")
    assert rec.stream("Empty data stream: test stream 0 counter").data.shape == (0, 1)
    assert rec.label_stream == "ctrl"  # the empty marker stream holds nothing to label
    assert rec.labels.class_names == ('{"state": 2}',)


def jittery_file(path, n=200, rate=100.0, offset=0.125):
    rng = np.random.default_rng(1)
    ts = 1000.0 + np.arange(n) / rate + rng.uniform(-2e-3, 2e-3, n)
    data = rng.standard_normal((n, 3)).astype(np.float32)
    data[5, 1] = np.float32("nan")
    emg = XdfOut(1, "emg", ts, data, rate=rate, type="EMG", labels=["a", "b", "c"],
                 units=["uV"] * 3, offsets=[(1000.0, offset), (1002.0, offset)])
    marks = XdfOut(2, "cues", np.array([1000.2, 1000.7, 1001.1, 1001.5]),
                   strings=["1", "2", "1", "3"], type="Markers",
                   offsets=[(1000.0, offset), (1002.0, offset)])
    write_xdf(path, [emg, marks])
    return ts, data


def test_written_file_keeps_recorded_stamps_unless_dejitter_is_asked(tmp_path):
    path = tmp_path / "rec.xdf"
    ts, data = jittery_file(path)
    with imported(path, tmp_path / "a") as s:
        got, got_ts = s.data("emg")
        assert same_bits(got.T, data)  # NaN included
        assert same_bits(got_ts, reference(path)["emg"]["time_stamps"])
        assert np.allclose(got_ts, ts + 0.125)  # the clock offset, no dejittering
        info = s.info("emg")
        assert info.channel_names == ("a", "b", "c") and info.units == ("uV",) * 3
        assert info.type == "EMG" and info.sampling_rate == 100.0
        assert [e.time for e in s.labels.events] == pytest.approx([1000.325, 1000.825,
                                                                    1001.225, 1001.625])
    with imported(path, tmp_path / "b", dejitter=True) as s:
        dj = reference(path, dejitter=True)["emg"]["time_stamps"]
        assert same_bits(s.data("emg")[1], dj)
        assert np.ptp(np.diff(dj)) < 1e-9 < 1e-3 < np.ptp(np.diff(ts))  # evenly spaced now
        assert s.meta.extras["xdf"]["dejittered"] is True


def test_classes_name_and_map_markers(tmp_path):
    path = tmp_path / "rec.xdf"
    jittery_file(path)
    rec = read_xdf(path, classes="1=rest,2=fist,3=rest")
    assert rec.labels.class_names == ("rest", "fist")
    assert [e.class_index for e in rec.labels.events] == [0, 1, 0, 0]
    assert read_xdf(path, classes="3,2,1").labels.class_names == ("3", "2", "1")


def test_unlisted_markers_are_refused_naming_them_and_nothing_is_written(tmp_path):
    path = tmp_path / "rec.xdf"
    jittery_file(path)
    out = tmp_path / "out"
    code = main(["import", str(path), "--out", str(out), "--classes", "1=rest,2=fist"])
    assert code == 2
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(XdfError, match=r"not in --classes: '3'.*MARKER=NAME"):
        read_xdf(path, classes="1=rest,2=fist")


def test_several_marker_streams_ask_for_one(tmp_path):
    path = tmp_path / "two.xdf"
    a = XdfOut(1, "cue", np.array([1.0, 2.0]), strings=["x", "y"], type="Events")
    b = XdfOut(2, "game", np.array([1.5]), strings=["hit"], type="Events")
    d = XdfOut(3, "cue", np.arange(5.0), np.arange(5, dtype=np.int64)[:, None], rate=1.0)
    write_xdf(path, [a, b, d])
    with pytest.raises(XdfError, match="--markers NAME"):
        read_xdf(path)
    rec = read_xdf(path, markers="game")
    assert rec.labels.class_names == ("hit",)
    assert rec.stream_names == ("cue",)  # names stay unique: the string stream is cue-2
    assert set(rec.markers) == {"cue-2", "game"}
    with pytest.raises(XdfError, match="no string stream named 'nope'"):
        read_xdf(path, markers="nope")


def test_cli_import(tmp_path, capsys):
    path = tmp_path / "rec.xdf"
    jittery_file(path)
    assert main(["import", str(path), "--out", str(tmp_path / "s"), "--classes", "1,2,3"]) == 0
    out = capsys.readouterr().out
    assert "emg (200 samples)" in out and "4 labels" in out and "session saved to" in out
    assert main(["import", str(tmp_path / "missing.xdf")]) == 2
    assert "no XDF file" in capsys.readouterr().err
    (tmp_path / "bad.xdf").write_bytes(b"XDF:\x01\x05garbage")
    assert main(["import", str(tmp_path / "bad.xdf"), "--out", str(tmp_path / "s")]) == 2
    assert "damaged" in capsys.readouterr().err
    (tmp_path / "text.xdf").write_text("not xdf")
    assert main(["import", str(tmp_path / "text.xdf"), "--out", str(tmp_path / "s")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_truncated_file_imports_what_it_holds(tmp_path):
    """A recording cut off mid-write (LabRecorder crashed) keeps every whole chunk before the cut."""
    path = tmp_path / "rec.xdf"
    ts, data = jittery_file(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * 0.6)])
    with imported(path, tmp_path) as s:
        got, got_ts = s.data("emg")
        n = got.shape[1]
        assert 0 < n < ts.size
        assert same_bits(got.T, data[:n])


@needs_shared
def test_cli_import_defaults_to_the_user_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("HEXLOOP_SESSIONS", raising=False)
    assert main(["import", str(XDF / "minimal.xdf")]) == 0
    assert list((tmp_path / "data" / "hexloop" / "recordings").glob("*minimal*.session.zip"))


def test_replay_plays_an_xdf_file(tmp_path):
    path = tmp_path / "rec.xdf"
    ts, data = jittery_file(path)
    clock = FakeClock()
    source = ReplaySource(path, stream="emg", clock=clock, classes="1=rest,2=fist,3=rest")
    info = source.connect(1.0)
    assert info.channel_names == ("a", "b", "c") and source.class_names == ("rest", "fist")
    clock.advance(10.0)
    chunks = []
    while not source.finished:
        chunks.append(source.read()[0])
    assert same_bits(np.concatenate(chunks), data)
    assert [e.class_index for e in source.poll_labels()] == [0, 1, 0, 0]
    with pytest.raises(TypeError, match="do not apply to XDF"):
        ReplaySource(path, stream="emg", rate=5.0)


DTYPES = ["float32", "float64", "int8", "int16", "int32", "int64"]


@st.composite
def xdf_streams(draw):
    streams = []
    for sid in range(1, draw(st.integers(1, 3)) + 1):
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        n, ch = draw(st.integers(0, 30)), draw(st.integers(1, 4))
        raw = draw(st.binary(min_size=n * ch * dtype.itemsize, max_size=n * ch * dtype.itemsize))
        data = np.frombuffer(raw, dtype).reshape(n, ch)  # any bits: NaN payloads, inf, extremes
        rate = draw(st.sampled_from([0.0, 10.0, 512.0]))
        start = draw(st.floats(0, 1e5))
        ts = start + np.cumsum(draw(st.lists(st.floats(1e-4, 0.5), min_size=n, max_size=n)))
        offset = draw(st.floats(-1.0, 1.0))
        streams.append(XdfOut(sid, f"s{sid}", ts, data, rate=rate, chunk=draw(st.integers(1, 9)),
                              offsets=[(start, offset), (start + 10.0, offset)]))
    markers = draw(st.lists(st.sampled_from(["rest", "fist", "pinch,2", "é"]), max_size=6))
    mts = np.sort(np.asarray(draw(st.lists(st.floats(0, 1e5), min_size=len(markers),
                                           max_size=len(markers))), np.float64))
    streams.append(XdfOut(99, "markers", mts, strings=markers, type="Markers"))
    return streams


@settings(max_examples=200 if FULL else 8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(streams=xdf_streams())
def test_any_written_file_imports_bit_exact_against_pyxdf(tmp_path_factory, streams):
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "f.xdf"
    write_xdf(path, streams)
    ref = reference(path)
    with imported(path, tmp, pack=False) as session:  # packing is tested elsewhere
        for s in streams[:-1]:
            data, ts = session.data(s.name)
            assert same_bits(data.T, s.data)
            if s.data.size:
                assert same_bits(data.T, ref[s.name]["time_series"])
            assert same_bits(ts, ref[s.name]["time_stamps"])
        values = [v[0] for v in ref["markers"]["time_series"]]
        names = session.labels.class_names
        assert [names[e.class_index] for e in session.labels.events] == values


@given(st.lists(st.text(st.characters(blacklist_characters=",=", blacklist_categories=["Cs"]),
                        min_size=1).map(str.strip).filter(bool), min_size=1, max_size=6,
                unique=True))
def test_parse_classes_round_trips_names(names):
    assert parse_classes(",".join(names)) == [(n, n) for n in names]
    mapped = parse_classes(",".join(f"{n}=c{i % 2}" for i, n in enumerate(names)))
    assert [m for m, _ in mapped] == names and {c for _, c in mapped} <= {"c0", "c1"}


@pytest.mark.parametrize("bad", ["", "rest,,fist", "=rest", "rest=", "a,a"])
def test_parse_classes_refuses_half_written_lists(bad):
    with pytest.raises(XdfError, match="--classes"):
        parse_classes(bad)


def test_marker_streams_too_large_for_meta_json_go_beside_the_session(tmp_path, monkeypatch):
    from hexloop.adapters.xdf import reading

    monkeypatch.setattr(reading, "MARKERS_IN_META_BYTES", 100)
    path = tmp_path / "rec.xdf"
    jittery_file(path)
    with imported(path, tmp_path) as s:
        kept = s.meta.extras["xdf"]["markers"]["cues"]
        assert kept["count"] == 4 and kept["in_file"] == ".markers.json"
        location = s.path
    sidecar = list(tmp_path.glob("out/*.markers.json"))
    assert [p.name.removesuffix(".markers.json") for p in sidecar] == [
        os.path.basename(location).removesuffix(".session.zip")]
    markers = json.loads(sidecar[0].read_text())["markers"]["cues"]["samples"]
    assert [v for _, (v,) in markers] == ["1", "2", "1", "3"]


def test_a_setup_file_replays_an_xdf_file(tmp_path, capsys):
    from hexloop.application.composition.build import build
    from hexloop.application.composition.labsetup import load_setup
    from hexloop.application.composition.registry import Registry

    path = tmp_path / "rec.xdf"
    jittery_file(path)
    setup = tmp_path / "replay.toml"
    setup.write_text(
        '[app]\nname = "xdf-replay"\n\n[[streams]]\nname = "emg"\nsource = "replay"\n'
        f'options = {{ recording = "{path}", stream = "emg", classes = "1=rest,2=fist,3=rest" }}'
        '\n\n[renderer]\nadapter = "headless"\n')
    assert main(["check", str(setup)]) == 0, capsys.readouterr().err
    registry = Registry.from_entry_points()
    built = build(load_setup(setup, registry), registry, headless=True, duration=0.1)
    assert "emg" in built.app.ctx.streams
