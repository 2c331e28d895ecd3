"""Whole-process rows (issue 19): what a user waits for, from exec to exit.

The in-process rows of :mod:`benchmarks.rows` time work inside one Python process; these
time whole commands, the way a user meets them, each against a reference command run
side by side (interleaved, so both see the same machine load). Each figure is a median;
the headline ratio carries its goal. The machine's load average before and after is
noted, because a shared machine slows both sides but not always equally.

| row | ours | reference | goal |
|---|---|---|---|
| ``system_health_process`` | ``inv system-health`` (warm sandbox) | ``bq version`` | <= 0.5 |
| ``regression_process`` | ``inv regression --from`` 1M rows | DuckDB group-by process | <= 3 |
| ``inv_list`` (rows.py) | ``inv --list`` | ``invoke --version`` | <= 1.3 |
| ``predeploy_process`` | ``inv pre-deploy`` with its tests | (budget) | <= 45 s |
| ``nox_tests_process`` | ``nox -s tests`` | (budget) | <= 360 s |
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, timed
from benchmarks.rows import BIN, REPO, scenario

GOALS = {
    "system_health": 0.5,
    "regression": 3.0,
    "predeploy_s": 45.0,
    "nox_tests_s": 360.0,
}


def _run(cmd: list[str], timeout: float = 900, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load n/a"
    return f"load {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} CPUs"


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _verdict(goal: float, value: float) -> str:
    return "met" if value <= goal else "NOT met"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(cmd: list[str], **kwargs: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole command and its children.

    CPU time (user + system, from ``getrusage(RUSAGE_CHILDREN)``) is what the command
    itself costs: unlike wall time it hardly moves when other work shares the machine.
    """
    cpu0 = _children_cpu()
    wall, _ = timed(lambda: _run(cmd, **kwargs))
    return wall, _children_cpu() - cpu0


def _side_by_side(
    ours: list[str], theirs: list[str], repeats: int, **kwargs: Any
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Interleaved runs of two commands (ours first, then the reference, n times):
    wall times of ours and theirs, then CPU times of ours and theirs."""
    wall_a: list[float] = []
    wall_b: list[float] = []
    cpu_a: list[float] = []
    cpu_b: list[float] = []
    for _ in range(repeats):
        wall, cpu = run_measured(ours, **kwargs)
        wall_a.append(wall)
        cpu_a.append(cpu)
        wall, cpu = run_measured(theirs, **kwargs)
        wall_b.append(wall)
        cpu_b.append(cpu)
    return wall_a, wall_b, cpu_a, cpu_b


# ------------------------------------------------------------------ system-health vs bq


def system_health_process(repeats: int) -> Row:
    title = "whole process: `inv system-health` (warm sandbox) vs one `bq version`"
    inv = BIN / "inv"
    bq = shutil.which("bq")
    if bq is None:
        return Row.unavailable("system_health_process", title, "bq (Cloud SDK) not installed")
    row = Row("system_health_process", title, repeats=repeats)
    row.notes.append(f"before: {_load()}")
    with scenario("health-process"):
        env = {**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        cmd = [str(inv), "system-health"]
        build_s, first = timed(lambda: _run(cmd, cwd=REPO, env=env))
        if first.returncode not in (0, 1):
            raise AssertionError(f"inv system-health failed: {first.stderr.strip()[-300:]}")
        warm_s, _ = timed(lambda: _run(cmd, cwd=REPO, env=env))  # caches filled
        probe = _run([bq, "version"], env=env)
        if probe.returncode != 0:
            return Row.unavailable("system_health_process", title, f"bq failed: {probe.stderr}")
        ours, theirs, ours_cpu, theirs_cpu = _side_by_side(
            cmd, [bq, "version"], repeats, cwd=REPO, env=env
        )
    ratio = _median(ours) / _median(theirs)
    row.measurements = {
        "inv system-health (process)": _median(ours),
        "bq version (process)": _median(theirs),
        "inv system-health CPU (user+sys)": _median(ours_cpu),
        "bq version CPU (user+sys)": _median(theirs_cpu),
    }
    goal = GOALS["system_health"]
    row.ratios = {
        f"system-health / bq version (goal <= {goal})": ratio,
        "same, CPU time (load-independent)": _median(ours_cpu) / _median(theirs_cpu),
    }
    row.notes += [
        f"goal {_verdict(goal, ratio)}",
        f"first run built the sandbox ({build_s:.1f}s), second filled the caches ({warm_s:.1f}s)",
        f"samples ours {[round(x, 2) for x in ours]} bq {[round(x, 2) for x in theirs]}",
        f"after: {_load()}",
    ]
    return row


# ------------------------------------------------------------------ regression --from


GROUP_BY = (
    "import duckdb, sys\n"
    'duckdb.sql("SELECT system_id, count(*) AS n, '
    "avg(abs(predicted_points - actual_points)) AS mae, "
    "sum(CASE WHEN recommendation = 'OVER' AND actual_points > line_value THEN 1 "
    "WHEN recommendation = 'UNDER' AND actual_points < line_value THEN 1 ELSE 0 END) AS hits "
    'FROM read_parquet(\'" + sys.argv[1] + "\') GROUP BY system_id").fetchall()\n'
)


def regression_process(repeats: int) -> Row:
    title = "whole process: `inv regression --from` 1M predictions vs a bare DuckDB group-by"
    inv = BIN / "inv"
    try:
        import duckdb

        from nbaops.regression.metrics import synthetic_table
    except ImportError as exc:
        return Row.unavailable("regression_process", title, f"not importable: {exc}")
    row = Row("regression_process", title, repeats=repeats)
    row.notes.append(f"before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="nbaops-bench-regproc-") as tmp:
        parquet = Path(tmp) / "graded.parquet"
        con = duckdb.connect()
        synthetic_table(con, 1_000_000)
        con.execute(f"COPY graded TO '{parquet}' (FORMAT parquet)")
        rows = int(con.execute("SELECT count(*) FROM graded").fetchone()[0])  # type: ignore[index]
        con.close()
        with scenario("regression-process"):
            ours_cmd = [
                str(inv),
                "regression",
                "--from",
                str(parquet),
                "--html",
                str(Path(tmp) / "report.html"),
            ]
            probe = _run(ours_cmd, cwd=REPO)
            if probe.returncode not in (0, 1):
                raise AssertionError(
                    f"inv regression --from failed ({probe.returncode}): "
                    f"{(probe.stdout + probe.stderr).strip()[-300:]}"
                )
            ref_cmd = [sys.executable, "-c", GROUP_BY, str(parquet)]
            check = _run(ref_cmd)
            if check.returncode != 0:
                raise AssertionError(f"reference group-by failed: {check.stderr[-300:]}")
            ours, theirs, ours_cpu, theirs_cpu = _side_by_side(ours_cmd, ref_cmd, repeats, cwd=REPO)
    ratio = _median(ours) / _median(theirs)
    goal = GOALS["regression"]
    row.measurements = {
        "inv regression --from (process)": _median(ours),
        "python + DuckDB group-by (process)": _median(theirs),
        "inv regression --from CPU (user+sys)": _median(ours_cpu),
        "DuckDB group-by CPU (user+sys)": _median(theirs_cpu),
    }
    row.ratios = {
        f"regression / group-by (goal <= {goal})": ratio,
        "same, CPU time (load-independent)": _median(ours_cpu) / _median(theirs_cpu),
    }
    row.notes += [
        f"goal {_verdict(goal, ratio)}",
        f"{rows} rows of nbaops.regression.metrics.synthetic_table as Parquet; the "
        "reference reads the same file: count, MAE and hits per system",
        f"after: {_load()}",
    ]
    return row


# ------------------------------------------------------------------ pre-deploy


def predeploy_tests_check(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``tests`` check of one ``inv pre-deploy --json`` run, which must have run and
    passed: a run whose tests failed (or were reused) did not do the work the budget is
    about, so the row is an error, never "goal met"."""
    try:
        doc = json.loads(done.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"pre-deploy --json printed no JSON ({done.returncode}): "
            f"{(done.stdout + done.stderr).strip()[-300:]}"
        ) from exc
    tests = next((c for c in doc.get("checks", []) if c.get("name") == "tests"), None)
    if tests is None or tests.get("verdict") not in ("PASS", "FAIL"):
        raise AssertionError(f"pre-deploy did not run its tests: {tests}")
    if tests.get("verdict") != "PASS":
        raise AssertionError(f"pre-deploy's tests failed: {tests.get('message')}")
    if "reused" in str(tests.get("message", "")):
        raise AssertionError(f"pre-deploy reused a test run: {tests.get('message')}")
    return dict(tests)


def predeploy_process(repeats: int) -> Row:
    title = "whole process: `inv pre-deploy` with its tests (local profile)"
    inv = BIN / "inv"
    repeats = min(repeats, 3)  # each run executes the pre-deploy test subset
    row = Row("predeploy_process", title, repeats=repeats)
    row.notes.append(f"before: {_load()}")
    from nbaops.deploy.test_results import FOLDER

    with scenario("predeploy-process") as home:
        cmd = [str(inv), "pre-deploy", "--service", "phase4-processors", "--json"]
        _run([str(inv), "system-health"], cwd=REPO)  # build the sandbox first (not timed)
        walls: list[float] = []
        cpus: list[float] = []
        tests_s: list[float] = []
        detail = ""
        for _ in range(repeats):
            # Every run pays for its tests: a remembered passing run of this commit
            # (nbaops.deploy.test_results) would be reused, and time nothing but a lookup.
            shutil.rmtree(home / FOLDER, ignore_errors=True)
            cpu0 = _children_cpu()
            wall, done = timed(lambda: _run(cmd, cwd=REPO))
            walls.append(wall)
            cpus.append(_children_cpu() - cpu0)
            tests = predeploy_tests_check(done)
            tests_s.append(float(tests.get("duration_s") or 0.0))
            detail = str(tests.get("message", ""))[:120]
    goal = GOALS["predeploy_s"]
    row.measurements = {
        "inv pre-deploy (process)": _median(walls),
        "of which the tests check": _median(tests_s),
        "inv pre-deploy CPU (user+sys, with the tests)": _median(cpus),
    }
    row.ratios = {f"seconds vs budget {goal:g}s": _median(walls) / goal}
    row.notes += [
        f"goal {_verdict(goal, _median(walls))}",
        f"tests check: {detail}",
        f"after: {_load()}",
    ]
    return row


# ------------------------------------------------------------------ nox -s tests


def nox_tests_summary(done: subprocess.CompletedProcess[str]) -> str:
    """pytest's summary line of a ``nox -s tests`` run, which must have succeeded: a failed
    session's time is not the wait the budget is about, so the row is an error (and the
    bench exits 1), never "goal met; exit 1"."""
    tail = (done.stdout + done.stderr).strip().splitlines()
    summary = next((line for line in reversed(tail) if " passed" in line), tail[-1] if tail else "")
    if done.returncode != 0:
        raise AssertionError(f"nox -s tests failed (exit {done.returncode}): {summary[:160]}")
    return summary


def nox_tests_process(repeats: int) -> Row:
    title = "whole process: `nox -s tests` wall (the default CI test session)"
    nox = BIN / "nox"
    if not nox.exists():
        return Row.unavailable("nox_tests_process", title, f"{nox} not installed")
    from nbaops import environment

    if environment.read("NBAOPS_BENCH_SKIP_NOX_TESTS"):
        return Row.unavailable(
            "nox_tests_process", title, "skipped (NBAOPS_BENCH_SKIP_NOX_TESTS is set)"
        )
    row = Row("nox_tests_process", title, repeats=1)
    row.notes.append(f"before: {_load()}")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NBAOPS_HOME")}
    # -R: reuse the tests session's environment without reinstalling (an install is setup,
    # not the wait this row is about); run once: it is minutes long.
    cpu0 = _children_cpu()
    wall, done = timed(
        lambda: _run([str(nox), "-s", "tests", "-R"], cwd=REPO, env=env, timeout=3600)
    )
    cpu = _children_cpu() - cpu0
    summary = nox_tests_summary(done)
    goal = GOALS["nox_tests_s"]
    row.measurements = {
        "nox -s tests (process)": wall,
        "CPU (user+sys, all workers)": cpu,
    }
    row.ratios = {f"seconds vs budget {goal:g}s": wall / goal}
    row.notes += [
        f"goal {_verdict(goal, wall)}",
        f"pytest: {summary.strip()[:160]}",
        "run once (n=1)",
        f"after: {_load()}",
    ]
    return row


PROCESS_ROWS = [system_health_process, regression_process, predeploy_process, nox_tests_process]
