"""A real UDP receiver on 127.0.0.1 (loopback only) for the transport tests."""

from __future__ import annotations

import select
import socket
import time

import pytest

from hexloop_forcesensor import Datagram, decode_datagram


class Receiver:
    """A UDP socket bound to a free loopback port; `take()` returns what arrived since."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def take(self) -> list[Datagram]:
        got = []
        while True:
            try:
                got.append(decode_datagram(self.sock.recv(65535)))
            except BlockingIOError:
                return got

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Datagram]:
        """At least `n` datagrams, or as many as arrived before the deadline."""
        got, deadline = self.take(), time.monotonic() + timeout
        while len(got) < n and (left := deadline - time.monotonic()) > 0:
            select.select([self.sock], [], [], left)  # wakes when a datagram arrives
            got += self.take()
        return got


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.sock.close()
