"""Bounds on every value of a setup file, checked before anything is built.

Each section key has a bound (`SECTION_BOUNDS`); an adapter option is bounded by its name
(`OPTION_BOUNDS`, whatever the adapter, since `hexloop check` does not import adapters to read
their signatures) and every value, option or not, by the generic limits below: finite numbers,
whole numbers within +-2**53, strings of at most MAX_STRING characters, lists and tables of at
most MAX_ITEMS entries, nested at most MAX_DEPTH deep. Adapters check their own options again
when `hexloop run` creates them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from hexloop.domain.streams import MAX_CHANNELS, MAX_RATE_HZ

MAX_FILE_BYTES = 2**20  # a setup file is a page of text; a bigger file is refused unread
MAX_STRING = 4096  # characters in any string value
MAX_KEY = 100  # characters in an option name
MAX_ITEMS = 1000  # entries in any list or table
MAX_DEPTH = 6  # lists/tables nested inside a section (options = { a = { b = [ ... ] } })
MAX_INT = 2**53  # whole numbers beyond this lose precision as floats
MAX_NAME = 200  # app, stream, class and bridge names
DAY_S = 86_400.0


@attrs.frozen
class Bound:
    """A closed range [low, high] (open at low if `above`), in `unit`; `whole` wants an int."""

    low: float
    high: float
    unit: str = ""
    above: bool = False
    whole: bool = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None  # the type check reports it
        if self.whole and not isinstance(value, int):
            return f"must be a whole number in {self._range()}"
        ok = (self.low < value if self.above else self.low <= value) and value <= self.high
        if ok and not (isinstance(value, float) and math.isnan(value)):
            return None
        if self.above and self.low == 0:
            return f"must be greater than 0 and at most {_num(self.high)}{self._unit()}"
        return f"must be {'a whole number ' if self.whole else ''}in {self._range()}"

    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def _range(self) -> str:
        return f"{_num(self.low)}..{_num(self.high)}{self._unit()}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


POSITIVE_MS = Bound(0, 600_000.0, "ms", above=True)
#: Bounds of the numeric keys of each section.
SECTION_BOUNDS: dict[str, dict[str, Bound]] = {
    "streams": {"window_ms": Bound(0, 60_000.0, "ms", above=True), "buffer_ms": POSITIVE_MS},
    "pipeline": {"predict_hz": Bound(0, 1000.0, "Hz", above=True),
                 "step_ms": Bound(0, 60_000.0, "ms", above=True)},
    "outputs": {"hz": Bound(0, 1000.0, "Hz", above=True)},
    "protocol": {"repetitions": Bound(1, 10_000, "trials", whole=True),
                 "online_repetitions": Bound(1, 10_000, "trials", whole=True),
                 "cue_s": Bound(0, 3600.0, "s"), "hold_s": Bound(0, 3600.0, "s"),
                 "rest_s": Bound(0, 3600.0, "s"), "ramp_s": Bound(0, 3600.0, "s"),
                 "seed": Bound(0, 2**32 - 1, whole=True)},
}

SECONDS = Bound(0, DAY_S, "s")
#: Bounds of adapter options by name, whichever adapter they belong to.
OPTION_BOUNDS: dict[str, Bound] = {
    "rate": Bound(0, MAX_RATE_HZ, "Hz"),
    "channels": Bound(1, MAX_CHANNELS, "channels", whole=True),
    "chunk_seconds": Bound(0, 60.0, "s", above=True),
    "timeout": Bound(0, DAY_S, "s", above=True),
    "fps": Bound(0, 1000.0, "frames/s", above=True),
    "fps_max": Bound(0, 1000.0, "frames/s"),
    "fps_idle": Bound(0, 1000.0, "frames/s"),
    "interval": Bound(0, DAY_S, "s", above=True),
    "speed": Bound(0, 1000.0, "x real time", above=True),
    "chunk": Bound(0, 10_000_000, "samples", whole=True),
    "chunk_len": Bound(0, 10_000_000, "samples", whole=True),
    "chunk_frames": Bound(1, 100_000, "frames", whole=True),
    "epochs": Bound(1, 1_000_000, whole=True),
    "batch_size": Bound(1, 1_000_000, whole=True),
    "patience": Bound(1, 1_000_000, whole=True),
    "max_restarts": Bound(0, 10_000, whole=True),
    "tail_lines": Bound(0, 100_000, whole=True),
    "threads": Bound(1, 1024, whole=True),
    "seed": Bound(0, 2**32 - 1, whole=True),
    "learning_rate": Bound(0, 10.0, above=True),
    "dropout": Bound(0, 1.0),
    "validation_fraction": Bound(0, 1.0),
}
#: Options named by suffix: "..._s" are seconds, "..._bytes" byte counts, "..._hz" rates.
SUFFIX_BOUNDS: dict[str, Bound] = {
    "_s": SECONDS,
    "_bytes": Bound(0, 2**40, "bytes", whole=True),
    "_hz": Bound(0, MAX_RATE_HZ, "Hz"),
}


def option_bound(key: str) -> Bound | None:
    if key in OPTION_BOUNDS:
        return OPTION_BOUNDS[key]
    return next((b for suffix, b in SUFFIX_BOUNDS.items() if key.endswith(suffix)), None)


def show(value: Any, limit: int = 60) -> str:
    """A value for a message, cut short: a 1 MB string must not flood the terminal."""
    if isinstance(value, dict):
        text = "a table" if len(value) > 3 else repr(value)
    elif isinstance(value, list) and len(value) > 8:
        text = f"a list of {len(value)} items"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 14] + f"... ({len(text)} chars)"


def short(key: str, limit: int = 40) -> str:
    """A key for a message path, cut short."""
    return key if len(key) <= limit else key[: limit - 3] + "..."


Report = Callable[[str, str], None]  # (key, message)


def check_value(where: str, value: Any, report: Report, depth: int = 0,
                bound: Bound | None = None) -> None:
    """Generic limits on any value (and `bound` on a number), recursing into lists and tables."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if bound is not None and (msg := bound.problem(value)):
            report(where, f"{msg}, got {show(value)}")
        elif abs(value) > MAX_INT:
            report(where, f"is too large: whole numbers must be within +-2**53, got {show(value)}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            msg = bound.problem(value) if bound is not None else None
            report(where, f"{msg or 'must be a finite number'}, got {value!r}")
        elif bound is not None and (msg := bound.problem(value)):
            report(where, f"{msg}, got {show(value)}")
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            report(where, f"is too long: at most {MAX_STRING} characters, got {len(value)}")
        elif "\x00" in value:
            report(where, "must not contain a NUL character (\\x00)")
    elif isinstance(value, list | dict):
        if depth >= MAX_DEPTH:
            report(where, f"is nested too deeply: at most {MAX_DEPTH} levels of lists and tables")
            return
        if len(value) > MAX_ITEMS:
            report(where, f"has {len(value)} entries: at most {MAX_ITEMS}")
            return
        items = enumerate(value) if isinstance(value, list) else value.items()
        for key, item in items:
            if isinstance(key, str) and len(key) > MAX_KEY:
                report(f"{where}.{short(key)}", f"the key is too long: at most {MAX_KEY} characters")
                continue
            sub = f"{where}[{key}]" if isinstance(value, list) else f"{where}.{key}"
            sub_bound = option_bound(key) if isinstance(key, str) and depth == 0 else None
            check_value(sub, item, report, depth + 1, sub_bound)
    else:  # TOML dates and times
        report(where, f"must be a string, number, true/false, list or table, got {show(value)}")
