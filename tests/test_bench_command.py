"""`hexloop bench --quick --json`: every row of the table is produced, with a number or an
explicit skip reason. Never a timing assertion: the figures belong to docs/performance.md."""

import json
import math
import os
import subprocess
import sys

import pytest

from hexloop.application.composition.bench import groups, main, run_group
from hexloop.application.composition.benchrows.common import Group, RowResult


def all_keys() -> list[str]:
    return [key for group in groups() for key in group.keys]


@pytest.mark.slow
@pytest.mark.timeout(400)  # --quick is under 2 minutes on 2 idle cores; the suite shares them
def test_quick_bench_produces_every_row(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "hexloop.application.composition.cli", "bench",
                           "--quick", "--json", str(out)], capture_output=True, text=True,
                          env=env, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(out.read_text())
    assert {"cores", "cpu", "python", "numpy"} <= set(got["machine"])
    rows = {r["key"]: r for r in got["rows"]}
    assert list(rows) == all_keys()
    for key, row in rows.items():
        if row["skipped"] is None:
            assert isinstance(row["ratio"], float) and math.isfinite(row["ratio"]), key
            assert row["figures"] and row["baseline"], key
        else:
            assert row["ratio"] is None and row["skipped"].strip(), key
    for key in rows:  # the printed table has the same rows
        assert key in done.stdout


def test_a_failing_or_missing_group_still_yields_each_row_with_the_reason():
    def broken(quick):
        raise RuntimeError("device on fire")

    def partial(quick):
        return [RowResult("b.one", "one", 1.0, "<= 2", "1 us", "copy")]

    failed = run_group(Group("a", ("a.one", "a.two"), broken), quick=True)
    assert [(r.key, r.ratio) for r in failed] == [("a.one", None), ("a.two", None)]
    assert all("device on fire" in r.skipped for r in failed)

    def needs(quick):
        import hexloop_no_such_package  # noqa: F401

    missing = run_group(Group("m", ("m.one",), needs), quick=True)
    assert "optional package" in missing[0].skipped

    half = run_group(Group("b", ("b.one", "b.two"), partial), quick=True)
    assert half[0].ratio == 1.0 and half[0].met is True and half[0].skipped is None
    assert half[1].ratio is None and half[1].skipped


def test_met_reads_the_target_direction():
    assert RowResult("k", "p", 1.4, "<= 1.5").met is True
    assert RowResult("k", "p", 1.6, "<= 1.5").met is False
    assert RowResult("k", "p", 0.99, ">= 0.995").met is False
    assert RowResult("k", "p", 1.0, ">= 0.995").met is True
    assert RowResult("k", "p", 3.0).met is None


def test_main_prints_the_machine_and_every_row_and_writes_json(tmp_path, capsys, monkeypatch):
    from hexloop.application.composition import bench

    fake = [Group("fast", ("fast.one", "fast.two"), lambda quick: [
                RowResult("fast.one", "one", 1.25, "<= 1.5", "1.2 us", "np.copyto")]),
            Group("other", ("other.one",), lambda quick: [])]
    monkeypatch.setattr(bench, "groups", lambda: fake)
    path = tmp_path / "bench.json"
    assert main(quick=True, json_path=str(path)) == 0
    printed = capsys.readouterr().out
    got = json.loads(path.read_text())
    assert [r["key"] for r in got["rows"]] == ["fast.one", "fast.two", "other.one"]
    assert got["rows"][0]["met"] is True and got["machine"]["quick"] is True
    assert "fast.one" in printed and "1.250" in printed and "skip" in printed
    assert f"{got['machine']['cores']} cores" in printed
    main(quick=True, rows="other")  # the hidden --rows filter keeps whole groups by prefix
    assert "fast.one" not in capsys.readouterr().out
