"""`features = ...` in a setup: which function it names, and what is wrong with it, found by
importing (hexloop run) or by reading the module's source without running it (hexloop check)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import numpy as np

from . import resolve
from .setupbounds import show

RAW = "raw"  # features = "raw": the windows themselves, for networks on raw data
FEATURES_MODULE = "hexloop.domain.features"


def features_target(spec: str) -> tuple[str, str]:
    """(module, function) that `features = spec` names: "module:function" or a bare name in
    hexloop.domain.features."""
    if ":" in spec:
        module, _, attr = spec.rpartition(":")
        return module, attr
    return FEATURES_MODULE, spec


def resolve_features(spec: str) -> Callable[[np.ndarray], np.ndarray] | str:
    """A feature function by name in hexloop.domain.features, "package.module:function", or
    "raw" (no features: the window itself)."""
    if spec == RAW:
        return RAW
    module, attr = features_target(spec)
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise LookupError(
            f"feature function {show(spec)} not found ({e}); use a name from hexloop.domain.features "
            "such as 'emg_features', 'package.module:function', or 'raw'"
        ) from None
    if not callable(fn):
        raise LookupError(f"feature function {show(spec)} is not callable")
    return fn


def features_problem(spec: str, imports: bool) -> str | None:
    """What is wrong with `features = spec`, found by importing (run) or by reading the module's
    source without running it (check); None when it is fine or cannot be told statically."""
    if spec == RAW:
        return None
    module, attr = features_target(spec)
    advice = "use a name from hexloop.domain.features such as 'emg_features', " \
             "'package.module:function', or 'raw'"
    if not attr.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
        return f"{show(spec)} is not a function name; {advice}"
    if module.split(".")[0] in sys.stdlib_module_names:  # a guard against slips, not a sandbox
        return (f"{show(module)} is a standard-library module: no feature function lives there "
                f"(and 'os:system' would run a shell); {advice}")
    if imports:
        try:
            resolve_features(spec)
        except LookupError as e:
            return str(e)
        return None
    if module in sys.modules:  # already imported (e.g. hexloop's own): look, nothing runs
        if not hasattr(sys.modules[module], attr):
            return f"module {show(module)} defines no {show(attr)}; {advice}"
        return None
    found = resolve.find_module(module)
    if found is None:
        return f"no module named {show(module)} (is it on PYTHONPATH?); {advice}"
    if resolve.has_top_level_name(found, attr) is False:
        return f"module {show(module)} defines no {show(attr)}; {advice}"
    return None
