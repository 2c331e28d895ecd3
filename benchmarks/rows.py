"""The six benchmark rows of issue 9. Each returns a :class:`~benchmarks.harness.Row`.

Every scenario runs under its own temporary ``NBAOPS_HOME`` (never the developer's
``.nbaops/``). A tool or data set that is not installed gives ``Row.unavailable`` with
the reason, never a number.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, median_time, timed

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOOGLE_MODULES = ("google.cloud", "google.api_core", "grpc")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@contextmanager
def scenario(name: str, **env: str) -> Iterator[Path]:
    """A temporary NBAOPS_HOME (plus extra env) for one scenario; restored afterwards."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix=f"nbaops-bench-{name}-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["NBAOPS_HOME"] = str(home)
        for key in (
            "NBAOPS_PROFILE",
            "NBAOPS_CONFIG",
            "NBAOPS_NOW",
            "SLACK_WEBHOOK_URL",
            "GITHUB_STEP_SUMMARY",
        ):
            os.environ.pop(key, None)
        os.environ.update(env)
        try:
            yield home
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
        **kwargs,
    )


# ------------------------------------------------------------------ 1. system-health


def system_health(repeats: int) -> Row:
    title = "system-health (local): whole run vs its checks one by one vs one `bq version`"
    from nbaops.checks import plan_checks, run_one
    from nbaops.sandbox.world import open_context
    from nbaops.system_health import run_system_health

    row = Row("system_health", title, repeats=repeats)
    with scenario("health"):
        ctx = open_context("local")
        build_s, _ = timed(lambda: (ctx.warehouse, ctx.logs))
        row.notes.append(f"sandbox built once before timing ({build_s:.1f}s)")
        planned = plan_checks(ctx)
        run_system_health(ctx, None, record=False)  # warm-up (imports, clients)
        whole: list[float] = []
        serial: list[float] = []
        per_check: dict[str, list[float]] = {p.label: [] for p in planned}
        for _ in range(repeats):
            elapsed, report = timed(lambda: run_system_health(ctx, None, record=False))
            whole.append(elapsed)
            started = time.perf_counter()
            for p in planned:
                t, _ = timed(functools.partial(run_one, ctx, p))
                per_check[p.label].append(t)
            serial.append(time.perf_counter() - started)
        med = _median
        slowest_label = max(per_check, key=lambda k: med(per_check[k]))
        row.measurements = {
            "system-health (concurrent)": med(whole),
            "checks one by one (sum)": med(serial),
            f"slowest check ({slowest_label})": med(per_check[slowest_label]),
        }
        row.ratios = {
            "whole / one-by-one": med(whole) / med(serial),
            "whole / slowest check (goal <= 1.5)": med(whole) / med(per_check[slowest_label]),
        }
        row.notes.append(f"{len(planned)} checks; verdict {report.verdict.value}")
    bq = shutil.which("bq")
    if bq is None:
        row.measurements["bq version"] = "bq not installed"
        row.ratios["whole / bq version"] = "bq not installed"
    else:
        env = {**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        probe = _run([bq, "version"], env=env)
        if probe.returncode != 0:
            row.measurements["bq version"] = f"bq failed: {probe.stderr.strip()[:80]}"
        else:
            bq_s, _, _ = median_time(lambda: _run([bq, "version"], env=env), repeats)
            row.measurements["bq version (1 CLI call)"] = bq_s
            whole_s = row.measurements["system-health (concurrent)"]
            assert isinstance(whole_s, float)
            row.ratios["whole / bq version (goal < 1)"] = whole_s / bq_s
    return row


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


# ------------------------------------------------------------------ 2. inv --list


def inv_list(repeats: int) -> Row:
    title = "`inv --list` vs bare `invoke --version` (task-file startup)"
    inv = BIN / "inv"
    if not inv.exists():
        return Row.unavailable("inv_list", title, f"{inv} not installed")
    first = _run([str(inv), "--list"], cwd=REPO)
    if first.returncode != 0:
        return Row.unavailable(
            "inv_list", title, f"inv --list failed: {first.stderr.strip().splitlines()[-1:]}"
        )
    row = Row("inv_list", title, repeats=repeats)
    from benchmarks.process_rows import run_measured

    listed, version, listed_cpu, version_cpu = [], [], [], []
    for _ in range(max(repeats, 9)):  # interleaved, so both see the same machine state
        wall, cpu = run_measured([str(inv), "--list"], cwd=REPO)
        listed.append(wall)
        listed_cpu.append(cpu)
        wall, cpu = run_measured([str(inv), "--version"], cwd=REPO)
        version.append(wall)
        version_cpu.append(cpu)
    row.repeats = len(listed)
    row.measurements = {
        "inv --list": _median(listed),
        "invoke --version": _median(version),
        "inv --list CPU (user+sys)": _median(listed_cpu),
        "invoke --version CPU (user+sys)": _median(version_cpu),
    }
    row.ratios = {
        "inv --list / invoke --version (goal <= 1.3)": _median(listed) / _median(version),
        "same, CPU time (load-independent)": _median(listed_cpu) / _median(version_cpu),
    }
    probe = _run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys\nfrom invoke.main import program\n"
            "sys.argv = ['inv', '--list']\nprogram.run()",
        ],
        cwd=REPO,
    )
    imported = sorted(
        {
            line.rsplit("|", 1)[-1].strip()
            for line in probe.stderr.splitlines()
            if "|" in line and line.rsplit("|", 1)[-1].strip().startswith(GOOGLE_MODULES)
        }
    )
    if "nbaops.cli" not in probe.stderr:
        raise AssertionError(f"the import probe did not load tasks.py: {probe.stderr[-300:]}")
    if imported:
        raise AssertionError(f"inv --list imported Google clients: {', '.join(imported[:5])}")
    row.notes.append(
        "python -X importtime: no google.cloud / google.api_core / grpc "
        "module imported by inv --list (asserted)"
    )
    return row


# ------------------------------------------------------------------ 3. schema hooks


def schema_hooks(repeats: int) -> Row:
    title = "schema lint hook vs check-jsonschema on the same schema files"
    files = [str(p) for p in sorted((REPO / "schemas").glob("*/*.json"))]
    hook = BIN / "nbaops-bq-schema-lint"
    hook_cmd = [str(hook)] if hook.exists() else [sys.executable, "-m", "hooks.bq_schema_lint"]
    cjs = shutil.which("check-jsonschema", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if cjs is None:
        return Row.unavailable(
            "schema_hooks", title, "check-jsonschema not installed (nox -s bench installs it)"
        )
    schema = str(Path(__file__).with_name("bq_table_schema.json"))
    cjs_cmd = [cjs, "--schemafile", schema, *files]
    for cmd in (hook_cmd + files, cjs_cmd):
        probe = _run(cmd, cwd=REPO)
        if probe.returncode != 0:
            raise AssertionError(
                f"{cmd[0]} rejected the repo's schemas: "
                f"{(probe.stdout + probe.stderr).strip()[:300]}"
            )
    row = Row("schema_hooks", title, repeats=repeats)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(timed(lambda: _run(hook_cmd + files, cwd=REPO))[0])
        theirs.append(timed(lambda: _run(cjs_cmd, cwd=REPO))[0])
    from nbaops.bqschema.lint import lint_paths

    in_process, _, _ = median_time(lambda: lint_paths(files), repeats)
    row.measurements = {
        "bq-schema-lint (process)": _median(ours),
        "check-jsonschema (process)": _median(theirs),
        "bq-schema-lint in-process (lint_paths)": in_process,
    }
    row.ratios = {"bq-schema-lint / check-jsonschema": _median(ours) / _median(theirs)}
    row.notes.append(
        f"{len(files)} schema files; check-jsonschema validates only the shape "
        "(benchmarks/bq_table_schema.json), the hook also checks BigQuery's rules"
    )
    return row


# ------------------------------------------------------------------ 4. seasons


def _season_counts(ctx: Any) -> dict[str, int]:
    counts = {}
    since = dt.date(1900, 1, 1)
    for table, column in (
        ("nba_analytics.player_game_summary", "game_date"),
        ("nba_predictions.player_prop_predictions", "game_date"),
        ("nba_raw.games", "game_date"),
    ):
        rows = ctx.warehouse.query(
            f"SELECT COUNT(*) AS n FROM `{table}` WHERE {column} >= @since",  # noqa: S608
            {"since": since},
        ).rows
        counts[table] = int(rows[0]["n"])
    return counts


def _add_past_seasons(ctx: Any, years: int) -> None:
    """Copy every partitioned table's rows 1..``years`` years back (partition column
    shifted): the same recent window over a table holding ``years + 1`` seasons."""
    from nbaops.table_catalog import load_catalog

    since = dt.date(1900, 1, 1)
    for spec in load_catalog(REPO):
        column = spec.partition
        if not column:
            continue
        kind = spec.partition_type or "DATE"
        bound = "@since" if kind == "DATE" else "TIMESTAMP(@since)"
        low = ctx.warehouse.query(
            f"SELECT MIN({column}) AS low FROM `{spec.ref}` WHERE {column} >= {bound}",  # noqa: S608
            {"since": since},
        ).rows[0]["low"]
        if low is None:
            continue
        for year in range(1, years + 1):  # copies of the original rows only
            shifted = (
                f"DATE_SUB({column}, INTERVAL {365 * year} DAY)"
                if kind == "DATE"
                else f"TIMESTAMP_SUB({column}, INTERVAL {8760 * year} HOUR)"
            )
            ctx.warehouse.execute(
                f"INSERT INTO `{spec.ref}` SELECT * REPLACE ({shifted} AS {column}) "  # noqa: S608
                f"FROM `{spec.ref}` WHERE {column} >= @low",
                {"low": low},
            )


def seasons(repeats: int) -> Row:
    title = "health checks on 1 vs 3 seasons of history (cost tracks the window)"
    from nbaops.paths import shared_data_dir

    logs = shared_data_dir(REPO) / "player_game_logs"
    one = logs / "player_logs_2024-25.csv"
    if not one.exists():
        return Row.unavailable("seasons", title, f"real game logs not found under {logs}")
    from nbaops.sandbox.lifecycle import reset
    from nbaops.sandbox.world import open_context
    from nbaops.system_health import run_system_health

    row = Row("seasons", title, repeats=repeats)
    medians: dict[str, float] = {}
    sizes: dict[str, dict[str, int]] = {}
    for label, past in (("1 season", 0), ("3 seasons", 2)):
        with scenario(label.replace(" ", "")):
            ctx = open_context("local")
            build_s, _ = timed(functools.partial(reset, ctx, from_logs=one))
            if past:
                _add_past_seasons(ctx, past)
            sizes[label] = _season_counts(ctx)
            run_system_health(ctx, None, record=False)  # warm-up
            medians[label], _, report = median_time(
                functools.partial(run_system_health, ctx, None, record=False), repeats
            )
            row.notes.append(
                f"{label}: verdict {report.verdict.value}; rows "
                + ", ".join(f"{k.split('.')[1]}={v}" for k, v in sizes[label].items())
            )
    row.notes.insert(
        0,
        "sandbox --from-logs player_logs_2024-25.csv (real data); the 3-season "
        "table adds the same rows 1 and 2 years back on every partitioned table",
    )
    row.measurements = {f"system-health, {k}": v for k, v in medians.items()}
    box = "nba_analytics.player_game_summary"
    row.ratios = {
        "time 3 seasons / 1 season (goal ~1)": medians["3 seasons"] / medians["1 season"],
        "box-score rows 3 / 1": sizes["3 seasons"][box] / max(1, sizes["1 season"][box]),
    }
    return row


# ------------------------------------------------------------------ 5. regression metrics


def _pandas_metrics(df: Any) -> Any:
    """The same per-system and per-segment metrics as nbaops.regression.metrics.compute,
    written as a plain pandas groupby (dedup, derived columns, 8 grouping sets, Wilson)."""
    import numpy as np
    import pandas as pd

    from nbaops.regression.metrics import Buckets

    b = Buckets()
    df = df.sort_values("created_at").drop_duplicates(
        ["system_id", "game_id", "player_lookup"], keep="last"
    )
    rec = df["recommendation"].str.upper()
    bet = rec.isin(["OVER", "UNDER"]) & df["line_value"].notna()
    push = bet & (df["actual_points"] == df["line_value"])
    hit = ((rec == "OVER") & (df["actual_points"] > df["line_value"])) | (
        (rec == "UNDER") & (df["actual_points"] < df["line_value"])
    )
    err = df["predicted_points"] - df["actual_points"]
    edge = (df["predicted_points"] - df["line_value"]).abs()

    def cut(series: Any, edges: tuple[float, ...]) -> Any:
        return pd.cut(series, [-np.inf, *edges, np.inf], right=False).astype(str)

    work = pd.DataFrame(
        {
            "system_id": df["system_id"],
            "is_bet": bet,
            "is_push": push,
            "hit": bet & ~push & hit,
            "pass": rec == "PASS",
            "abs_err": err.abs(),
            "err": err,
            "conf": df["confidence"].where(bet & ~push),
            "edge": edge.where(bet),
            "line_bucket": cut(df["line_value"], b.line),
            "venue": np.where(
                df["is_home"].isna(),
                "unknown",
                np.where(df["is_home"].fillna(False), "home", "away"),
            ),
            "minutes_bucket": cut(df["minutes"], b.minutes),
            "side": rec,
            "week": pd.to_datetime(df["game_date"]).dt.to_period("W").astype(str),
            "confidence_bucket": cut(df["confidence"], b.confidence),
            "edge_bucket": cut(edge, b.edge),
        }
    )
    frames = []
    for keys in (
        ["system_id"],
        *(
            ["system_id", c]
            for c in (
                "line_bucket",
                "venue",
                "minutes_bucket",
                "side",
                "week",
                "confidence_bucket",
                "edge_bucket",
            )
        ),
    ):
        g = work.groupby(keys, observed=True).agg(
            predictions=("is_bet", "size"),
            bets=("is_bet", "sum"),
            pushes=("is_push", "sum"),
            hits=("hit", "sum"),
            passes=("pass", "sum"),
            mae=("abs_err", "mean"),
            bias=("err", "mean"),
            mean_confidence=("conf", "mean"),
            mean_edge=("edge", "mean"),
        )
        frames.append(g.reset_index())
    out = pd.concat(frames, ignore_index=True)
    n = (out["bets"] - out["pushes"]).clip(lower=1).astype(float)
    p = out["hits"] / n
    z = 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    out["hit_rate"], out["wilson_low"], out["wilson_high"] = p, centre - half, centre + half
    return out


def regression_metrics(repeats: int) -> Row:
    title = "regression metrics on 1M graded predictions vs a pandas groupby"
    if not _has("pandas"):
        return Row.unavailable("regression", title, "pandas not installed")
    import duckdb

    from nbaops.regression.metrics import compute, synthetic_table

    con = duckdb.connect()
    synthetic_table(con, 1_000_000)
    frame = con.execute("SELECT * FROM graded").df()
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(timed(lambda: compute(con, "graded", pairs=[("v8", "v9")]))[0])
        theirs.append(timed(lambda: _pandas_metrics(frame))[0])
    metrics = compute(con, "graded")
    row = Row("regression", title, repeats=repeats)
    row.measurements = {
        "nbaops compute (DuckDB)": _median(ours),
        "pandas groupby (same metrics)": _median(theirs),
    }
    row.ratios = {"nbaops / pandas": _median(ours) / _median(theirs)}
    row.notes.append(
        f"{metrics.rows} rows; nbaops additionally computes the error "
        "histogram, leakage and sanity stats and a paired v8/v9 comparison; "
        "pandas starts from an in-memory DataFrame (load not timed)"
    )
    return row


# ------------------------------------------------------------------ 6. deploy rehearsal


def deploy_rehearsal(repeats: int) -> Row:
    title = "local deploy rehearsal: time in nbaops vs waiting (observation/polling)"
    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.sandbox.world import open_context

    row = Row("deploy", title, repeats=repeats)
    with tempfile.TemporaryDirectory(prefix="nbaops-bench-clone-") as tmp:
        clone = Path(tmp) / "repo"
        done = _run(["git", "clone", "-q", "--branch", "main", str(REPO), str(clone)])
        if done.returncode != 0:
            return Row.unavailable("deploy", title, f"git clone failed: {done.stderr[:120]}")
        with scenario("deploy", NBAOPS_ROOT=str(clone)):
            open_context("local").standin  # noqa: B018 - build the sandbox before timing
            walls, waits, outcomes = [], [], []
            for _ in range(repeats):
                slept: list[float] = []

                def sleep(seconds: float, slept: list[float] = slept) -> None:
                    started = time.perf_counter()
                    time.sleep(seconds)
                    slept.append(time.perf_counter() - started)

                ctx = open_context("local")
                wall, report = timed(
                    functools.partial(
                        run_deploy,
                        ctx,
                        DeployRequest(service="phase4-processors", skip_tests=True),
                        sleep=sleep,
                    )
                )
                walls.append(wall)
                waits.append(sum(slept))
                outcomes.append(report.outcome)
    work = [w - s for w, s in zip(walls, waits, strict=True)]
    row.measurements = {
        "deploy wall": _median(walls),
        "waiting (sleep)": _median(waits),
        "nbaops itself (wall - waiting)": _median(work),
    }
    row.ratios = {"nbaops / wall": _median(work) / _median(walls)}
    row.notes.append(
        f"outcomes {', '.join(outcomes)}; local profile observation window "
        "(nbaops.yaml), tests skipped; a clean clone of main"
    )
    return row


ROWS = [system_health, inv_list, schema_hooks, seasons, regression_metrics, deploy_rehearsal]
