"""The hexagon's rules checked on the source: the domain's imports, and a docstring per module."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("domain", "ports", "adapters", "application")
DOMAIN_THIRD_PARTY = {"numpy", "attrs"}


def modules(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "__pycache__" not in p.parts)


def imported_roots(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import; relative imports are skipped."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def domain_import_problem(name: str) -> str | None:
    root = name.split(".")[0]
    if root in sys.stdlib_module_names or root in DOMAIN_THIRD_PARTY:
        return None
    if name == "hexloop.domain" or name.startswith("hexloop.domain."):
        return None
    return f"imports {name}"


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_imports_only_stdlib_numpy_attrs_and_itself(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = [f"line {line}: {p}" for line, name in imported_roots(tree)
                if (p := domain_import_problem(name))]
    assert not problems, f"{path.relative_to(ROOT)} " + "; ".join(problems)


@pytest.mark.parametrize(
    "name, allowed",
    [("numpy.linalg", True), ("attrs", True), ("threading", True), ("hexloop.domain.labels", True),
     ("hexloop.ports", False), ("hexloop.adapters.fakes", False), ("zarr", False),
     ("torch", False), ("scipy.signal", False)],
)
def test_the_domain_import_rule_itself(name, allowed):
    assert (domain_import_problem(name) is None) is allowed


def test_relative_imports_are_not_mistaken_for_third_party():
    tree = ast.parse("from . import labels\nfrom .streams import StreamInfo\nimport torch\n")
    assert [name for _, name in imported_roots(tree)] == ["torch"]


@pytest.mark.parametrize(
    "path", [p for layer in LAYERS for p in modules(layer)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_starts_with_a_docstring(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    docstring = ast.get_docstring(tree)
    assert docstring and docstring.strip(), f"{path.relative_to(ROOT)} has no module docstring"
