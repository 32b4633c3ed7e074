"""hexloop-forcesensor: a synthetic force sensor Source and a UDP Transport for hexloop.

Registered as `source.forcesensor` and `transport.udp` in the `hexloop.adapters` entry points
(pyproject.toml), so a setup file names them `source = "forcesensor"` and `transport = "udp"`.
Importing it checks that the installed hexloop's ports are the version these adapters
implement, and refuses with a sentence saying what to install if not.
"""

from __future__ import annotations

import hexloop.ports

#: The ports version these adapters implement: the same major, at least this minor.
PORTS_VERSION_NEEDED = (1, 0)


def _check_ports_version() -> None:
    have = getattr(hexloop.ports, "PORTS_VERSION", None)
    need = PORTS_VERSION_NEEDED
    if have is None or have[0] != need[0] or tuple(have) < need:
        shown = "none" if have is None else ".".join(map(str, have))
        raise ImportError(
            f"hexloop-forcesensor implements hexloop's ports {need[0]}.x (at least "
            f"{need[0]}.{need[1]}), but the installed hexloop has ports version {shown}; "
            f'install a matching hexloop: pip install "hexloop>=0.1,<0.2"'
        )


_check_ports_version()

from .datagram import Datagram, decode_datagram, encode_datagram  # noqa: E402
from .source import ForceSensorSource  # noqa: E402
from .transport import UdpTransport  # noqa: E402

__all__ = ["Datagram", "ForceSensorSource", "UdpTransport", "decode_datagram", "encode_datagram",
           "PORTS_VERSION_NEEDED"]
