"""The package registers its adapters where hexloop looks, and refuses mismatched ports."""

from importlib import metadata

import hexloop.ports
import pytest

import hexloop_forcesensor
from hexloop_forcesensor import ForceSensorSource, UdpTransport


def test_the_adapters_are_registered_under_hexloops_entry_point_group():
    found = {ep.name: ep for ep in metadata.entry_points(group="hexloop.adapters")}
    assert found["source.forcesensor"].load() is ForceSensorSource
    assert found["transport.udp"].load() is UdpTransport
    assert found["source.forcesensor"].dist.name == "hexloop-forcesensor"


@pytest.mark.parametrize("ports", [(2, 0), (0, 9), None])
def test_a_hexloop_with_other_ports_is_refused_with_what_to_install(monkeypatch, ports):
    if ports is None:
        monkeypatch.delattr(hexloop.ports, "PORTS_VERSION")
    else:
        monkeypatch.setattr(hexloop.ports, "PORTS_VERSION", ports)
    with pytest.raises(ImportError, match=r'pip install "hexloop>=0.1,<0.2"'):
        hexloop_forcesensor._check_ports_version()


def test_the_installed_hexloop_has_the_ports_these_adapters_implement():
    hexloop_forcesensor._check_ports_version()  # what importing it did already
    assert hexloop.ports.PORTS_VERSION[0] == hexloop_forcesensor.PORTS_VERSION_NEEDED[0]
