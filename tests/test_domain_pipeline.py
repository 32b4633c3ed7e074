"""Training data checks, training jobs (cancel, progress), predictions, session metadata."""

import datetime as dt
import threading

import numpy as np
import pytest

from hexloop.domain.pipeline import (
    Prediction,
    TrainingCancelled,
    TrainingData,
    TrainingJob,
    TrainingProgress,
)
from hexloop.domain.session import SessionMeta
from hexloop.domain.streams import StreamInfo


def test_training_data_refuses_what_cannot_be_trained():
    with pytest.raises(ValueError, match="3 feature windows but 2 targets"):
        TrainingData(np.zeros((3, 2)), np.zeros(2, int), ("a", "b"))
    with pytest.raises(ValueError, match="no training windows: record labelled trials first"):
        TrainingData(np.zeros((0, 2)), np.zeros(0, int), ("a", "b"))
    with pytest.raises(ValueError, match=r"class indices \[-1, 2\] have no name"):
        TrainingData(np.zeros((3, 2)), np.array([0, 2, -1]), ("a", "b"))
    with pytest.raises(ValueError, match="task must be 'classification' or 'regression'"):
        TrainingData(np.zeros((1, 2)), np.zeros(1), ("a",), task="clustering")
    regression = TrainingData(np.zeros((2, 2)), np.array([[0.5], [7.0]]), ["force"], "regression")
    assert len(regression) == 2 and regression.names == ("force",)


def test_job_reports_progress_and_cancels_cooperatively():
    seen = []
    job = TrainingJob(on_progress=seen.append)
    job.report(epoch=1, epochs=4, loss=0.5)
    job.report(epoch=2)
    assert [(p.epoch, p.epochs, p.loss) for p in seen] == [(1, 4, 0.5), (2, 4, 0.5)]
    assert job.progress.fraction == 0.5
    job.raise_if_cancelled()  # not cancelled: nothing happens
    threading.Thread(target=job.cancel).start()
    with pytest.raises(TrainingCancelled):
        for _ in range(10_000_000):
            job.raise_if_cancelled()
    assert job.cancelled


def test_progress_fraction_is_bounded():
    assert TrainingProgress().fraction == 0.0
    assert TrainingProgress(epoch=7, epochs=5).fraction == 1.0


def test_prediction_is_frozen_and_vectors_by_name():
    values = {"p_rest": 0.25, "p_fist": 0.75}
    p = Prediction(values, tick=3, input_time=1.5, compute_s=0.001)
    values["p_rest"] = 1.0  # the caller's dict is not shared
    assert p.values["p_rest"] == 0.25
    with pytest.raises(TypeError):
        p.values["p_rest"] = 0.0
    assert p.vector(["p_fist", "p_rest"]).tolist() == [0.75, 0.25]
    with pytest.raises(KeyError, match=r"prediction has no \['p_open'\]; it has"):
        p.vector(["p_open"])


def test_session_meta_checks_names_and_timezone():
    emg = StreamInfo("emg", 2, 100.0)
    meta = SessionMeta("app", [emg], ["rest"])
    assert meta.stream("emg") is emg
    assert meta.created.tzinfo is not None
    with pytest.raises(KeyError, match=r"no stream 'eeg' in this session; it has \['emg'\]"):
        meta.stream("eeg")
    with pytest.raises(ValueError, match="stream names in a session must be unique"):
        SessionMeta("app", [emg, emg])
    with pytest.raises(ValueError, match="needs a timezone"):
        SessionMeta("app", [emg], created=dt.datetime(2024, 1, 1))
