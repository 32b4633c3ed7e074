"""The Streams panel's view-model: one row per stream (status, rates, age, lost, rejected and the
anomalies kept), each cell a Text whose tone and tooltip say what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .common import Text, age_text

#: The tone of each stream status.
STATUS_TONES = {"streaming": "green", "stalled": "orange", "connecting": "blue", "error": "red",
                "refused": "red", "stopped": "grey"}
COLUMNS = ("Stream", "Status", "Rate (Hz)", "Ch", "Newest", "Lost", "Rejected", "Anomalies")
EMPTY_HINT = "No streams: add one with app.streams(Stream(...))."
ANOMALIES_TIP = ("kept, not refused: clock jumps (timestamps re-anchored, marked in the "
                 "recording), NaN or infinite values (stored as they came), values clipped to "
                 "the stream's dtype range; see the log")


@attrs.frozen
class StreamRow:
    """One stream's cells, in COLUMNS order."""

    name: str
    status: Text
    rate: Text
    channels: Text
    newest: Text
    lost: Text
    rejected: Text
    anomalies: Text

    @property
    def cells(self) -> tuple[Text, ...]:
        return (Text(self.name), self.status, self.rate, self.channels, self.newest, self.lost,
                self.rejected, self.anomalies)


def streams_view(streams: Mapping[str, Any]) -> tuple[StreamRow, ...]:
    """The rows of the streams table, in the app's stream order."""
    return tuple(stream_row(name, stream) for name, stream in list(streams.items()))


def stream_row(name: str, stream: Any) -> StreamRow:
    health, info = stream.health, stream.info
    status = getattr(health.status, "value", str(health.status))
    nominal = f" / {info.sampling_rate:g}" if info and info.sampling_rate else ""
    lost = (Text(str(health.lost), "orange", "samples missing according to timestamp gaps")
            if health.lost else Text("0"))
    rejected = (Text(str(health.rejected), "red",
                     health.error or "chunks refused by validation; see the log")
                if health.rejected else Text("0"))
    return StreamRow(
        name=name,
        status=Text(status, STATUS_TONES.get(status, "grey"), health.error),
        rate=Text(f"{health.rate_hz:.0f}{nominal}"),
        channels=Text(str(info.channel_count) if info else "-"),
        newest=Text(age_text(health.age_s)),
        lost=lost,
        rejected=rejected,
        anomalies=anomalies(health),
    )


def anomalies(health: Any) -> Text:
    """Clock jumps (J), non-finite values (NaN) and clipped values (clip): kept, but odd."""
    counts = [(getattr(health, field, 0), short) for field, short in
              (("clock_jumps", "J"), ("non_finite", "NaN"), ("clipped", "clip"))]
    text = " ".join(f"{n} {short}" for n, short in counts if n)
    return Text(text, "orange", ANOMALIES_TIP) if text else Text("0")
