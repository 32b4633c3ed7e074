"""Conditioning chains as plain specs: checked and completed here, run by a Conditioner adapter.

A chain is a list of tables such as ``{type = "bandpass", low = 20, high = 450, order = 4}`` or
``{type = "notch", freq = 50, harmonics = 3}``. `chain_problems` finds everything wrong with one,
each problem with the key it concerns (``conditioning[0].high``), against the stream's rate when
it is known; `normalize_chain` returns the chain with every default filled in (plain, JSON-ready
dicts: what a session's metadata records, so a reader can rebuild the exact chain), or raises
`ConditioningInvalid`. Nothing here imports scipy: `hexloop check` calls it on setup files.

Types and their keys (defaults in brackets):

- ``bandpass``: ``low``, ``high`` (Hz), ``order`` [4]: Butterworth, causal (sosfilt).
- ``highpass``: ``cutoff`` (or ``low``), ``order`` [4]; ``lowpass``: ``cutoff`` (or ``high``),
  ``order`` [4].
- ``notch``: ``freq`` (mains: 50 or 60), ``harmonics`` [1] (how many of freq, 2 freq, ...),
  ``q`` [30] (quality factor: notch width is freq / q).
- ``car``: common average reference (each sample minus the mean over channels).
- ``rectify``: absolute value.
- ``rms``: moving RMS envelope over ``window_ms`` [100] (causal: the window ends at the sample).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

MAX_ORDER = 10
MAX_HARMONICS = 20
MAX_CHAIN = 32

#: type -> {key: (default or REQUIRED, kind)}; kind "hz", "order", "count", "q", "ms".
REQUIRED = object()
TYPES: dict[str, dict[str, tuple[Any, str]]] = {
    "bandpass": {"low": (REQUIRED, "hz"), "high": (REQUIRED, "hz"), "order": (4, "order")},
    "highpass": {"cutoff": (REQUIRED, "hz"), "order": (4, "order")},
    "lowpass": {"cutoff": (REQUIRED, "hz"), "order": (4, "order")},
    "notch": {"freq": (REQUIRED, "hz"), "harmonics": (1, "count"), "q": (30.0, "q")},
    "car": {},
    "rectify": {},
    "rms": {"window_ms": (100.0, "ms")},
}
#: Other names accepted for a key, per type: highpass {low = 20} is highpass {cutoff = 20}.
ALIASES: dict[str, dict[str, str]] = {"highpass": {"low": "cutoff"}, "lowpass": {"high": "cutoff"}}
#: Types that need a regular sampling rate (everything that depends on time).
TIMED = {"bandpass", "highpass", "lowpass", "notch", "rms"}


class ConditioningInvalid(ValueError):
    """Every problem of a chain, as (key, message) pairs; str() lists them one per line."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_value(key: str, value: Any, kind: str) -> str | None:
    if kind == "order" or kind == "count":
        top = MAX_ORDER if kind == "order" else MAX_HARMONICS
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            return f"must be a whole number from 1 to {top}, got {_show(value)}"
        return None
    if not _number(value) or value <= 0:
        unit = {"hz": " (Hz)", "ms": " (milliseconds)"}.get(kind, "")
        return f"must be a positive number{unit}, got {_show(value)}"
    return None


def _spec_problems(spec: Any, rate: float | None,
                   where: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The completed spec and the problems of one table of a chain."""
    if not isinstance(spec, Mapping):
        return {}, [(where, f'must be a table such as {{ type = "bandpass", low = 20, '
                            f'high = 450 }}, got {_show(spec)}')]
    kind = spec.get("type")
    if kind not in TYPES:
        allowed = ", ".join(sorted(TYPES))
        return {}, [(f"{where}.type", f"must be one of {allowed}, got {_show(kind)}")]
    keys, aliases = TYPES[kind], ALIASES.get(kind, {})
    out: dict[str, Any] = {"type": kind}
    written: dict[str, str] = {}  # canonical key -> the key as written (an alias, maybe)
    problems: list[tuple[str, str]] = []
    for raw_key, value in spec.items():
        if raw_key == "type":
            continue
        key = aliases.get(raw_key, raw_key)
        if key not in keys:
            allowed = ", ".join(["type", *keys, *aliases]) if keys or aliases else "type only"
            problems.append((f"{where}.{str(raw_key)[:40]}", f"is not a key of {kind}; keys: {allowed}"))
        elif key in out:
            problems.append((f"{where}.{raw_key}", f"repeats {key!r}; give it once"))
        elif msg := _check_value(raw_key, value, keys[key][1]):
            problems.append((f"{where}.{raw_key}", msg))
        else:
            out[key] = float(value) if keys[key][1] in ("hz", "q", "ms") else value
            written[key] = str(raw_key)
    for key, (default, _) in keys.items():
        if key in out:
            continue
        if default is REQUIRED:
            if not any(f"{where}.{k}" == p[0] for p in problems for k in (key, *aliases)):
                problems.append((f"{where}.{key}", f"is required for {kind}"))
        else:
            out[key] = default
    if problems:
        return out, problems
    return out, _rate_problems(out, rate, where, written)


def _rate_problems(spec: dict[str, Any], rate: float | None, where: str,
                   written: dict[str, str]) -> list[tuple[str, str]]:
    """Bands inverted or at/above Nyquist, harmonics past Nyquist, windows under a sample."""
    kind, problems = spec["type"], []
    if kind == "bandpass" and spec["low"] >= spec["high"]:
        problems.append((f"{where}.low", f"({spec['low']:g} Hz) must be below high "
                                         f"({spec['high']:g} Hz): the band is inverted"))
    if rate is None or kind not in TIMED:
        return problems
    if rate <= 0:
        return [(f"{where}.type", f"{kind} needs a regular sampling rate; this stream is "
                                  "irregular (rate 0): use car or rectify only")]
    nyquist = rate / 2.0
    for key in ("low", "high", "cutoff", "freq"):
        if key in spec and spec[key] >= nyquist:
            problems.append((f"{where}.{written.get(key, key)}", (
                f"({spec[key]:g} Hz) is at or above the Nyquist frequency ({nyquist:g} Hz) of "
                f"this {rate:g} Hz stream; make it lower than {nyquist:g} Hz")))
    if kind == "notch" and spec["freq"] < nyquist:
        top = spec["freq"] * spec["harmonics"]
        if top >= nyquist:
            fit = int((nyquist - 1e-9) // spec["freq"])
            problems.append((f"{where}.harmonics", (
                f"({spec['harmonics']}) reaches {top:g} Hz, at or above the Nyquist frequency "
                f"({nyquist:g} Hz) of this {rate:g} Hz stream; at most {fit} fit")))
    if kind == "rms" and spec["window_ms"] * rate / 1000.0 < 1.0:
        problems.append((f"{where}.window_ms", (
            f"({spec['window_ms']:g} ms) is shorter than one sample at {rate:g} Hz; make it at "
            f"least {1000.0 / rate:g} ms")))
    return problems


def chain_problems(specs: Any, rate: float | None = None,
                   where: str = "conditioning") -> list[tuple[str, str]]:
    """Every problem of a chain as (key, message); against `rate` (Hz, 0 for irregular) when
    given, otherwise without the checks that need it. [] when it is fine."""
    return _normalize(specs, rate, where)[1]


def normalize_chain(specs: Any, rate: float | None = None,
                    where: str = "conditioning") -> tuple[dict[str, Any], ...]:
    """The chain with every default filled in, as plain dicts; ConditioningInvalid otherwise."""
    chain, problems = _normalize(specs, rate, where)
    if problems:
        raise ConditioningInvalid(problems)
    return chain


def _normalize(specs: Any, rate: float | None, where: str) -> tuple[tuple[dict[str, Any], ...],
                                                                     list[tuple[str, str]]]:
    if isinstance(specs, Mapping) or isinstance(specs, str) or not isinstance(specs, Sequence):
        return (), [(where, 'must be a list of tables, e.g. [{ type = "bandpass", low = 20, '
                            f'high = 450 }}], got {_show(specs)}')]
    if len(specs) > MAX_CHAIN:
        return (), [(where, f"has {len(specs)} steps; at most {MAX_CHAIN}")]
    chain, problems = [], []
    for i, spec in enumerate(specs):
        done, found = _spec_problems(spec, rate, f"{where}[{i}]")
        chain.append(done)
        problems += found
    return tuple(chain), problems


def describe_chain(chain: Sequence[Mapping[str, Any]]) -> str:
    """One line for status lines and logs: 'bandpass 20-450 Hz o4 > notch 50 Hz x3'."""
    parts = []
    for s in chain:
        kind = s.get("type")
        if kind == "bandpass":
            parts.append(f"bandpass {s['low']:g}-{s['high']:g} Hz o{s['order']}")
        elif kind in ("highpass", "lowpass"):
            parts.append(f"{kind} {s['cutoff']:g} Hz o{s['order']}")
        elif kind == "notch":
            parts.append(f"notch {s['freq']:g} Hz x{s['harmonics']}")
        elif kind == "rms":
            parts.append(f"rms {s['window_ms']:g} ms")
        else:
            parts.append(str(kind))
    return " > ".join(parts) or "none"
