"""Issue #12's size rule on the source: a module of adapters/ or application/ over 400 lines
says at its top (in its docstring, naming the "400 lines") why it stays whole."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def size_problem(source: str) -> str | None:
    """Why `source` breaks the rule, or None: over MAX_LINES lines with no docstring that
    gives the reason (it names the "400 lines" it is over)."""
    lines = len(source.splitlines())
    if lines <= MAX_LINES:
        return None
    docstring = ast.get_docstring(ast.parse(source)) or ""
    if f"{MAX_LINES} lines" in docstring.lower():
        return None
    return (f"{lines} lines: split it by concern, or say at the top why it stays whole "
            f'("Kept whole, a little over {MAX_LINES} lines: ...")')


def modules() -> list[Path]:
    return sorted(p for layer in ("adapters", "application") for p in (ROOT / layer).rglob("*.py")
                  if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_over_400_lines_says_why_at_its_top(path):
    problem = size_problem(path.read_text())
    assert problem is None, f"{path.relative_to(ROOT)}: {problem}"


def test_the_size_rule_itself():
    body = "x = 1\n" * MAX_LINES
    assert size_problem('"""Small."""\n' + "x = 1\n" * (MAX_LINES - 1)) is None
    assert "401 lines" in size_problem('"""Big, no reason."""\n' + body)
    assert size_problem('"""Big.\n\nKept whole, a little over 400 lines: one shared state."""\n'
                        + body[: -len("x = 1\n") * 2]) is None
    # the reason must be in the docstring, not in a comment further down
    assert size_problem('"""Big."""\n# over 400 lines: because\n' + body) is not None
