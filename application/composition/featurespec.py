"""`features = ...` in a setup: which function it names, and what is wrong with it, found by
importing (hexloop run) or by reading the module's source without running it (hexloop check)."""

from __future__ import annotations

import sys

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
        from .build import resolve_features  # build imports this module

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
