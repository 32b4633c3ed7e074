"""The pylsl and mne-lsl prediction outlets: contract, a foreign client reading them, misuse."""

import time

import numpy as np
import pytest

pytest.importorskip("pylsl")
pytest.importorskip("mne_lsl")

from lsl_helpers import Receiving, other, unique  # noqa: E402

from hexloop.adapters.mne_lsl import MneLslTransport  # noqa: E402
from hexloop.adapters.pylsl import PylslTransport, list_streams  # noqa: E402
from hexloop.ports.contracts import check_transport  # noqa: E402

TRANSPORTS = {"pylsl": PylslTransport, "mne_lsl": MneLslTransport}


@pytest.fixture(params=sorted(TRANSPORTS))
def binding(request) -> str:
    return request.param


def test_contract_with_the_other_binding_receiving(binding):
    wrapped = Receiving(TRANSPORTS[binding](unique("pred")), other(binding))
    check_transport(
        lambda: wrapped, channels=("p_rest", "p_fist", "p_pinch"), received=wrapped.received
    )


def test_mne_lsl_stream_client_reads_the_predictions(binding):
    from mne_lsl.stream import StreamLSL

    name = unique("pred")
    transport = TRANSPORTS[binding](name)
    transport.open(["p_rest", "p_fist"], 50.0)
    client = StreamLSL(bufsize=2.0, name=name)
    try:
        client.connect(acquisition_delay=0.005, timeout=5.0)
        assert client.ch_names == ["p_rest", "p_fist"]
        start = time.monotonic()
        sent = np.column_stack([np.linspace(0, 1, 20), np.linspace(1, 0, 20)])
        for k, row in enumerate(sent):
            transport.send(row, start + k / 50.0)
        deadline = time.monotonic() + 5.0
        while client.n_new_samples < len(sent):
            assert time.monotonic() < deadline, f"StreamLSL saw {client.n_new_samples} samples"
            time.sleep(0.01)
        data, ts = client.get_data(winsize=len(sent) / 50.0)
    finally:
        client.disconnect()
        transport.close()
    np.testing.assert_allclose(data.T, sent, rtol=1e-6)  # float32 on the wire
    np.testing.assert_allclose(ts, start + np.arange(len(sent)) / 50.0, atol=1e-3)


def test_misuse_is_refused_with_a_reason(binding):
    transport = TRANSPORTS[binding](unique("pred"))
    with pytest.raises(RuntimeError, match="not opened yet"):
        transport.send(np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="repeat"):
        transport.open(["a", "a"], 10.0)
    with pytest.raises(ValueError, match="at least one channel"):
        transport.open([], 10.0)
    transport.open(["a", "b"], 10.0)
    try:
        with pytest.raises(
            ValueError, match=r"2 channels \['a', 'b'\]; got a sample of shape \(3,\)"
        ):
            transport.send(np.zeros(3), time.monotonic())
    finally:
        transport.close()
    with pytest.raises(RuntimeError, match="closed"):
        transport.send(np.zeros(2), 0.0)
    transport.close()  # twice is harmless


def test_close_removes_the_outlet_from_the_network(binding):
    name = unique("pred")
    transport = TRANSPORTS[binding](name)
    transport.open(["a"], 10.0)
    visible = {s.name: s for s in list_streams(0.6)}
    assert visible[name].channel_count == 1 and visible[name].type == "Predictions"
    assert visible[name].format == "float32" and visible[name].sampling_rate == 10.0
    transport.close()
    assert name not in {s.name for s in list_streams(0.6)}
