"""The adapter registry: adapters looked up by kind and name from the `hexloop.adapters` entry points.

An entry point is named `<kind>.<name>` (e.g. `source.pylsl`) and points at a class or factory.
Third-party packages add adapters by declaring entry points in the same group; hexloop's own
adapters register the same way in its pyproject.toml.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib import metadata
from typing import Any

import attrs

from .resolve import Param, find_module, static_params

GROUP = "hexloop.adapters"
KINDS = ("source", "transport", "store", "model", "renderer", "bridge", "markers")
IN_CODE = "(in code)"  # the distribution of adapters registered with Registry.register

#: Which extra provides the third-party modules each of hexloop's adapter packages imports.
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hexloop.adapters.pylsl": ("lsl", ("pylsl",)),
    "hexloop.adapters.mne_lsl": ("lsl", ("mne_lsl",)),
    "hexloop.adapters.torch": ("torch", ("torch",)),
    "hexloop.adapters.zarr": ("zarr", ("zarr",)),
    "hexloop.adapters.replay": ("zarr", ()),  # text files need only numpy; sessions need zarr
    "hexloop.adapters.imgui": ("gui", ("imgui_bundle",)),
    "hexloop.adapters.opencv": ("video", ("cv2", "zarr", "pylsl")),
}


class AdapterUnavailable(LookupError):
    """An adapter that is not registered, or whose optional dependency is missing."""


@attrs.frozen
class AdapterEntry:
    kind: str
    name: str
    target: str  # "module:attr"
    distribution: str
    loader: Callable[[], Any] = attrs.field(eq=False, repr=False)

    @property
    def module(self) -> str:
        return self.target.split(":")[0]

    @property
    def extra(self) -> str | None:
        for prefix, (extra, _) in EXTRAS.items():
            if self.module == prefix or self.module.startswith(prefix + "."):
                return extra
        return None

    @property
    def missing(self) -> list[str]:
        """Third-party modules this adapter needs that are not installed."""
        for prefix, (_, modules) in EXTRAS.items():
            if self.module == prefix or self.module.startswith(prefix + "."):
                return [m for m in modules if importlib.util.find_spec(m) is None]
        return []

    def install_hint(self) -> str:
        if self.extra is not None:  # imported here: `hexloop check` imports no adapter package
            from hexloop.adapters._optional import install_hint

            return install_hint(self.extra, self.module)
        return f"install or repair the package {self.distribution!r} that provides it"

    def problem(self) -> str | None:
        """Why this adapter cannot load, found without importing it (`hexloop check`): a missing
        optional dependency, or a module that cannot be found. None when it looks loadable (only
        loading it proves that)."""
        missing = self.missing
        if missing:
            return f"{self.kind} adapter {self.name!r} needs {', '.join(missing)}: {self.install_hint()}"
        if self.distribution != IN_CODE and find_module(self.module) is None:
            return (f"{self.kind} adapter {self.name!r}: its module {self.module!r} cannot be "
                    f"found: {self.install_hint()}")
        return None

    def static_params(self) -> list[Param] | None:
        """The constructor's keyword arguments read from source, importing nothing; None when
        the source cannot tell (then only `load` and the real signature can)."""
        module, _, attr = self.target.partition(":")
        return static_params(module, attr) if attr and "." not in attr else None

    def load(self) -> Any:
        missing = self.missing
        if missing:
            raise AdapterUnavailable(
                f"{self.kind} adapter {self.name!r} needs {', '.join(missing)}: {self.install_hint()}"
            )
        try:
            return self.loader()
        except ImportError as e:
            raise AdapterUnavailable(
                f"{self.kind} adapter {self.name!r} could not be imported ({e}): {self.install_hint()}"
            ) from e


class Registry:
    """Adapters by (kind, name): entry points plus any registered in code."""

    def __init__(self, entries: dict[tuple[str, str], AdapterEntry] | None = None):
        self._entries = dict(entries or {})

    @classmethod
    def from_entry_points(cls) -> Registry:
        entries = {}
        for ep in metadata.entry_points(group=GROUP):
            kind, _, name = ep.name.partition(".")
            if kind not in KINDS or not name:
                continue
            dist = ep.dist.name if ep.dist is not None else "unknown"
            entries[(kind, name)] = AdapterEntry(kind, name, ep.value, dist, ep.load)
        return cls(entries)

    def register(self, kind: str, name: str, obj: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown adapter kind {kind!r}; kinds are {list(KINDS)}")
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"
        self._entries[(kind, name)] = AdapterEntry(kind, name, target, IN_CODE, lambda: obj)

    def entries(self, kind: str | None = None) -> list[AdapterEntry]:
        return sorted((e for e in self._entries.values() if kind in (None, e.kind)),
                      key=lambda e: (e.kind, e.name))

    def names(self, kind: str) -> list[str]:
        return [e.name for e in self.entries(kind)]

    def entry(self, kind: str, name: str) -> AdapterEntry:
        try:
            return self._entries[(kind, name)]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise AdapterUnavailable(
                f"no {kind} adapter named {name!r}; registered {kind} adapters: {known}"
            ) from None

    def load(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).load()
