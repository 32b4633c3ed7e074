"""The datagrams UdpTransport sends, and `decode_datagram` for the receiving side (a game).

Two encodings, one prediction per datagram:

- ``json``: ``{"seq": 7, "timestamp": 1234.5, "channels": ["rest", "fist"], "values": [0.1, 0.9]}``
  in UTF-8; a value that is not finite (NaN, infinity) is sent as ``null``, so the datagram stays
  valid JSON and the receiver sees which value was missing.
- ``struct``: a 20-byte little-endian header, then one float64 per channel::

      b"HXLP" | version u8 (1) | pad | count u16 | seq u32 | timestamp f64 | count * f64

  Channel names are not sent; the receiver knows them from its configuration. `seq` wraps at
  2**32.

`seq` counts datagrams from 0 since `open`, so a receiver can count what the network lost.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"HXLP"
VERSION = 1
HEADER = struct.Struct("<4sBxHId")
ENCODINGS = ("json", "struct")
#: The largest payload one IPv4 UDP datagram carries.
MAX_DATAGRAM = 65507


@dataclass(frozen=True)
class Datagram:
    """One prediction as received: `channels` is None for the struct encoding."""

    seq: int
    timestamp: float
    values: tuple[float, ...]
    channels: tuple[str, ...] | None = None


def encode_datagram(encoding: str, seq: int, timestamp: float, values: Sequence[float],
                    channels: Sequence[str]) -> bytes:
    """One datagram; ValueError names the encodings when `encoding` is not one of them."""
    if not math.isfinite(timestamp):
        raise ValueError(f"a datagram's timestamp must be a finite number, got {timestamp}")
    if encoding == "json":
        doc = {"seq": seq, "timestamp": timestamp, "channels": list(channels),
               "values": [v if math.isfinite(v) else None for v in map(float, values)]}
        return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if encoding == "struct":
        header = HEADER.pack(MAGIC, VERSION, len(values), seq % 2**32, timestamp)
        return header + struct.pack(f"<{len(values)}d", *values)
    raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")


def decode_datagram(data: bytes) -> Datagram:
    """Read either encoding; ValueError saying what is wrong for anything else."""
    if data[:4] == MAGIC:
        return _decode_struct(data)
    if data[:1] == b"{":
        return _decode_json(data)
    raise ValueError(f"not a hexloop datagram: starts with {data[:8]!r}, expected "
                     f"{MAGIC!r} or a JSON object")


def _decode_struct(data: bytes) -> Datagram:
    if len(data) < HEADER.size:
        raise ValueError(f"struct datagram of {len(data)} bytes is shorter than its "
                         f"{HEADER.size}-byte header")
    _, version, count, seq, timestamp = HEADER.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"struct datagram version {version}; this decoder reads {VERSION}")
    want = HEADER.size + 8 * count
    if len(data) != want:
        raise ValueError(f"struct datagram announces {count} values ({want} bytes) "
                         f"but has {len(data)} bytes")
    values = struct.unpack_from(f"<{count}d", data, HEADER.size)
    return Datagram(seq, timestamp, values)


def _decode_json(data: bytes) -> Datagram:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"JSON datagram does not parse: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError("JSON datagram must be an object")
    seq, timestamp = doc.get("seq"), doc.get("timestamp")
    values, channels = doc.get("values"), doc.get("channels")
    if type(seq) is not int or seq < 0:
        raise ValueError(f"JSON datagram: 'seq' must be a count >= 0, got {seq!r}")
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        raise ValueError(f"JSON datagram: 'timestamp' must be a number, got {timestamp!r}")
    if not isinstance(values, list) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        raise ValueError("JSON datagram: 'values' must be a list of numbers (null for missing)")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise ValueError("JSON datagram: 'channels' must be a list of names")
    if len(channels) != len(values):
        raise ValueError(f"JSON datagram: {len(values)} values for {len(channels)} channels")
    return Datagram(seq, float(timestamp),
                    tuple(math.nan if v is None else float(v) for v in values), tuple(channels))
