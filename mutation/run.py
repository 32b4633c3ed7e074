"""Mutation testing of domain/ and adapters/zarr/ with cosmic-ray, on a copy of the working tree.

cosmic-ray edits the module under test in place, one mutant at a time. Several people (and
helpers) edit this tree at once, so it never runs here: the tracked and untracked files of the
working tree are copied to a scratch folder, and the tests run there with a PYTHONPATH shim
(`<copy>/_shim/hexloop/<layer>` -> `<copy>/<layer>`) that wins over the editable install's
finder, which is appended to `sys.meta_path` after the normal path finder. Before any mutant
runs, the script checks that `hexloop.*` really imports from the copy, and refuses otherwise.

Usage (the Makefile's `make mutation [MODULE=domain/labels.py]` calls this):

    .venv/bin/python mutation/run.py                        # every module in mutation/scope.toml
    .venv/bin/python mutation/run.py --module domain/labels.py --module domain/pacing.py
    .venv/bin/python mutation/run.py --list                 # the modules and their tests

It prints, per module, the number of mutants, killed, survived and timed out, then every
survivor with its line, operator and diff; the same goes to `<workdir>/report.md`.
Exit status: 0 when it ran (survivors are a finding, not a failure), 2 on a setup problem.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOPE = ROOT / "mutation" / "scope.toml"
LAYERS = ("domain", "ports", "adapters", "application")


def load_scope(path: Path = SCOPE) -> dict[str, dict]:
    """The modules to mutate, each with its settings merged over the [defaults] table."""
    data = tomllib.loads(path.read_text())
    defaults = data.get("defaults", {})
    return {name: {**defaults, **table} for name, table in data["modules"].items()}


def copy_tree(dest: Path) -> None:
    """Copy the working tree's tracked and untracked-but-not-ignored files to `dest`."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listing.split("\0")):
        src = ROOT / rel
        if not src.is_file():  # deleted in the working tree but still in the index
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    shim = dest / "_shim" / "hexloop"
    shim.mkdir(parents=True)
    for layer in LAYERS:
        (shim / layer).symlink_to(dest / layer, target_is_directory=True)


def environment(copy: Path) -> dict[str, str]:
    """The environment the tests run in: the copy's code first, LSL kept on loopback."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy / "_shim")
    env.setdefault("LSLAPICFG", str(copy / "application" / "composition" / "lsl_loopback.cfg"))
    return env


def check_imports_from_copy(copy: Path, modules: list[str], env: dict[str, str]) -> None:
    """Refuse to run unless every module under test is imported from the copy."""
    names = [
        "hexloop." + m.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        for m in modules
    ]
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}:\n"
        "    print(importlib.import_module(n).__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.exit(f"mutation: importing the modules from the copy failed:\n{out.stderr}")
    for name, path in zip(names, out.stdout.split(), strict=True):
        if not Path(path).resolve().is_relative_to(copy.resolve()):
            sys.exit(
                f"mutation: {name} is imported from {path}, not from the copy {copy}; "
                "mutants would not be tested. Is another hexloop installed non-editable?"
            )


def test_files(copy: Path, settings: dict) -> list[str]:
    """The module's test files, globs expanded inside the copy, excluded ones dropped."""
    excluded = {p for pattern in settings.get("exclude-tests", ()) for p in glob.glob(pattern, root_dir=copy)}
    found: list[str] = []
    for pattern in settings["tests"]:
        for path in sorted(glob.glob(pattern, root_dir=copy)):
            if path not in excluded and path not in found:
                found.append(path)
    return found


def write_config(path: Path, module: str, tests: list[str], settings: dict) -> None:
    """A cosmic-ray session config for one module."""
    python = sys.executable
    command = f"{python} -m pytest -x -q -p no:cacheprovider " + " ".join(tests)
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {float(settings['timeout'])}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def skip_unselected_operators(
    db: Path, patterns: list[str], sample: int | None = None
) -> tuple[int, int]:
    """Mark every mutant whose operator matches none of `patterns` as skipped.

    Returns (mutants left to run, mutants the operators select).

    With `sample`, only that many of the selected mutants (a seeded random choice, the same
    each run of the same source) stay; the rest are skipped too.
    """
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    selected = re.compile("|".join(f"(?:{p})" for p in patterns))
    with use_db(str(db), WorkDB.Mode.open) as wdb:
        items = sorted(wdb.pending_work_items, key=lambda i: (
            i.mutations[0].start_pos, i.mutations[0].operator_name, i.mutations[0].occurrence))
        keep = [i for i in items if selected.fullmatch(i.mutations[0].operator_name)]
        if sample is not None and sample < len(keep):
            keep = random.Random(0).sample(keep, sample)
        selected_count = sum(1 for i in items if selected.fullmatch(i.mutations[0].operator_name))
        kept = {i.job_id for i in keep}
        for item in items:
            if item.job_id not in kept:
                wdb.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    return len(kept), selected_count


def run_module(
    copy: Path, work: Path, module: str, settings: dict, env: dict[str, str], sample: int | None
) -> dict:
    """Init, filter, baseline and execute one module's session; return its results."""
    tests = test_files(copy, settings)
    if not tests:
        sys.exit(f"mutation: no test files match {settings['tests']} for {module}")
    stem = module.replace("/", "_").removesuffix(".py")
    config, db = work / f"{stem}.toml", work / f"{stem}.sqlite"
    db.unlink(missing_ok=True)
    write_config(config, module, tests, settings)
    bindir = Path(sys.executable).parent

    def cosmic(tool: str, *args: str) -> None:
        subprocess.run([str(bindir / tool), *args], cwd=copy, env=env, check=True)

    print(f"== {module}: tests {' '.join(tests)}", flush=True)
    cosmic("cosmic-ray", "init", str(config), str(db))
    kept, selected = skip_unselected_operators(db, settings["operators"], sample)
    print(f"== {module}: {kept} of {selected} mutants", flush=True)
    baseline = subprocess.run(
        [str(bindir / "cosmic-ray"), "baseline", str(config)], cwd=copy, env=env
    )
    if baseline.returncode != 0:
        return {"module": module, "tests": tests, "selected": selected,
                "error": "the tests fail on the unmutated code"}
    cosmic("cosmic-ray", "exec", str(config), str(db))
    restore_check(copy, module)
    return {"module": module, "tests": tests, "selected": selected, **collect(db)}


def restore_check(copy: Path, module: str) -> None:
    """cosmic-ray restores each file after its mutant; make sure it did."""
    if (copy / module).read_bytes() != (ROOT / module).read_bytes():
        print(f"note: {module} in the copy differs from the tree (edited meanwhile, or not restored)")


def collect(db: Path) -> dict:
    """Counts and survivors from a finished session database."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    # "other": cosmic-ray could not build or run the mutant (its ExceptionReplacer fails on
    # `except (a.B, C)`, for one); such a mutant is neither killed nor survived.
    counts = {"mutants": 0, "killed": 0, "survived": 0, "timeout": 0, "skipped": 0, "other": 0}
    survivors = []
    with use_db(str(db), WorkDB.Mode.open) as wdb:
        for item, result in wdb.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                counts["skipped"] += 1
                continue
            counts["mutants"] += 1
            if result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                spec = item.mutations[0]
                survivors.append(
                    {
                        "line": spec.start_pos[0],
                        "operator": spec.operator_name,
                        "occurrence": spec.occurrence,
                        "diff": result.diff or "",
                    }
                )
            elif result.test_outcome == TestOutcome.KILLED:
                counts["killed"] += 1
                if result.output == "timeout":
                    counts["timeout"] += 1
            else:
                counts["other"] += 1
        pending = sum(1 for _ in wdb.pending_work_items)
    counts["pending"] = pending
    return {**counts, "survivors": sorted(survivors, key=lambda s: s["line"])}


def report(results: list[dict]) -> str:
    """A markdown report: one table row per module, then each survivor's diff."""
    lines = [
        "| module | mutants | run | killed (by timeout) | survived | not run | tool error |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['module']} | {r['selected']} | - | - | - | - | {r['error']} |")
        else:
            lines.append(
                f"| {r['module']} | {r['selected']} | {r['mutants']} | {r['killed']} ({r['timeout']}) | "
                f"{r['survived']} | {r['pending']} | {r['other']} |"
            )
    for r in results:
        for s in r.get("survivors", ()):
            lines += ["", f"### {r['module']}:{s['line']} {s['operator']} #{s['occurrence']}", "```diff",
                      s["diff"].strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, copy the tree, run each module, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="a module path from mutation/scope.toml (repeatable)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "hexloop-mutation",
                        help="scratch folder for the copy and the session databases (emptied first)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant, overriding scope.toml")
    parser.add_argument("--sample", type=int, help="run only this many mutants per module "
                        "(a seeded random choice) when the whole set would take too long")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, run nothing")
    args = parser.parse_args(argv)

    scope = load_scope()
    unlisted = [str(p.relative_to(ROOT)) for d in ("domain", "adapters/zarr")
                for p in sorted((ROOT / d).glob("*.py"))
                if p.name != "__init__.py" and str(p.relative_to(ROOT)) not in scope]
    if unlisted:
        print(f"mutation: not in {SCOPE.relative_to(ROOT)}, so never mutated: {', '.join(unlisted)}; "
              "add each with the tests that cover it", file=sys.stderr)
    modules = args.module or list(scope)
    unknown = [m for m in modules if m not in scope]
    if unknown:
        print(f"mutation: {unknown} not in {SCOPE.relative_to(ROOT)}; known: {', '.join(scope)}",
              file=sys.stderr)
        return 2
    if args.list:
        for m in modules:
            print(m, " ".join(scope[m]["tests"]))
        return 0

    work = args.workdir.resolve()
    if work.is_relative_to(ROOT):
        print("mutation: --workdir must be outside the repository", file=sys.stderr)
        return 2
    shutil.rmtree(work, ignore_errors=True)
    copy = work / "tree"
    copy.mkdir(parents=True)
    copy_tree(copy)
    env = environment(copy)
    check_imports_from_copy(copy, modules, env)

    results = []
    for module in modules:
        settings = dict(scope[module])
        if args.timeout:
            settings["timeout"] = args.timeout
        results.append(run_module(copy, work, module, settings, env, args.sample))
        (work / "report.md").write_text(report(results))
    text = report(results)
    print(text)
    print(f"report: {work / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
