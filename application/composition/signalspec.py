"""Setup-file checks of the signal path: each stream's `conditioning` and each output's `stages`.

Called by `labsetup.validate` for `hexloop run` and `hexloop check` alike; imports nothing but
the domain (no scipy). A chain is checked against the stream's rate when the setup states it
(a source option `rate`, as the simulated source has); otherwise without it, and the stream
refuses a chain its rate cannot take when it connects, naming the same key.
"""

from __future__ import annotations

from typing import Any

from hexloop.domain.conditioning import chain_problems
from hexloop.domain.postprocess import stage_problems


def stated_rate(stream: dict) -> float | None:
    """The rate a stream's setup states (source option `rate`), or None."""
    options = stream.get("options")
    rate = options.get("rate") if isinstance(options, dict) else None
    if isinstance(rate, int | float) and not isinstance(rate, bool) and rate > 0:
        return float(rate)
    return None


def signal_path_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for every problem of the streams' chains and the outputs' stages."""
    problems: list[tuple[str, str]] = []
    streams = data.get("streams")
    for i, stream in enumerate(streams if isinstance(streams, list) else []):
        if isinstance(stream, dict) and isinstance(stream.get("conditioning"), list):
            problems += chain_problems(stream["conditioning"], stated_rate(stream),
                                       where=f"streams[{i}].conditioning")
    outputs = data.get("outputs")
    for i, output in enumerate(outputs if isinstance(outputs, list) else []):
        if isinstance(output, dict) and isinstance(output.get("stages"), list):
            problems += stage_problems(output["stages"], where=f"outputs[{i}].stages")
    return problems
