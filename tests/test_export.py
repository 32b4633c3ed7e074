"""`hexloop export`: a session as FIF, EDF and BIDS through MNE, read back by MNE and mne-bids."""

import datetime as dt

import numpy as np
import pytest

pytest.importorskip("zarr")
mne = pytest.importorskip("mne")

from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.adapters.zarr.file_export import ExportError, export_session  # noqa: E402
from hexloop.application.composition.cli import main  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

RATE = 250.0


def make_session(tmp_path, with_aux=True):
    emg = StreamInfo("emg", 2, RATE, "float32", channel_names=("flexor", "extensor"),
                     units=("uV", "uV"), type="EMG")
    aux = StreamInfo("aux", 1, 100.0, "int16", channel_names=("button",), type="button")
    marks = StreamInfo("marks", 1, 0.0, "float32")
    streams = [emg, aux, marks] if with_aux else [emg]
    session = ZarrStore(tmp_path / "rec").open_session(SessionMeta(
        "export", streams, class_names=("rest", "fist"), slug="demo",
        created=dt.datetime(2025, 3, 1, 10, 15, tzinfo=dt.UTC)))
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((1000, 2)) * 30).astype(np.float32)
    session.append("emg", data, 50.0 + np.arange(1000) / RATE)
    if with_aux:
        session.append("aux", np.arange(400, dtype=np.int16)[:, None], 50.0 + np.arange(400) / 100)
        session.append("marks", np.ones((2, 1), np.float32), np.array([50.5, 51.0]))
    session.add_label(LabelEvent(51.0, 0))
    session.add_label(LabelEvent(52.0, 1))
    return session.close().location, data


def test_fif_keeps_every_regular_stream_and_the_labels(tmp_path):
    location, data = make_session(tmp_path)
    with open_session(location) as s:
        result = export_session(s, "fif", tmp_path / "out")
    assert set(result.written) == {"emg", "aux"}
    assert "irregular" in result.skipped["marks"]
    raw = mne.io.read_raw_fif(result.written["emg"], verbose=False)
    assert raw.get_channel_types() == ["emg", "emg"] and raw.info["sfreq"] == RATE
    assert np.allclose(raw.get_data(), data.T * 1e-6, rtol=1e-6)
    assert list(raw.annotations.description) == ["rest", "fist"]
    assert np.allclose(raw.annotations.onset - raw.first_time, [1.0, 2.0])


def test_edf_reads_back_within_its_16_bit_resolution(tmp_path):
    pytest.importorskip("edfio")
    location, data = make_session(tmp_path, with_aux=False)
    with open_session(location) as s:
        result = export_session(s, "edf", tmp_path / "one.edf")
    assert result.written == {"emg": str(tmp_path / "one.edf")}
    raw = mne.io.read_raw_edf(tmp_path / "one.edf", preload=True, verbose=False)
    span = np.ptp(data) * 1e-6
    assert np.allclose(raw.get_data()[:2], data.T * 1e-6, atol=span / 2**15)
    assert [d for d in raw.annotations.description] == ["rest", "fist"]


def test_bids_is_read_back_by_mne_bids_and_says_which_stream_it_could_not_hold(tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    pytest.importorskip("edfio")
    location, data = make_session(tmp_path)
    with open_session(location) as s:
        result = export_session(s, "bids", tmp_path / "bids", subject="07")
    assert set(result.written) == {"emg"}
    assert "BIDS files data under EEG, EMG" in result.skipped["aux"]  # misc channels only
    path = mne_bids.get_bids_path_from_fname(result.written["emg"])
    path.update(root=tmp_path / "bids")
    raw = mne_bids.read_raw_bids(path, verbose=False)
    assert raw.get_channel_types() == ["emg", "emg"]
    assert path.subject == "07" and path.task == "demo"
    assert list(raw.annotations.description) == ["rest", "fist"]
    assert np.allclose(raw.get_data(), data.T * 1e-6, atol=np.ptp(data) * 1e-6 / 2**15)


def test_bids_refuses_a_session_with_no_bids_channel_type(tmp_path):
    pytest.importorskip("mne_bids")
    session = ZarrStore(tmp_path).open_session(SessionMeta("x", [StreamInfo("force", 1, 100.0)]))
    session.append("force", np.zeros((100, 1), np.float32), np.arange(100) / 100)
    location = session.close().location
    with open_session(location) as s, pytest.raises(ExportError, match="fif or edf"):
        export_session(s, "bids", tmp_path / "bids")


def test_refusals_say_what_to_do(tmp_path):
    location, _ = make_session(tmp_path)
    with open_session(location) as s:
        with pytest.raises(ExportError, match="give a folder"):
            export_session(s, "fif", tmp_path / "x_raw.fif")  # two regular streams, one file
        with pytest.raises(ExportError, match="choose one of fif, edf, bids"):
            export_session(s, "mat")
        export_session(s, "fif", tmp_path / "o")
        with pytest.raises(ExportError, match="--overwrite"):
            export_session(s, "fif", tmp_path / "o")


def test_cli_export(tmp_path, capsys):
    location, _ = make_session(tmp_path)
    assert main(["export", location, "--format", "fif", "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "emg:" in out and "marks: not exported" in out
    assert len(list((tmp_path / "cli").glob("*_raw.fif"))) == 2
    assert main(["export", str(tmp_path / "nothing"), "--format", "fif"]) == 2
    assert "cannot" in capsys.readouterr().err


def test_an_imported_xdf_recording_exports_to_bids(tmp_path):
    """LabRecorder EEG (units spelled "microvolts") -> hexloop import -> BIDS -> mne-bids."""
    mne_bids = pytest.importorskip("mne_bids")
    pytest.importorskip("pyxdf")
    pytest.importorskip("edfio")
    from xdf_writer import XdfOut, write_xdf

    data = (np.random.default_rng(3).standard_normal((500, 2)) * 20).astype(np.float32)
    eeg = XdfOut(1, "EEG", 10.0 + np.arange(500) / RATE, data, rate=RATE, type="EEG",
                 labels=["Cz", "Pz"], units=["microvolts"] * 2)
    cues = XdfOut(2, "cues", np.array([10.5, 11.0]), strings=["left", "right"], type="Markers")
    write_xdf(tmp_path / "run.xdf", [eeg, cues])
    assert main(["import", str(tmp_path / "run.xdf"), "--out", str(tmp_path / "s")]) == 0
    (location,) = (tmp_path / "s").glob("*.session.zip")
    assert main(["export", str(location), "--format", "bids", "--out", str(tmp_path / "b")]) == 0
    (edf,) = (tmp_path / "b").rglob("*_eeg.edf")
    path = mne_bids.get_bids_path_from_fname(edf)
    path.update(root=tmp_path / "b")
    raw = mne_bids.read_raw_bids(path, verbose=False)
    assert raw.ch_names == ["Cz", "Pz"] and raw.get_channel_types() == ["eeg", "eeg"]
    assert list(raw.annotations.description) == ["left", "right"]
    assert np.allclose(raw.get_data(), data.T * 1e-6, atol=np.ptp(data) * 1e-6 / 2**15)
