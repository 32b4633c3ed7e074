"""Every fake (and the simulated source) passes its port's contract check, and each check can
fail: a deliberately broken adapter makes it raise AssertionError."""

import io

import numpy as np
import pytest

from hexloop.adapters.fakes import (
    FakeClock,
    FakeModel,
    FakeRenderer,
    FakeSource,
    FakeStore,
    FakeTransport,
)
from hexloop.adapters.fakes.store import FakeRecording
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, HeadlessRenderer
from hexloop.domain.labels import LabelEvent
from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.pipeline import TrainingData, TrainingJob
from hexloop.ports.contracts import (
    check_clock,
    check_model,
    check_renderer,
    check_source,
    check_store,
    check_transport,
)
from hexloop.ports.model import ModelFileError


def training_data() -> TrainingData:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 10)
    x = rng.standard_normal((30, 4)) + y[:, None] * 3.0
    return TrainingData(x, y, ("rest", "fist", "open"))


# --- the fakes pass ---------------------------------------------------------------------------


def test_fake_source_passes():
    info = check_source(lambda: FakeSource.steady("fake", channels=3, chunks=5), min_samples=50)
    assert info.channel_count == 3


def test_simulated_source_passes():
    info = check_source(lambda: SimulatedSource("sim", channels=4, rate=2000.0), min_samples=20)
    assert (info.channel_count, info.sampling_rate) == (4, 2000.0)


def test_fake_transport_passes_and_its_receiver_sees_the_samples():
    transport = FakeTransport()
    check_transport(lambda: transport, channels=("x", "y", "z"), received=transport.received)
    assert transport.channels == ["x", "y", "z"]
    assert len(transport.sent) == 3


def test_fake_model_passes():
    check_model(FakeModel, training_data())


def test_fake_store_passes():
    check_store(FakeStore)


@pytest.mark.parametrize("clock", [FakeClock(), MonotonicClock()], ids=["fake", "monotonic"])
def test_clocks_pass(clock):
    check_clock(clock)


@pytest.mark.parametrize(
    "make", [lambda: FakeRenderer(frame_s=0.005), lambda: HeadlessRenderer(out=io.StringIO())],
    ids=["fake", "headless"],
)
def test_renderers_pass_with_an_app_as_target(make):
    check_renderer(make, App("contract"))


# --- each check can fail ----------------------------------------------------------------------


class SendsAfterClose(FakeTransport):
    def send(self, sample, timestamp):
        if not self.closed:
            super().send(sample, timestamp)


class GarblingTransport(FakeTransport):
    def received(self):
        return [sample + 1 for sample in super().received()]


class HalfLoads(FakeModel):
    """Adopts a file's names and zeroes its centroids before finding out the file is bad."""

    def load(self, path):
        if self._centroids is not None:
            self._names = ("half", "loaded", "names")
            self._centroids = np.zeros_like(self._centroids)
        super().load(path)


class LoadsAnything(FakeModel):
    def load(self, path):
        try:
            super().load(path)
        except ModelFileError:
            pass


class IgnoresCancel(FakeModel):
    def fit(self, data, job):
        super().fit(data, TrainingJob())


class WrongDtypeSource(FakeSource):
    def read(self):
        data, ts = super().read()
        return data.astype(np.float64), ts


class BackwardsSource(FakeSource):
    def read(self):
        data, ts = super().read()
        return data, ts[::-1].copy()


class ExtraChannelSource(FakeSource):
    def read(self):
        data, ts = super().read()
        return np.hstack([data, data[:, :1]]), ts


class ForgetfulRecording(FakeRecording):
    """Silently stops keeping one stream's chunks after the fifth."""

    def append(self, stream, data, timestamps):
        if stream != "force" or len(self._chunks["force"]) < 5:
            super().append(stream, data, timestamps)


class LabelMixingRecording(FakeRecording):
    def add_label(self, event):
        super().add_label(LabelEvent(event.time, 0))


def store_of(recording_cls):
    class BrokenStore(FakeStore):
        def open_session(self, meta):
            return recording_cls(self, meta, f"memory://{recording_cls.__name__}")

    return BrokenStore


class BackwardsClock(FakeClock):
    def now(self):
        self.advance(-1.0)
        return super().now()


class UninterruptibleClock(FakeClock):
    def sleep(self, seconds, interrupt=None):
        self.advance(seconds)
        return False


class ReturnsAtOnce:
    def run(self, target):
        return None


def steady(cls):
    return lambda: cls.steady("broken", channels=2, chunks=5)


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda: check_source(object), "does not implement the Source port"),
        (lambda: check_source(steady(WrongDtypeSource)), "read\\(\\) gave float64, info says float32"),
        (lambda: check_source(steady(BackwardsSource)), "timestamps went back"),
        (lambda: check_source(steady(ExtraChannelSource)), "read\\(\\) gave 3 channels"),
        (lambda: check_source(steady(FakeSource), min_samples=10_000, timeout=0.2),
         "only 50/10000 samples"),
        (lambda: check_transport(SendsAfterClose), "send\\(\\) after close\\(\\) must raise"),
        (lambda: check_model(HalfLoads, training_data()), "failed load changed model"),
        (lambda: check_model(LoadsAnything, training_data()), "corrupt file must raise ModelFileError"),
        (lambda: check_model(IgnoresCancel, training_data()), "must raise TrainingCancelled"),
        (lambda: check_store(store_of(ForgetfulRecording)), "force: summary count wrong"),
        (lambda: check_store(store_of(LabelMixingRecording)), "labels did not round-trip"),
        (lambda: check_clock(BackwardsClock()), "Clock.now\\(\\) went backwards"),
        (lambda: check_clock(UninterruptibleClock()), "must return True when interrupted"),
        (lambda: check_renderer(ReturnsAtOnce, App("broken")), "returned before exit"),
    ],
    ids=["not-a-source", "source-dtype", "source-time", "source-channels", "source-starved",
         "transport-close", "model-half-load", "model-bad-file", "model-cancel",
         "store-loses-data", "store-mixes-labels", "clock-backwards", "clock-interrupt",
         "renderer-ignores-exit"],
)
def test_a_broken_adapter_fails_its_check(check, message):
    with pytest.raises(AssertionError, match=message):
        check()


def test_a_transport_whose_receiver_sees_other_values_fails():
    transport = GarblingTransport()
    with pytest.raises(AssertionError, match="sent \\[0. 1.\\], received \\[1. 2.\\]"):
        check_transport(lambda: transport, received=transport.received)


def test_the_simulated_source_refuses_a_rate_it_could_never_deliver():
    with pytest.raises(ValueError, match="needs a positive rate"):
        SimulatedSource(rate=0.0)
