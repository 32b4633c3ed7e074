"""What the pylsl and mne-lsl adapters share, so both behave the same; one module per concern.

- `discovery`: what the resolver announces, the `LslBinding` calls, queries and listings;
- `info`: an announced stream as a StreamInfo, and the refusal of what hexloop cannot read;
- `inlet`: `LslSource`, with reconnect, presence probing and timestamp hygiene;
- `outlet`: `LslTransport`, the prediction outlet's send rules.

Nothing here imports an LSL package: a binding (`adapters/pylsl`, `adapters/mne_lsl`) supplies
the calls.
"""

from .discovery import (
    LSL_FORMATS,
    Announcement,
    LslBinding,
    StreamListing,
    describe_query,
    list_streams_with,
    xpath_literal,
    xpath_predicate,
)
from .info import StreamRefused, announced_info, clean_labels, refuse_if_unusable
from .inlet import (
    AMBIGUITY_WAIT_S,
    DEFAULT_CONNECT_TIMEOUT_S,
    PROBE_TIMEOUT_S,
    PULL_BUFFER_BYTES,
    REORDER_LIMIT_S,
    LslSource,
    SourceStats,
)
from .outlet import LslTransport

__all__ = [
    "AMBIGUITY_WAIT_S",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "LSL_FORMATS",
    "PROBE_TIMEOUT_S",
    "PULL_BUFFER_BYTES",
    "REORDER_LIMIT_S",
    "Announcement",
    "LslBinding",
    "LslSource",
    "LslTransport",
    "SourceStats",
    "StreamListing",
    "StreamRefused",
    "announced_info",
    "clean_labels",
    "describe_query",
    "list_streams_with",
    "refuse_if_unusable",
    "xpath_literal",
    "xpath_predicate",
]
