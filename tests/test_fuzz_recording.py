"""Property tests of the recording side: the discontinuities parser, and the rescue of a session
whose folder is removed at any moment while the writer thread is busy.

Short by default; HEXLOOP_FULL_FUZZ=1 runs many more examples.
"""

import json
import os
import shutil
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("zarr")

from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.adapters.zarr.discontinuities import (  # noqa: E402
    decode_discontinuities,
    encode_discontinuity,
)
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import Discontinuity, StreamInfo  # noqa: E402

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
records = st.lists(st.tuples(st.sampled_from(["emg", "imu"]), st.integers(0, 2**40), finite,
                             finite), max_size=8)


@settings(max_examples=1000 if FULL else 100, deadline=None)
@given(records, st.data())
def test_discontinuities_parse_back_and_damage_never_raises(items, data):
    raw = b"".join(encode_discontinuity(*item) for item in items)
    found, problems = decode_discontinuities(raw, ["emg", "imu"])
    assert found == [Discontinuity(*item) for item in items] and problems == []
    if raw:  # cut it anywhere and flip a byte: parsed lines stay right, the rest is reported
        cut = data.draw(st.integers(0, len(raw)))
        damaged = bytearray(raw[:cut])
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= data.draw(st.integers(1, 255))
        found, problems = decode_discontinuities(bytes(damaged), ["emg", "imu"])
        for line in bytes(damaged).split(b"\n"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("stream") in ("emg", "imu"):
                assert any(d.stream == record["stream"] for d in found) or problems
        assert len(found) + len(problems) <= len(items) + 1


INFO = StreamInfo("emg", 2, 100.0)


@settings(max_examples=60 if FULL else 8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 25), min_size=2, max_size=12), data=st.data())
def test_a_folder_removed_at_any_moment_keeps_every_label_and_a_whole_tail(tmp_path, sizes, data):
    removal = data.draw(st.integers(0, len(sizes)), label="chunks before the removal")
    labelled = data.draw(st.sets(st.integers(0, len(sizes) - 1)), label="chunks with a label")
    store = ZarrStore(tmp_path / f"s{time.monotonic_ns()}", chunk_seconds=0.1)
    session = store.open_session(SessionMeta("x", [INFO], class_names=("rest", "fist")))
    folder, sent, labels, start = session.location, [], [], 0
    for k, n in enumerate(sizes):
        if k == removal:
            shutil.rmtree(folder, ignore_errors=True)  # races the writer thread on purpose
        chunk = np.stack([np.arange(start, start + n)] * 2, axis=1).astype(np.float32)
        session.append("emg", chunk, np.arange(start, start + n) / 100.0)
        sent.append(chunk)
        start += n
        if k in labelled:
            labels.append(start / 100.0)
            session.add_label(LabelEvent(labels[-1], k % 2))
    summary = session.close()
    everything = np.concatenate(sent)
    with open_session(summary.location) as back:
        assert [e.time for e in back.labels.events] == labels  # every label, always
        data_back, _ = back.data("emg")
        if removal < len(sizes):
            assert "was removed while recording" in summary.error
            first = back.document["rescued"]["first_sample"]["emg"]
            assert first % 10 == 0  # blocks written before the removal went with it
        else:
            assert summary.error is None
            first = 0
        assert np.array_equal(data_back.T, everything[first:])  # nothing after it is lost


def test_odd_but_valid_json_lines_are_skipped_and_reported():
    raw = (b'{"stream": "emg", "sample": Infinity, "before": 0, "after": 1}\n'
           b'{"stream": "emg", "sample": -3, "before": 0, "after": 1}\n'
           b'[1, 2]\n'
           b'{"stream": "eeg", "sample": 3, "before": 0, "after": 1}\n'
           b'{"stream": "emg", "sample": 4, "before": null, "after": 1}\n')
    found, problems = decode_discontinuities(raw, ["emg"])
    assert len(found) == 1 and found[0].sample == 4 and np.isnan(found[0].before)
    assert len(problems) == 4 and "no stream 'eeg'" in problems[3]
