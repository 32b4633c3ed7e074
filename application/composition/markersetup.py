"""The [[markers]] tables of a setup (#16): marker streams whose markers become labels.

    [[markers]]
    source = "pylsl"                              # a "markers" adapter (entry point markers.pylsl)
    options = { name = "PsychoPyMarkers" }        # the adapter's options
    map = { "1" = "fist", "2" = "rest" }          # marker -> class name (else: the marker itself)
    unknown = "warn"                              # or "ignore": unknown markers are only counted

The keys and the adapter's options are checked by labsetup.validate (SCHEMA); this module adds
what needs the whole file: `map` values are class names of [app] class_names. `build_markers`
creates the feeds (application/markers.py) for an App.
"""

from __future__ import annotations

from typing import Any

from hexloop.application.markers import UNKNOWN_CHOICES, MarkerFeed

from .setupbounds import short, show


def markers_problems(data: dict) -> list[tuple[str, str]]:
    """(key, message) for each [[markers]] table whose map or unknown cannot work."""
    tables = data.get("markers")
    if not isinstance(tables, list):
        return []
    app = data.get("app")
    app = app if isinstance(app, dict) else {}
    classes = app.get("class_names") if isinstance(app.get("class_names"), list) else []
    problems = []
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue
        where = f"markers[{i}]"
        if not classes:
            problems.append((where, "markers become labels of [app] class_names: add "
                                    'class_names = ["rest", "fist", ...] to [app]'))
        unknown = table.get("unknown")
        if isinstance(unknown, str) and unknown not in UNKNOWN_CHOICES:
            problems.append((f"{where}.unknown", 'must be "warn" or "ignore", got '
                             + show(unknown)))
        mapping = table.get("map")
        if not isinstance(mapping, dict):
            continue
        for marker, name in mapping.items():
            key = f"{where}.map.{short(str(marker))}"
            if not isinstance(name, str):
                problems.append((key, f"must be a class name (a string), got {show(name)}"))
            elif classes and name not in classes:
                problems.append((key, f"{show(name)} is not one of [app] class_names "
                                      f"({', '.join(map(str, classes))})"))
    return problems


def build_markers(setup: Any, make: Any) -> list[MarkerFeed]:
    """A MarkerFeed per [[markers]] table; `make` is build.py's _Maker (refusals become
    SetupProblems naming the key)."""
    feeds = []
    for i, cfg in enumerate(setup.section("markers")):
        source = make.adapter(f"markers[{i}]", "markers", cfg["source"], **cfg.get("options", {}))
        if source is None:
            continue
        feed = make(f"markers[{i}]", MarkerFeed, source, mapping=cfg.get("map"),
                    unknown=cfg.get("unknown", "warn"))
        if feed is not None:
            feeds.append(feed)
    return feeds
