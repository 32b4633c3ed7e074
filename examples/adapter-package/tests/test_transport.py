"""UdpTransport honours hexloop's Transport port, checked with a real UDP socket on loopback."""

import math

import numpy as np
import pytest
from hexloop.ports import Transport
from hexloop.ports.contracts import check_transport
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop_forcesensor import UdpTransport, decode_datagram, encode_datagram


@pytest.mark.parametrize("encoding", ["json", "struct"])
def test_passes_hexloops_transport_contract_with_a_real_receiver(receiver, encoding):
    def received():
        return [np.array(d.values) for d in receiver.take()]

    check_transport(lambda: UdpTransport(port=receiver.port, encoding=encoding),
                    channels=("rest", "light", "firm"), received=received)


def test_is_a_transport_by_the_port_protocol():
    assert isinstance(UdpTransport(), Transport)


def test_json_datagrams_carry_names_order_and_the_prediction_timestamp(receiver):
    transport = UdpTransport(port=receiver.port)
    transport.open(["rest", "fist"], 50.0)
    for k in range(5):
        transport.send(np.array([1.0 - k / 10, k / 10]), 1000.0 + k / 50)
    transport.close()
    got = receiver.wait_for(5)
    assert [d.seq for d in got] == [0, 1, 2, 3, 4]  # loopback loses nothing
    assert all(d.channels == ("rest", "fist") for d in got)
    assert got[3].values == (0.7, 0.3)
    assert got[3].timestamp == 1000.0 + 3 / 50


def test_a_missing_value_arrives_as_missing_not_as_invalid_json(receiver):
    transport = UdpTransport(port=receiver.port)
    transport.open(["a", "b"], 10.0)
    transport.send(np.array([math.nan, 2.0]), 5.0)
    transport.close()
    (d,) = receiver.wait_for(1)
    assert math.isnan(d.values[0]) and d.values[1] == 2.0


def test_nobody_listening_is_not_an_error():
    receiverless = UdpTransport(port=9)  # discard port on loopback: nothing is bound there
    receiverless.open(["a"], 10.0)
    for _ in range(3):
        receiverless.send(np.array([1.0]), 1.0)
    assert receiverless.sent == 3
    receiverless.close()


def test_refuses_bad_settings_and_samples_with_a_sentence():
    with pytest.raises(ValueError, match="port must be"):
        UdpTransport(port=70000)
    with pytest.raises(ValueError, match="unknown encoding"):
        UdpTransport(encoding="xml")
    transport = UdpTransport()
    with pytest.raises(RuntimeError, match="not open"):
        transport.send(np.zeros(1), 0.0)
    transport.open(["a", "b"], 10.0)
    with pytest.raises(ValueError, match="3 values for 2 channels"):
        transport.send(np.zeros(3), 0.0)
    transport.close()


values = st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=16)


@settings(max_examples=200, deadline=None)
@given(values=values, seq=st.integers(0, 2**40),
       timestamp=st.floats(allow_nan=False, allow_infinity=False))
def test_both_encodings_round_trip(values, seq, timestamp):
    names = [f"c{i}" for i in range(len(values))]
    for encoding in ("json", "struct"):
        d = decode_datagram(encode_datagram(encoding, seq, timestamp, values, names))
        assert d.values == tuple(values) and d.timestamp == timestamp
        assert d.seq == (seq if encoding == "json" else seq % 2**32)
        assert d.channels == (tuple(names) if encoding == "json" else None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.binary(max_size=40).map(lambda b: b"HXLP" + b),
                 st.text(max_size=40).map(lambda t: ("{" + t).encode())))
def test_any_bytes_decode_or_raise_a_value_error_saying_why(data):
    try:
        decode_datagram(data)
    except ValueError as e:
        assert str(e)
