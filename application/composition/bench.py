"""`hexloop bench`: every performance row of issue #13 in one run, as ratios against baselines
measured in the same run, next to the absolute figures and the machine.

Each row group lives in `benchrows/`; a group that cannot run here (a missing optional
package, no display) or fails still yields every one of its rows, skipped with the reason, so
the table always has the same rows. `--quick` shortens every measurement (a smoke test, not
a result); `--json PATH` writes the same table as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback

from .benchrows.common import Group, RowResult


def groups() -> list[Group]:
    """Every row group, in table order (imported here so a row's packages load only on use)."""
    from .benchrows import (
        acquisition,
        conditioning,
        gui,
        loop,
        recording,
        replay,
        ring,
        training_modes,
    )

    return [ring.GROUP, acquisition.GROUP, training_modes.GROUP, loop.GROUP, replay.GROUP,
            recording.GROUP, conditioning.GROUP, gui.GROUP]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    import numpy as np

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"cores": cores, "cpu": cpu_model(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(), "load_1min": load}


def run_group(group: Group, quick: bool) -> list[RowResult]:
    """The group's rows in its key order; anything missing or failed is an explicit skip."""
    try:
        got = {r.key: r for r in group.run(quick)}
    except ImportError as e:
        got, reason = {}, f"needs an optional package: {e}"
    except Exception as e:  # noqa: BLE001 - one broken row must not lose the others
        traceback.print_exc(file=sys.stderr)
        got, reason = {}, f"failed: {type(e).__name__}: {e}"
    else:
        reason = "the group produced no figure for this row"
    rows = []
    for key in group.keys:
        row = got.get(key)
        if row is None or (row.ratio is None and not row.skipped):
            row = RowResult(key, group.paths.get(key, key), skipped=reason)
        rows.append(row)
    return rows


def table(rows: list[RowResult], info: dict) -> str:
    head = (f"hexloop bench: {info['cores']} cores, {info['cpu']}, python {info['python']}, "
            f"numpy {info['numpy']}, load {info['load_1min']}")
    width = max(len(r.key) for r in rows)
    lines = [head, f"{'row':<{width}}  {'ratio':>7}  {'target':<8} {'met':<4} figures",
             "-" * (width + 60)]
    for r in rows:
        if r.skipped:
            lines.append(f"{r.key:<{width}}  {'-':>7}  {r.target:<8} {'skip':<4} {r.skipped}")
            continue
        met = {True: "yes", False: "NO", None: ""}[r.met]
        lines.append(f"{r.key:<{width}}  {r.ratio:>7.3f}  {r.target:<8} {met:<4} {r.figures}"
                     f"  [vs {r.baseline}]")
    return "\n".join(lines)


def main(quick: bool = False, json_path: str | None = None, rows: str | None = None) -> int:
    """Run the groups (those whose name or a row key starts with one of the comma-separated
    `rows`, if given), print the table, write JSON; 0 when every row has a figure or a skip."""
    info = machine()
    wanted = [w for w in (rows or "").split(",") if w]
    results: list[RowResult] = []
    started = time.monotonic()
    for group in groups():
        if wanted and not any(group.name.startswith(w) or any(k.startswith(w) for k in group.keys)
                              for w in wanted):
            continue
        t0 = time.monotonic()
        got = run_group(group, quick)
        results += got
        print(f"[{group.name}: {time.monotonic() - t0:.1f} s]", file=sys.stderr, flush=True)
    info["seconds"] = round(time.monotonic() - started, 1)
    info["quick"] = quick
    print(table(results, info))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump({"machine": info, "rows": [r.as_json() for r in results]}, f, indent=2,
                      default=float)
    return 0
