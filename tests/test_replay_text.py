"""Text recordings as labs export them: gaps, repeated times, units, labels; the real UCI files."""


import numpy as np
import pytest
from shared_data import UCI_EMG

from hexloop.adapters.replay import load_text_recording, read_text_recording

UCI = UCI_EMG


def _write(path, text):
    path.write_text(text)
    return path


def test_gaps_and_repeated_times_go_onto_the_nominal_grid(tmp_path):
    rows = [(10, 0), (11, 0), (12, 1), (13, 1), (15, 1), (16, 2), (16, 2), (17, 2), (18, 0)]
    text = "time\tch1\tch2\tclass\n" + "".join(
        f"{t}\t{i}\t{-i}\t{k}\n" for i, (t, k) in enumerate(rows))
    rec = read_text_recording(_write(tmp_path / "rec.txt", text))
    assert rec.info.sampling_rate == 1000.0  # median step 1 ms
    assert rec.info.channel_names == ("ch1", "ch2") and rec.info.dtype == "float32"
    assert np.allclose(rec.timestamps, 0.010 + np.arange(9) / 1000.0)
    # 14 ms has no row: it repeats 13 ms; the two rows at 16 ms share a slot: the later wins
    assert rec.data[:, 0].tolist() == [0, 1, 2, 3, 3, 4, 6, 7, 8]
    assert np.array_equal(rec.data[:, 1], -rec.data[:, 0])
    assert (rec.rows, rec.filled, rec.merged) == (9, 1, 1)
    assert rec.labels.class_names == ("0", "1", "2")
    assert [(round(e.time, 6), e.class_index) for e in rec.labels.events] == [
        (0.010, 0), (0.012, 1), (0.016, 2), (0.018, 0)]


def test_keeping_every_row_instead_of_resampling(tmp_path):
    text = "time,a,b\n0,1,2\n1,3,4\n1,5,6\n2,7,8\n5,9,10\n6,11,12\n"
    rec = read_text_recording(_write(tmp_path / "rec.csv", text), resample=False)
    assert rec.data[:, 0].tolist() == [1, 3, 5, 7, 9, 11]
    assert np.allclose(rec.timestamps, [0, 0.001, 0.0015, 0.002, 0.005, 0.006])
    assert rec.labels.class_names == ()


def test_seconds_without_header_and_an_explicit_label_column(tmp_path):
    text = "0.000 1.5 7\n0.002 2.5 7\n0.004 3.5 9\n0.008 4.5 9\n"
    info, data, ts, labels = load_text_recording(
        _write(tmp_path / "rec.dat", text), label_column=2, class_names={7: "rest", 9: "fist"},
        dtype="float64", units="mV", stream_type="EMG", name="arm")
    assert info.name == "arm" and info.sampling_rate == 500.0 and info.channel_count == 1
    assert info.units == ("mV",) and info.type == "EMG" and data.dtype == np.float64
    assert np.allclose(ts, [0, 0.002, 0.004, 0.006, 0.008])
    assert data[:, 0].tolist() == [1.5, 2.5, 3.5, 3.5, 4.5]
    assert labels.class_names == ("rest", "fist")
    assert [(e.time, e.class_index) for e in labels.events] == [(0.0, 0), (0.004, 1)]


def test_a_coarse_clock_with_repeats_everywhere_recovers_the_true_rate(tmp_path):
    times = np.repeat(np.arange(50), 4)  # 4 kHz sampling, 1 ms clock
    text = "time_ms;x\n" + "".join(f"{t};{i}\n" for i, t in enumerate(times))
    rec = read_text_recording(_write(tmp_path / "rec.txt", text))
    assert rec.info.sampling_rate == 4000.0
    assert rec.data[:, 0].tolist() == list(range(200))  # nothing merged or filled
    assert (rec.filled, rec.merged) == (0, 0)


def test_string_labels_keep_their_order_of_appearance(tmp_path):
    text = "t (s),emg,label\n0,1,rest\n0.01,2,rest\n0.02,3,fist\n0.03,4,rest\n0.04,5,open\n"
    rec = read_text_recording(_write(tmp_path / "rec.csv", text))
    assert rec.info.sampling_rate == 100.0
    assert rec.labels.class_names == ("rest", "fist", "open")
    assert [e.class_index for e in rec.labels.events] == [0, 1, 0, 2]


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="time goes backwards at data row 3"):
        read_text_recording(_write(tmp_path / "a.txt", "time\tx\n1\t0\n2\t0\n1\t0\n"))
    with pytest.raises(ValueError, match="no data rows"):
        read_text_recording(_write(tmp_path / "b.txt", "\n\n"))
    with pytest.raises(ValueError, match="at least two rows"):
        read_text_recording(_write(tmp_path / "c.txt", "time\tx\n1\t0\n"))
    with pytest.raises(ValueError, match="cannot read the numeric columns"):
        read_text_recording(_write(tmp_path / "d.txt", "time\tx\n1\t0\n2\tabc\n"))
    with pytest.raises(ValueError, match="have no name in class_names"):
        read_text_recording(_write(tmp_path / "e.txt", "time\tx\tclass\n1\t0\t1\n2\t0\t2\n"),
                            class_names={1: "rest"})
    with pytest.raises(ValueError, match="no label column named 'cue'"):
        read_text_recording(_write(tmp_path / "f.txt", "time\tx\n1\t0\n2\t0\n"),
                            label_column="cue")


@pytest.mark.skipif(not UCI.is_dir(), reason="the UCI EMG gestures data is not here")
def test_the_uci_myo_recordings_load_on_a_1khz_grid_with_their_labels():
    path = UCI / "03" / "2_raw_data_09-34_11.04.16.txt"
    raw = np.loadtxt(path, skiprows=1)
    times, values, classes = raw[:, 0].astype(int), raw[:, 1:9], raw[:, 9].astype(int)
    rec = read_text_recording(path, units="V", stream_type="EMG")
    assert rec.info.channel_count == 8 and rec.info.sampling_rate == 1000.0
    assert rec.rows == len(times) and rec.merged == 0
    assert len(rec.timestamps) == times[-1] - times[0] + 1
    assert rec.filled == len(rec.timestamps) - len(times)
    assert 0 < rec.filled < 0.1 * len(times)  # Bluetooth drops a few percent of the packets
    assert np.allclose(rec.timestamps[0], times[0] / 1000)
    # every row sits at its own millisecond, unchanged
    assert np.array_equal(rec.data[times - times[0]], values.astype(np.float32))
    # label events are the rows where the class column changes, at the file's times
    change = np.concatenate(([0], np.flatnonzero(np.diff(classes)) + 1))
    assert [round(e.time * 1000) for e in rec.labels.events] == times[change].tolist()
    names = rec.labels.class_names
    assert [names[e.class_index] for e in rec.labels.events] == [str(c) for c in classes[change]]


def test_a_piped_recording_is_read_once(tmp_path):
    """A named pipe can be read only once: the loader must not reopen the file."""
    import os
    import threading

    fifo = tmp_path / "live.txt"
    os.mkfifo(fifo)
    text = "time\tx\tclass\n" + "".join(f"{t}\t{t * 2}\t{t // 5}\n" for t in range(10))

    def feed():
        with open(fifo, "w") as f:
            f.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    rec = read_text_recording(fifo)
    writer.join(5)
    assert rec.data[:, 0].tolist() == [t * 2 for t in range(10)]
    assert rec.labels.class_names == ("0", "1")


def test_the_dialect_is_sniffed_quoted_names_and_semicolons(tmp_path):
    text = '"time (ms)";"ch 1";"ch 2";"gesture"\n' + "".join(
        f'{t};"{t}.5";{-t};"{"rest" if t < 3 else "fist"}"\n' for t in range(6))
    rec = read_text_recording(_write(tmp_path / "quoted.csv", text))
    assert rec.info.channel_names == ("ch 1", "ch 2")
    assert rec.data[:, 0].tolist() == [t + 0.5 for t in range(6)]
    assert rec.labels.class_names == ("rest", "fist")
    assert rec.info.sampling_rate == 1000.0
