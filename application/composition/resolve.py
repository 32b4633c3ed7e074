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

import attrs

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


@attrs.frozen
class Param:
    """A keyword argument a constructor accepts; `types` the plain types its annotation or
    default allows (empty: any)."""

    name: str
    required: bool
    types: tuple[type, ...] = ()


PLAIN = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict,
         "None": type(None)}
MAX_HOPS = 8  # re-exports and base classes followed before giving up


def _parse(spec: ModuleSpec | None) -> ast.Module | None:
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        path = Path(spec.origin)
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return ast.parse(path.read_bytes(), filename=spec.origin)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _plain_types(node: ast.expr | None) -> tuple[type, ...]:
    """The plain types an annotation allows, () if any part is not plain (then: any)."""
    if node is None:
        return ()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return ()
    if isinstance(node, ast.Constant) and node.value is None:
        return (type(None),)
    if isinstance(node, ast.Name):
        return (PLAIN[node.id],) if node.id in PLAIN else ()
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _plain_types(node.left), _plain_types(node.right)
        return left + right if left and right else ()
    return ()


def _default_type(node: ast.expr) -> tuple[type, ...]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ()
    return next(((t,) for t in (bool, int, float, str) if type(value) is t), ())


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef, skip_first: bool) -> list[Param] | None:
    args = fn.args
    if args.kwarg is not None:
        return None  # **kwargs: anything goes
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = []
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if (skip_first and i == 0) or i < len(args.posonlyargs):
            continue
        types = _plain_types(arg.annotation) or (() if default is None else _default_type(default))
        out.append(Param(arg.arg, default is None, types))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        types = _plain_types(arg.annotation) or (() if default is None else _default_type(default))
        out.append(Param(arg.arg, default is None, types))
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def static_params(module: str, name: str, hops: int = 0) -> list[Param] | None:
    """The keyword arguments of `module:name` (a class's __init__, or a function), read from
    source without importing; None when the source cannot tell (no source, **kwargs, a decorated
    class, several bases, a metaclass, too many hops)."""
    if hops > MAX_HOPS:
        return None
    spec = find_module(module)
    tree = _parse(spec)
    if tree is None or spec is None:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return _params(node, skip_first=False)
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _class_params(module, spec, tree, node, hops)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(module, spec.submodule_search_locations is not None, node)
                    return static_params(source, alias.name, hops + 1)
    return None


def _class_params(module: str, spec: ModuleSpec, tree: ast.Module, node: ast.ClassDef,
                  hops: int) -> list[Param] | None:
    if node.decorator_list or node.keywords:
        return None  # attrs/dataclasses write __init__; a metaclass may change the call
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "__new__":
            return None
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "__init__":
            return _params(item, skip_first=True)
    bases = [b for b in node.bases if not (isinstance(b, ast.Name) and b.id == "object")]
    if not bases:
        return []
    if len(bases) != 1 or not isinstance(bases[0], ast.Name):
        return None
    return static_params(module, bases[0].id, hops + 1)
