"""Find modules and their top-level names without running any code (for `hexloop check`).

`importlib.util.find_spec("a.b")` imports the package `a` first (its `__init__` runs) to learn
where `a.b` lives. `find_module("a.b")` asks the import system's finders (`sys.meta_path`, which
includes editable installs) for each level in turn, passing the parent's search locations from
the parent's *spec*, so no module's code runs. Limit: a package that changes its own `__path__`
when imported (old pkgutil-style namespace packages) is searched only where its spec says; a
submodule that only exists after such an import is reported as not found by `hexloop check`
(`hexloop run` imports for real and finds it).

`has_top_level_name(spec, name)` reads a module's source with `ast` (never executes it) and says
whether it defines `name` at top level: True, False, or None when it cannot tell (no Python
source, a star import, a module-level `__getattr__`).
"""

from __future__ import annotations

import ast
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

MAX_SOURCE_BYTES = 4 * 2**20  # a bigger module is not parsed: "cannot tell"


def _valid(dotted: str) -> bool:
    return bool(dotted) and all(part.isidentifier() for part in dotted.split("."))


def _find(fullname: str, path) -> ModuleSpec | None:
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(fullname, path, None)
        except (ImportError, ValueError, OSError):
            continue
        if spec is not None:
            return spec
    return None


def find_module(dotted: str) -> ModuleSpec | None:
    """The spec of module `dotted`, found without importing it or any of its parents."""
    if not _valid(dotted):
        return None
    if dotted in sys.modules:  # already imported (e.g. os.path): nothing new runs
        return getattr(sys.modules[dotted], "__spec__", None) or ModuleSpec(dotted, None)
    parts = dotted.split(".")
    spec, path = None, None
    for i in range(len(parts)):
        fullname = ".".join(parts[: i + 1])
        module = sys.modules.get(fullname)
        if module is not None:  # already imported (e.g. hexloop itself): nothing new runs
            spec = getattr(module, "__spec__", None) or ModuleSpec(fullname, None)
            locations = getattr(module, "__path__", None)
        else:
            spec = _find(fullname, path)
            if spec is None:
                return None
            locations = spec.submodule_search_locations
        if i < len(parts) - 1:
            if locations is None:
                return None  # a plain module has no submodules
            path = list(locations)
    return spec


def _top_level_names(body: list[ast.stmt], names: set[str]) -> bool:
    """Collect names bound at module level; True if the module may bind names we cannot see."""
    opaque = False
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            opaque |= node.name == "__getattr__"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    opaque = True
                else:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for block in ("body", "orelse", "finalbody"):
                opaque |= _top_level_names(getattr(node, block, []), names)
            for handler in getattr(node, "handlers", []):
                opaque |= _top_level_names(handler.body, names)
        elif isinstance(node, ast.Expr):
            opaque |= _may_bind_names(node.value)  # e.g. globals().update(...)
    return opaque


DYNAMIC = {"globals", "vars", "locals", "exec", "eval", "setattr", "__import__", "__dict__"}


def _may_bind_names(expr: ast.expr) -> bool:
    """Whether a top-level expression could create module names behind the parser's back."""
    return any((isinstance(n, ast.Name) and n.id in DYNAMIC)
               or (isinstance(n, ast.Attribute) and n.attr in DYNAMIC) for n in ast.walk(expr))


def has_top_level_name(spec: ModuleSpec, name: str) -> bool | None:
    """Whether the module's source defines `name` at top level; None when it cannot tell."""
    origin = spec.origin
    if not origin or not origin.endswith(".py"):
        return None
    try:
        path = Path(origin)
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        tree = ast.parse(path.read_bytes(), filename=origin)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    opaque = _top_level_names(tree.body, names)
    if name in names:
        return True
    return None if opaque else False
