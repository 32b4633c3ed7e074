"""UdpTransport: each prediction as one UDP datagram to a game (127.0.0.1:9870 by default)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import numpy as np

from .datagram import ENCODINGS, MAX_DATAGRAM, encode_datagram


class UdpTransport:
    """A Transport (`hexloop.ports.Transport`) sending datagrams to `host:port`.

    Threading, as the port requires: `open`, `send` and `close` are called from one Output
    thread only. `send` never blocks: the socket is non-blocking, so a full send buffer raises
    BlockingIOError (an OSError) for that one prediction, which the Output thread counts and
    reports while it goes on sending the next ones. UDP does not tell the sender whether
    anyone listens: a game that is not running loses datagrams silently; `seq` in each datagram
    lets the receiver count the gaps. `send` after `close` raises RuntimeError; `close` twice
    is harmless.
    """

    def __init__(self, port: int = 9870, host: str = "127.0.0.1", encoding: str = "json"):
        if isinstance(port, float) and port.is_integer():
            port = int(port)
        if type(port) is not int or not 1 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 1 to 65535, got {port!r}")
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
        self.host, self.port, self.encoding = host, port, encoding
        self.channels: list[str] = []
        self.sent = 0  # datagrams handed to the network since open
        self._sock: socket.socket | None = None
        self._address: tuple | None = None

    def open(self, channels: Sequence[str], rate: float) -> None:
        """Resolve the address and make the socket; OSError if the host does not resolve."""
        self.close()
        family, _, _, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self.channels, self.sent = list(channels), 0
        self._sock, self._address = sock, address

    def send(self, sample: np.ndarray, timestamp: float) -> None:
        sock = self._sock
        if sock is None:
            raise RuntimeError("send() on a UdpTransport that is not open; open() it first")
        values = np.asarray(sample, dtype=np.float64).ravel()
        if values.size != len(self.channels):
            raise ValueError(f"sample has {values.size} values for {len(self.channels)} channels "
                             f"{self.channels}")
        payload = encode_datagram(self.encoding, self.sent, float(timestamp), values.tolist(),
                                  self.channels)
        if len(payload) > MAX_DATAGRAM:
            raise ValueError(f"a {len(payload)}-byte datagram does not fit UDP's {MAX_DATAGRAM}; "
                             "send fewer channels or use encoding = \"struct\"")
        sock.sendto(payload, self._address)
        self.sent += 1

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
