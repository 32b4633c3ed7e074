"""The documentation site's configuration (mkdocs.yml) against the docs/ folder.

`make docs` builds the site with warnings as errors (broken links, missing anchors, docstrings
mkdocstrings cannot read); these checks catch what a build alone lets through: a page nobody can
reach from the navigation, and a public domain or ports module missing from the API reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # PyYAML comes with mkdocs (the docs extra, in dev)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_pages(entries) -> list[str]:
    """Every page path in a nav tree (entries are paths, {title: path} or {title: [entries]})."""
    pages: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            pages.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_docs_page_is_in_the_nav():
    nav = set(_nav_pages(_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    orphans = sorted(pages - nav)
    assert not orphans, (f"docs pages missing from the nav in mkdocs.yml: {orphans}; add each "
                         "where a reader would look for it")


def test_every_nav_entry_is_a_page():
    config = _config()
    missing = [p for p in _nav_pages(config["nav"])
               if not p.startswith(("http://", "https://")) and not (DOCS / p).is_file()]
    assert not missing, f"mkdocs.yml names pages that are not in docs/: {missing}"
    assert config.get("strict") is True, "warnings must stay errors (strict: true)"


@pytest.mark.parametrize("layer", ["domain", "ports"])
def test_every_public_module_is_in_the_api_reference(layer):
    documented = (DOCS / "reference" / f"{layer}.md").read_text(encoding="utf-8")
    modules = sorted(p.stem for p in (ROOT / layer).glob("*.py")
                     if not p.stem.startswith("_"))
    missing = [m for m in modules if f"::: hexloop.{layer}.{m}\n" not in documented + "\n"]
    assert not missing, (f"public modules missing from docs/reference/{layer}.md: "
                         + ", ".join(f"hexloop.{layer}.{m}" for m in missing))


def test_each_layer_package_is_marked_typed():
    # hexloop is a namespace package: PEP 561 wants py.typed in each package under it
    for layer in ("domain", "ports", "adapters", "application"):
        assert (ROOT / layer / "py.typed").is_file(), f"{layer}/py.typed is missing"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"py.typed"' in pyproject.split("[tool.setuptools.package-data]")[1].split("[")[1]
