"""A small XDF writer for tests, written from the XDF 1.0 specification (pyxdf only reads).

    write_xdf(path, [XdfOut(...), ...])

Chunks: the "XDF:" magic, FileHeader (tag 1), StreamHeader (2), Samples (3), ClockOffset (4),
StreamFooter (6). Each chunk is [length-bytes count][length][tag uint16][content], little endian;
a sample is [0 or 8][float64 stamp][values] (strings: a variable-length length, then UTF-8).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np

FORMATS = {"float32": "float32", "float64": "double64", "int8": "int8", "int16": "int16",
           "int32": "int32", "int64": "int64"}


@dataclass
class XdfOut:
    """One stream to write: numeric `data` (n, channels) or `strings` (a list of str)."""

    stream_id: int
    name: str
    timestamps: np.ndarray
    data: np.ndarray | None = None
    strings: list[str] | None = None
    rate: float = 0.0
    type: str = "EEG"
    labels: list[str] | None = None
    units: list[str] | None = None
    offsets: list[tuple[float, float]] = field(default_factory=list)  # (collection time, offset)
    chunk: int = 7  # samples per Samples chunk

    @property
    def channel_format(self) -> str:
        return "string" if self.strings is not None else FORMATS[self.data.dtype.name]

    @property
    def channels(self) -> int:
        return 1 if self.strings is not None else self.data.shape[1]


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def _chunk(tag: int, content: bytes) -> bytes:
    length = len(content) + 2
    return _varlen(length) + struct.pack("<H", tag) + content


def _header_xml(s: XdfOut) -> bytes:
    desc = ""
    if s.labels:
        units = s.units or [""] * len(s.labels)
        desc = "<channels>" + "".join(
            f"<channel><label>{escape(label)}</label><unit>{escape(unit)}</unit></channel>"
            for label, unit in zip(s.labels, units)) + "</channels>"
    return (f'<?xml version="1.0"?><info><name>{escape(s.name)}</name><type>{escape(s.type)}'
            f"</type><channel_count>{s.channels}</channel_count><nominal_srate>{s.rate!r}"
            f"</nominal_srate><channel_format>{s.channel_format}</channel_format>"
            f"<source_id>test-{s.stream_id}</source_id><created_at>0</created_at>"
            f"<desc>{desc}</desc></info>").encode()


def _samples(s: XdfOut, begin: int, end: int) -> bytes:
    out = [struct.pack("<I", s.stream_id), _varlen(end - begin)]
    for i in range(begin, end):
        out.append(b"\x08" + struct.pack("<d", float(s.timestamps[i])))
        if s.strings is not None:
            text = s.strings[i].encode()
            out.append(_varlen(len(text)) + text)
        else:
            out.append(np.ascontiguousarray(s.data[i]).astype(s.data.dtype.newbyteorder("<"))
                       .tobytes())
    return b"".join(out)


def write_xdf(path, streams: list[XdfOut], header_extra: str = "") -> None:
    """Write `streams` as one XDF file, samples interleaved chunk by chunk."""
    parts = [b"XDF:", _chunk(1, f'<?xml version="1.0"?><info><version>1.0</version>'
                               f"{header_extra}</info>".encode())]
    for s in streams:
        parts.append(_chunk(2, struct.pack("<I", s.stream_id) + _header_xml(s)))
    cursors = {s.stream_id: 0 for s in streams}
    while any(cursors[s.stream_id] < s.timestamps.size for s in streams):
        for s in streams:
            begin = cursors[s.stream_id]
            if begin < s.timestamps.size:
                end = min(s.timestamps.size, begin + s.chunk)
                parts.append(_chunk(3, _samples(s, begin, end)))
                cursors[s.stream_id] = end
    for s in streams:
        for when, value in s.offsets:
            parts.append(_chunk(4, struct.pack("<Idd", s.stream_id, when, value)))
    for s in streams:
        n = s.timestamps.size
        first = float(s.timestamps[0]) if n else 0.0
        last = float(s.timestamps[-1]) if n else 0.0
        offsets = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>"
                          for t, v in s.offsets)
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first!r}</first_timestamp>'
                  f"<last_timestamp>{last!r}</last_timestamp><sample_count>{n}</sample_count>"
                  f"<clock_offsets>{offsets}</clock_offsets></info>")
        parts.append(_chunk(6, struct.pack("<I", s.stream_id) + footer.encode()))
    with open(path, "wb") as f:
        f.write(b"".join(parts))
