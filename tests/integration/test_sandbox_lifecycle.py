"""The sandbox on disk: creation on first use, the fast path, rebuilds, reset, faults,
the stand-in hook, the Cloud Run seeding with real commits, and the tasks' exit codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from worlds.sandbox import restore_home, sandbox_home

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.context import Context
from nbaops.errors import DamagedStateError, UnknownServiceError, UsageError
from nbaops.local import cloudrun_state, log_store
from nbaops.report import CheckReport
from nbaops.sandbox import fault_injection, faults, lifecycle
from nbaops.sandbox.world import open_context

ROOT = Path(__file__).resolve().parents[2]
# 12:00 ET, the clock of test_checks_sandbox_faults: they share the session's templates
NOW = "2026-01-14T17:00:00Z"
TODAY = dt.date(2026, 1, 14)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the session's sandbox template for NOW (built by ``ensure_sandbox`` on
    an empty home: what the first-use test inspects)."""
    folder = sandbox_home(tmp_path_factory, tmp_path_factory.mktemp("sandbox"), NOW)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBAOPS_HOME", str(folder))
        mp.setenv("NBAOPS_NOW", NOW)
        mp.delenv("NBAOPS_PROFILE", raising=False)
        lifecycle.ensure_sandbox(open_context("local"))  # a no-op on the current copy
        yield folder


@pytest.fixture
def restore(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Afterwards the home is the template again (what ``fault_injection.clear``
    regenerates from the seed in seconds; test_inject_and_clear_restore_the_data_exactly
    tests that ``clear`` itself restores the data exactly)."""
    yield
    restore_home(tmp_path_factory, home, NOW)


@pytest.fixture
def ctx(home: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    return open_context("local")


def count(home: Path, sql: str, **params: Any) -> int:
    wh = DuckDBWarehouse(home / "warehouse.duckdb", root=ROOT)
    return int(wh.query(sql, params).rows[0]["n"])


LINES_TODAY = (
    "SELECT COUNT(DISTINCT player_lookup) AS n FROM nba_precompute.points_lines "
    "WHERE game_date = @d"
)


def test_first_use_creates_warehouse_standin_state_logs_and_marker(home: Path) -> None:
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["format"] == lifecycle.FORMAT_VERSION
    assert marker["seed"] == lifecycle.DEFAULT_SEED and marker["now"].startswith(NOW[:16])
    assert marker["counts"]["nba_predictions.player_prop_predictions"] > 10_000
    assert (home / "warehouse.duckdb").is_file() and (home / "cloudrun.json").is_file()
    assert len(log_store.read_entries(home)) == marker["log_entries"] > 100
    assert count(home, LINES_TODAY, d=TODAY) > 100


def test_services_have_revisions_labelled_with_real_commits(home: Path) -> None:
    commits = set(
        subprocess.run(
            ["git", "-C", str(ROOT), "rev-list", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    state = cloudrun_state.load_state(home)
    ctx = open_context("local")
    serving_commits = []
    for service in ctx.config.service_names:
        full = cloudrun_state.service_name("nbaops-local", "us-west2", service)
        revs = cloudrun_state.revisions_of(state, full)
        assert len(revs) >= 2
        for rev in revs:
            assert rev["labels"]["commit-sha"] in commits
        serving = cloudrun_state.serving_revision(state, state["services"][full])
        serving_commits.append(
            next(r["labels"]["commit-sha"] for r in revs if r["name"].endswith("/" + str(serving)))
        )
    if len(commits) > 1:
        assert any(c != head for c in serving_commits)  # drift is visible
    assert lifecycle.read_marker(home)["commits"] == "git"  # type: ignore[index]


def test_ensure_is_a_fast_no_op_when_current(ctx: Context, home: Path) -> None:
    before = lifecycle.read_marker(home)
    started = time.perf_counter()
    for _ in range(20):
        lifecycle.ensure_sandbox(ctx)
    per_call = (time.perf_counter() - started) / 20
    assert lifecycle.read_marker(home) == before  # nothing rebuilt
    assert per_call < 0.05


def test_a_run_holding_the_warehouse_never_waits_for_another_refresh(
    ctx: Context, home: Path, restore: None
) -> None:
    """A context prepares the sandbox once, at its first adapter. system-health holds the
    warehouse file, then its logs thread made the logs adapter: ensuring the sandbox again
    there waited for the stand-in lock, held by another process's refresh that itself
    waited for the warehouse file, so both hung until the warehouse lock timed out (30 s)
    and the fault injection failed with exit 3."""
    import threading

    from nbaops.local.state_files import locked

    with ctx.warehouse.session():  # type: ignore[attr-defined]
        lifecycle.mark_incomplete(home, "refresh")  # another task's refresh under way...
        held, release = threading.Event(), threading.Event()

        def other_refresh() -> None:  # ...holding the stand-in lock (its own thread here)
            with locked(home):
                held.set()
                release.wait(20)

        other = threading.Thread(target=other_refresh, daemon=True)
        other.start()
        assert held.wait(10)
        started = time.monotonic()
        logs = threading.Thread(target=lambda: ctx.logs, daemon=True)
        logs.start()
        logs.join(5)
        waited = time.monotonic() - started
        release.set()
        other.join(10)
    assert not logs.is_alive(), "the logs adapter waited for the other refresh's lock"
    assert waited < 5


def test_a_refresh_never_shows_readers_an_empty_or_partial_log_store(tmp_path: Path) -> None:
    """The refresh rewrites the log store while other processes' checks read it: it was
    unlinked and appended again, so a reader could see no entries (error_logs: a false
    PASS) or a cut line (a stand-in 500). Now the new file replaces the old one whole."""
    import threading

    from nbaops.local import log_store

    entries = [
        {
            "timestamp": f"2026-01-14T16:{i // 60:02d}:{i % 60:02d}Z",
            "severity": "ERROR",
            "textPayload": "x" * 200,
        }
        for i in range(500)
    ]
    lifecycle.write_logs(tmp_path, entries)
    seen: set[int] = set()
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen.add(len(log_store.read_entries(tmp_path)))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    for _ in range(10):  # the unlink-and-append rewrite was seen in each of 20 runs
        lifecycle.write_logs(tmp_path, entries)
    done.set()
    thread.join(10)
    assert seen == {500}


@contextlib.contextmanager
def warehouse_held_elsewhere(home: Path) -> Iterator[None]:
    """Another process holds the sandbox's warehouse file for the block."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\n"
            "print('locked', flush=True)\ntime.sleep(60)\n",
            str(home / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_fault_whose_data_waits_too_long_for_the_warehouse_says_it_is_recorded(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another task holding the warehouse past the lock timeout: the injection fails
    (exit 3) saying the fault is recorded and the next task applies its data, which it
    does; it used to print only the lock error while the fault was in force."""
    from nbaops.errors import WarehouseError

    baseline = count(home, LINES_TODAY, d=TODAY)
    monkeypatch.setenv("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "0.3")
    with warehouse_held_elsewhere(home), pytest.raises(WarehouseError) as caught:
        fault_injection.inject(ctx, "lines-coverage-drop")
    assert str(caught.value).startswith(
        "fault lines-coverage-drop is recorded, but its data is not applied yet: local warehouse "
    )
    assert "the next task applies it" in str(caught.value)
    assert [r["name"] for r in faults.read_records(home)] == ["lines-coverage-drop"]
    assert (lifecycle.read_marker(home) or {}).get("incomplete") == "refresh"
    lifecycle.ensure_sandbox(open_context("local"))  # the next task applies the data
    assert "incomplete" not in (lifecycle.read_marker(home) or {})
    assert count(home, LINES_TODAY, d=TODAY) <= 0.7 * baseline


def test_a_clear_that_waits_too_long_for_the_warehouse_still_removes_the_drift(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drift fault lives in the platform clone, which the next task's data refresh does
    not touch: a clear whose data refresh fails removes the clone first, so what it says
    ("the faults are cleared") holds for drift too."""
    from nbaops.errors import WarehouseError
    from nbaops.sandbox import platform_repo

    fault_injection.inject(ctx, "drift", "prediction-worker")
    assert platform_repo.platform_path(home).is_dir()
    monkeypatch.setenv("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "0.3")
    with warehouse_held_elsewhere(home), pytest.raises(WarehouseError, match="faults are cleared"):
        fault_injection.clear(ctx)
    assert faults.read_records(home) == []
    assert not platform_repo.platform_path(home).exists()


def test_inject_and_clear_restore_the_data_exactly(ctx: Context, home: Path) -> None:
    baseline = count(home, LINES_TODAY, d=TODAY)
    report = fault_injection.inject(ctx, "lines-coverage-drop")
    assert report.to_json()["active"]["lines-coverage-drop"][0]["service"] == "phase4-processors"
    assert plain(report)[-2:] == [
        "injected lines-coverage-drop on phase4-processors",
        "PASS active faults: lines-coverage-drop",
    ]
    dropped = count(home, LINES_TODAY, d=TODAY)
    assert 0.5 * baseline <= dropped <= 0.7 * baseline
    fault_injection.inject(ctx, "grading-stall")
    graded = "SELECT COUNT(*) AS n FROM nba_predictions.prediction_accuracy WHERE game_date >= @d"
    assert count(home, graded, d=TODAY - dt.timedelta(days=1)) == 0
    assert set(faults.active(home)) == {"lines-coverage-drop", "grading-stall"}
    cleared = plain(fault_injection.clear(ctx))
    assert "cleared grading-stall on grading-service" in cleared
    assert cleared[-1] == "PASS active faults: none"
    assert faults.active(home) == {}
    assert count(home, LINES_TODAY, d=TODAY) == baseline
    assert count(home, graded, d=TODAY - dt.timedelta(days=1)) > 0


def test_fault_names_and_services_are_validated(ctx: Context, home: Path) -> None:
    with pytest.raises(
        UsageError, match="unknown fault 'bogus'; known faults: lines-coverage-drop"
    ):
        fault_injection.inject(ctx, "bogus")
    with pytest.raises(UnknownServiceError, match="known services: phase3-processors"):
        fault_injection.inject(ctx, "error-logs", service="nope")
    with pytest.raises(UsageError, match="belongs to grading-service"):
        fault_injection.inject(ctx, "grading-stall", service="prediction-worker")
    assert faults.active(home) == {}


def test_error_logs_and_stale_heartbeat_faults(
    home: Path, restore: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    injected = [("stale-heartbeat", None), ("error-logs", "grading-service")]
    restore_home(tmp_path_factory, home, NOW, injected)  # what inject() makes of the home
    recent = log_store.query(
        home,
        f'resource.labels.service_name = "grading-service" AND severity >= ERROR AND '
        f'timestamp >= "{(now - dt.timedelta(minutes=10)).isoformat()}"',
    )
    assert len(recent) >= 20
    last = (
        DuckDBWarehouse(home / "warehouse.duckdb", root=ROOT)
        .query(
            "SELECT MAX(heartbeat_at) AS t FROM nba_analytics.processor_heartbeats "
            "WHERE heartbeat_at >= @since AND processor_name = @p",
            {"since": now - dt.timedelta(days=2), "p": "player_game_summary_processor"},
        )
        .rows[0]["t"]
    )
    assert now - last >= dt.timedelta(hours=7)


def test_batch_errors_fault_fails_the_latest_batch_with_estimated_lines(
    home: Path, restore: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    restore_home(tmp_path_factory, home, NOW, [("batch-errors", None)])  # as inject() makes it
    wh = DuckDBWarehouse(home / "warehouse.duckdb", root=ROOT)
    latest = wh.query(
        "SELECT batch_id, status, error_count FROM nba_predictions.prediction_batches "
        "WHERE game_date = @d ORDER BY started_at DESC LIMIT 1",
        {"d": TODAY},
    ).rows[0]
    assert latest["status"] == "failed" and latest["error_count"] > 50
    violations = wh.query(
        "SELECT COUNT(*) AS n FROM nba_predictions.player_prop_predictions "
        "WHERE game_date = @d AND batch_id = @b AND line_source != 'REAL'",
        {"d": TODAY, "b": latest["batch_id"]},
    ).rows[0]["n"]
    assert violations > 0


def test_next_revision_degraded_is_consumed_by_the_hook(
    ctx: Context, home: Path, restore: None
) -> None:
    fault_injection.inject(ctx, "next-revision-degraded", service="grading-service")
    hook = fault_injection.on_new_revision
    assert hook(home, "prediction-worker", "prediction-worker-00009-xyz") is False
    graded = "SELECT COUNT(*) AS n FROM nba_predictions.prediction_accuracy WHERE game_date >= @d"
    assert count(home, graded, d=TODAY - dt.timedelta(days=1)) > 0  # armed only
    assert hook(home, "grading-service", "grading-service-00009-xyz") is True
    assert count(home, graded, d=TODAY - dt.timedelta(days=1)) == 0
    entries = [
        e
        for e in log_store.read_entries(home)
        if e["resource"]["labels"]["revision_name"] == "grading-service-00009-xyz"
    ]
    assert len(entries) >= 20 and {e["severity"] for e in entries} <= {"ERROR", "CRITICAL"}
    # consumed: the next revision is healthy again
    assert hook(home, "grading-service", "grading-service-00010-abc") is False
    (record,) = faults.active(home)["next-revision-degraded"]
    assert record["armed"] is False and record["applied"] == "grading-stall"


def test_stale_data_is_refreshed_but_services_are_kept(
    ctx: Context,
    home: Path,
    restore: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state_before = cloudrun_state.load_state(home)["services"]
    monkeypatch.setenv("NBAOPS_NOW", "2026-01-15T17:00:00Z")  # a day later
    lifecycle.ensure_sandbox(open_context("local"))
    captured = capsys.readouterr()
    first, *beats = captured.err.splitlines()  # a slow machine may add heartbeat lines
    assert first == f"nbaops: refreshing the sandbox data in {home} for the current clock"
    assert all(b.startswith("nbaops: still waiting for the sandbox build") for b in beats)
    assert captured.out == ""
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["now"].startswith("2026-01-15T17:00")
    assert marker["summary"]["today"] == "2026-01-15"
    assert cloudrun_state.load_state(home)["services"] == state_before


def test_an_interrupted_reset_is_redone_by_the_next_task(
    ctx: Context,
    home: Path,
    restore: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Ctrl-C (or kill -9) after the tables were recreated and before they were filled left
    # them empty under the previous build's complete marker: every later check read
    # "no games" (INCONCLUSIVE) and nothing rebuilt them.
    def interrupted(self: DuckDBWarehouse, tables: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(DuckDBWarehouse, "replace_contents", interrupted)
        with pytest.raises(KeyboardInterrupt):
            lifecycle.reset(ctx)
    assert count(home, LINES_TODAY, d=TODAY) == 0  # the half-written state
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["incomplete"] == "build"
    capsys.readouterr()
    lifecycle.ensure_sandbox(open_context("local"))
    assert f"nbaops: redoing the interrupted sandbox build in {home}" in capsys.readouterr().err
    assert count(home, LINES_TODAY, d=TODAY) > 0
    done = lifecycle.read_marker(home)
    assert done is not None and "incomplete" not in done and done["seed"] == marker["seed"]


def test_a_hand_edited_seed_is_one_named_error_and_the_reset_it_names_repairs_it(
    ctx: Context, home: Path, restore: None
) -> None:
    # int("seven") raised ValueError: a traceback from every task, the reset included
    marker = lifecycle.read_marker(home)
    assert marker is not None
    path = lifecycle.marker_path(home)
    path.write_text(json.dumps({**marker, "seed": "seven", "incomplete": "refresh"}))
    with pytest.raises(DamagedStateError, match="sandbox.reset") as caught:
        lifecycle.ensure_sandbox(ctx)
    assert str(path) in str(caught.value)
    lifecycle.reset(ctx)  # the way out: the default seed, as on a first build
    repaired = lifecycle.read_marker(home)
    assert repaired is not None and repaired["seed"] == lifecycle.DEFAULT_SEED
    lifecycle.ensure_sandbox(ctx)


GRADED_SINCE = "SELECT COUNT(*) AS n FROM nba_predictions.prediction_accuracy WHERE game_date >= @d"


def test_a_fault_injection_killed_before_the_data_changed_is_applied_by_the_next_task(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kill -9 between the fault list and the data (the league is read first, ~0.5 s):
    # status said "1 active fault" while every check PASSed, under a "current" marker
    # that nothing redid. (An exception stands in for the kill: not KeyboardInterrupt, whose
    # cleanup takes the fault back, test_a_fault_injection_stopped_with_ctrl_c_...)
    class Killed(BaseException):
        pass

    def killed(*_args: Any) -> Any:
        raise Killed

    yesterday = TODAY - dt.timedelta(days=1)
    with monkeypatch.context() as patch:
        patch.setattr(lifecycle, "_league", killed)
        with pytest.raises(Killed):
            fault_injection.inject(ctx, "grading-stall")
    assert set(faults.active(home)) == {"grading-stall"}
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["incomplete"] == "refresh"
    lifecycle.ensure_sandbox(open_context("local"))
    assert count(home, GRADED_SINCE, d=yesterday) == 0  # the fault's data, at last
    # and the reverse: a clear killed before the data was restored leaves the same mark
    # (what the next task redoes, as above)
    with monkeypatch.context() as patch:
        patch.setattr(lifecycle, "_league", killed)
        with pytest.raises(Killed):
            fault_injection.clear(ctx)
    assert faults.active(home) == {}
    cleared = lifecycle.read_marker(home)
    assert cleared is not None and cleared["incomplete"] == "refresh"


def test_a_fault_injection_stopped_with_ctrl_c_leaves_no_fault_in_force(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during an injection's data refresh (exit 130) takes the fault back: it used to
    stay in the fault list, so the next task applied it after the user had cancelled the
    command. The half-written data is marked for the next task, which restores it."""
    baseline = count(home, LINES_TODAY, d=TODAY)

    def interrupted(self: DuckDBWarehouse, tables: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(DuckDBWarehouse, "replace_contents", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fault_injection.inject(ctx, "lines-coverage-drop")
    assert faults.active(home) == {}
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["incomplete"] == "refresh"
    lifecycle.ensure_sandbox(open_context("local"))
    assert count(home, LINES_TODAY, d=TODAY) == baseline
    assert faults.active(home) == {}


def test_a_fault_injection_whose_ctrl_c_duckdb_swallowed_leaves_no_fault_in_force(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB turns Ctrl-C into its own error (the runner reports it as the interruption it
    is, exit 130): the injection takes the fault back as for a KeyboardInterrupt, not
    "fault ... is recorded, the next task applies it"."""
    from nbaops.errors import WarehouseError, note_ctrl_c

    def interrupted(self: DuckDBWarehouse, tables: Any) -> None:
        note_ctrl_c()
        raise WarehouseError("local warehouse: query interrupted")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(DuckDBWarehouse, "replace_contents", interrupted)
            with pytest.raises(KeyboardInterrupt):
                fault_injection.inject(ctx, "grading-stall")
    finally:
        note_ctrl_c(False)
    assert faults.active(home) == {}
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["incomplete"] == "refresh"


def test_a_clear_stopped_with_ctrl_c_says_the_faults_are_cleared(
    ctx: Context,
    home: Path,
    restore: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C during a clear's data refresh: the fault list, the API faults and the drift
    clone are already gone (not put back), so the command says so before "interrupted";
    it used to print only "nbaops: interrupted", as if nothing had changed."""
    fault_injection.inject(ctx, "grading-stall")

    def interrupted(self: DuckDBWarehouse, tables: Any) -> None:
        raise KeyboardInterrupt

    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(DuckDBWarehouse, "replace_contents", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fault_injection.clear(ctx)
    assert capsys.readouterr().err == (
        "nbaops: the faults are cleared, but their data is not restored yet: the next task "
        "restores it (or run this again)\n"
    )
    assert faults.active(home) == {}
    marker = lifecycle.read_marker(home)
    assert marker is not None and marker["incomplete"] == "refresh"


def test_a_drift_fault_stopped_before_it_is_recorded_leaves_no_drift_commits(
    ctx: Context, home: Path, restore: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while ``sandbox.fault drift`` waited for the state lock (another task's
    refresh holds it for seconds), after its commits were made: they stayed on the
    platform clone's main with no fault recorded, so check-drift FAILed while
    ``sandbox.status`` (and ``sandbox.clear``) said no fault was active."""
    from nbaops.gitrepo import Repo
    from nbaops.local import state_files
    from nbaops.sandbox import platform_repo

    before = Repo(platform_repo.ensure_platform_repo(home, ROOT)).head()

    def interrupted_while_waiting(_home: Path) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(state_files, "locked", interrupted_while_waiting)
        with pytest.raises(KeyboardInterrupt):
            fault_injection.inject(ctx, "drift", "prediction-worker")
    assert faults.active(home) == {}
    assert Repo(platform_repo.platform_path(home)).head() == before


def test_a_reset_from_unreadable_logs_changes_nothing(
    ctx: Context, home: Path, restore: None, tmp_path: Path
) -> None:
    # exit 2 "bad input" had already cleared every fault (data and API), the data unchanged
    from nbaops.local import api_faults

    stall = {"name": "grading-stall", "service": "grading-service", "injected_at": NOW}
    faults.write_records(home, [stall])  # the record alone: this test changes no data
    api_faults.set_api_fault(home, "http-5xx", service="grading-service")
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    bad = tmp_path / "logs.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read game logs"):
        lifecycle.reset(ctx, from_logs=bad)
    after = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    assert {name for name in after if after[name] != before.get(name)} <= {"standin-requests.jsonl"}
    assert set(faults.active(home)) == {"grading-stall", "http-5xx"}
    assert api_faults.active_api_faults(home)


def test_damaged_state_files_name_themselves_and_a_reset_rebuilds_past_them(
    ctx: Context, home: Path, restore: None
) -> None:
    # a cut-short JSON file was "internal error: Expecting ',' delimiter" (exit 3) naming no
    # file, and a truncated warehouse made `sandbox.reset` — the way out — fail as well
    from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE
    from nbaops.errors import ConfigError
    from nbaops.local.cloudrun_state import load_state, state_path

    faults.faults_path(home).write_text('[{"service": "x"}]', encoding="utf-8")  # no name
    with pytest.raises(ConfigError, match=r"sandbox-faults.json: damaged sandbox state"):
        fault_injection.clear(ctx)
    state_path(home).write_text('{"services": 5', encoding="utf-8")
    (home / WAREHOUSE_FILE).write_bytes((home / WAREHOUSE_FILE).read_bytes()[:4096])
    with pytest.raises(ConfigError, match=r"cloudrun.json: damaged sandbox state .*sandbox.reset"):
        load_state(home)
    from nbaops.adapters.duckdb_files import DamagedWarehouseError

    with pytest.raises(DamagedWarehouseError, match="sandbox.reset") as damaged:
        DuckDBWarehouse(home / WAREHOUSE_FILE, root=ROOT).query("SELECT 1 AS x")
    assert damaged.value.exit_code == 2  # bad local state, as a damaged state file
    lifecycle.reset(ctx)
    assert count(home, LINES_TODAY, d=TODAY) > 0
    assert load_state(home)["services"] and faults.active(home) == {}
    assert (home / "cloudrun.json.damaged").exists()
    assert (home / f"{WAREHOUSE_FILE}.damaged").exists()


@pytest.mark.parametrize(
    ("damage", "content"),
    [
        ("cloudrun.json", b"garbage"),
        ("cloudrun.json", b"[5]"),  # JSON, but read as "no services": every call a 404
        ("sandbox-faults.json", b"garbage"),
        ("standin-faults.json", b"[5]"),  # JSON, but no fault: 12 TypeErrors, 12 alerts
        ("warehouse.duckdb", b"garbage"),
    ],
)
def test_damaged_local_state_stops_a_run_with_one_error_and_no_alert(
    home: Path, restore: None, monkeypatch: pytest.MonkeyPatch, damage: str, content: bytes
) -> None:
    """Each was one check's ERROR, not the run's exit 2: a damaged stand-in file made every
    Cloud Run check an HTTP 500 (exit 3); a damaged faults file passed unseen until the
    next data refresh made all 12 checks ERROR and sent an alert each."""
    from nbaops.checks import validate_daily
    from nbaops.errors import DamagedStateError
    from nbaops.system_health import run_system_health

    target = home / damage
    target.write_bytes(content)
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    for run in (run_system_health, lambda ctx: validate_daily(ctx, TODAY)):
        with pytest.raises(DamagedStateError, match="sandbox.reset") as raised:  # one line
            run(open_context("local"))
        assert raised.value.exit_code == 2
        assert str(target) in str(raised.value)
    assert not (home / "outbox.jsonl").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_state_folder_nbaops_cannot_write_stops_a_run_with_one_error_and_no_alert(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """NBAOPS_HOME naming a folder that exists but takes no file (/proc here; any folder
    without write permission for a user, a read-only mount): the sandbox build could not
    take its lock, and every check of system-health was its own ERROR
    ("FileNotFoundError: ... '/proc/.standin.lock'", exit 3, an alert each), sandbox.status
    an "internal error". The folder is bad input: one line naming it, exit 2, no alert."""
    from nbaops.cli.runner import run
    from nbaops.errors import DamagedStateError
    from nbaops.system_health import run_system_health

    monkeypatch.setenv("NBAOPS_HOME", "/proc")
    with pytest.raises(DamagedStateError, match="NBAOPS_HOME") as raised:
        run_system_health(open_context("local"))
    assert "/proc" in str(raised.value) and raised.value.exit_code == 2
    capsys.readouterr()
    assert run(lifecycle.status) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: /proc") and err.count("\n") == 1, err


def test_no_api_fault_left_means_no_fault_file_and_no_lock_per_request(home: Path) -> None:
    # an empty list left behind made every stand-in request take the sandbox lock, which a
    # reset holds while it waits for the warehouse a running check holds: both stalled 30s
    import threading

    from nbaops.local import api_faults
    from nbaops.local.state_files import locked

    api_faults.set_api_fault(home, "http-5xx", count=1)
    assert api_faults.take_fault(home, "admin", service=None, method="GET") is not None
    assert not api_faults.faults_path(home).exists()  # the last one used up
    api_faults.set_api_fault(home, "http-5xx")
    api_faults.clear_api_faults(home)
    assert not api_faults.faults_path(home).exists()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locked(home):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        started = time.monotonic()
        assert api_faults.take_fault(home, "admin", service=None, method="GET") is None
        assert time.monotonic() - started < 1.0  # answered without the lock
    finally:
        release.set()
        holder.join()


def test_format_change_rebuilds_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    ctx = open_context("local")
    report = lifecycle.reset(ctx, seed=11)
    assert report.to_json()["seed"] == 11
    first = lifecycle.read_marker(tmp_path)
    monkeypatch.setattr(lifecycle, "FORMAT_VERSION", lifecycle.FORMAT_VERSION + 1)
    capsys.readouterr()
    lifecycle.ensure_sandbox(ctx)
    assert "nbaops: rebuilding the sandbox in" in capsys.readouterr().err
    second = lifecycle.read_marker(tmp_path)
    assert second is not None and first is not None
    assert second["format"] == first["format"] + 1 and second["seed"] == 11
    assert second["built_at"] != first["built_at"]
    assert second["counts"] == first["counts"]  # same seed, same clock: same data


def test_a_service_added_to_the_config_is_in_the_sandbox_at_the_next_task(
    home: Path,
    restore: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The stand-in is seeded with the config's services when the sandbox is built, and
    nothing rebuilt it when nbaops.yaml changed (the marker recorded the settings it was
    built from, but no one compared them): a service added to the config stayed unknown to
    the stand-in, and check-all-services reported it ERROR "service ... not found" until
    a `sandbox.reset`. The next task now rebuilds the sandbox, and says why."""
    from nbaops.services_status import check_all_services

    text = (ROOT / "nbaops.yaml").read_text(encoding="utf-8")
    added = (
        "  injury-feed:\n    owner: '@nba-data-eng'\n    source_paths: [services/injury_feed/]\n"
        "    health_path: /health\n    post_deploy: [{check: error_logs}]\n"
    )
    (tmp_path / "nbaops.yaml").write_text(
        text.replace("\nservices:\n", "\nservices:\n" + added, 1), encoding="utf-8"
    )
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_CONFIG", str(tmp_path / "nbaops.yaml"))
    monkeypatch.setenv("NBAOPS_ROOT", str(ROOT))
    ctx = open_context("local")
    assert "injury-feed" in ctx.config.service_names
    capsys.readouterr()
    lifecycle.ensure_sandbox(ctx)
    assert "(the config's local profile or services changed)" in capsys.readouterr().err
    report = check_all_services(ctx)
    assert {c.service: c.verdict.value for c in report.checks}["injury-feed"] != "ERROR"
    marker = lifecycle.read_marker(home) or {}
    assert "injury-feed" in marker["settings"]["services"]
    lifecycle.ensure_sandbox(open_context("local"))  # built from this config: no rebuild
    assert capsys.readouterr().err == ""


def test_first_run_says_it_is_building_the_sandbox(tmp_path: Path) -> None:
    line = lifecycle.first_run_line(tmp_path, None, "build")
    assert line.startswith(f"nbaops: building the sandbox in {tmp_path} (first run")


def test_refuses_non_local_profiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    prod = Context.create("prod")
    lifecycle.ensure_sandbox(prod)  # a no-op
    assert not (tmp_path / "sandbox.json").exists()
    with pytest.raises(UsageError, match="only on the local profile"):
        lifecycle.reset(prod)
    with pytest.raises(UsageError, match="only on the local profile"):
        fault_injection.inject(prod, "grading-stall")


def plain(report: CheckReport) -> list[str]:
    """What a log or a pipe shows of a report."""
    stream = io.StringIO()
    report.render(Console(file=stream, width=4096, color_system=None))
    return stream.getvalue().splitlines()


def test_status_describes_data_services_and_faults_in_plain_lines(ctx: Context) -> None:
    report = lifecycle.status(ctx)
    doc, lines = report.to_json(), plain(report)
    assert doc["verdict"] == "PASS" and "checks" not in doc  # nothing was checked
    assert lines[0] == "sandbox" and f"home: {doc['home']}" in lines
    assert f"  nba_raw.games: {doc['counts']['nba_raw.games']}" in lines
    worker = next(s for s in doc["services"] if s["service"] == "prediction-worker")
    assert (
        f"  prediction-worker: serving {worker['serving']} at {worker['commit']}, "
        f"{worker['revisions']} revision(s)"
    ) in lines
    assert lines[-1] == f"PASS sandbox: {doc['home']}; no active fault(s)"


def _inv(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBAOPS_HOME": str(home), "NBAOPS_NOW": NOW}
    env.pop("NBAOPS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tasks_map_results_to_exit_codes(home: Path) -> None:
    bad = _inv(home, "sandbox.fault", "bogus")
    assert (
        bad.returncode == 2
        and "unknown fault 'bogus'" in bad.stderr
        and "Traceback" not in bad.stderr
    )
    unknown = _inv(home, "sandbox.fault", "error-logs", "--service", "nope")
    assert unknown.returncode == 2 and "known services" in unknown.stderr
    prod = _inv(home, "sandbox.status", "--profile", "prod")
    assert prod.returncode == 2 and "local profile" in prod.stderr
    status = _inv(home, "sandbox.status", "--json")
    assert status.returncode == 0
    doc = json.loads(status.stdout)
    assert doc["verdict"] == "PASS" and len(doc["services"]) == 5
    assert doc["counts"]["nba_raw.games"] > 300 and doc["faults"] == {}


_ENSURE = """
import datetime
from nbaops.sandbox.lifecycle import ensure_sandbox, read_marker
from nbaops.sandbox.world import open_context
ctx = open_context("local")
ensure_sandbox(ctx)
wh = ctx.warehouse
n = wh.query(
    "SELECT COUNT(*) AS n FROM nba_raw.games WHERE game_date = @d",
    {"d": datetime.date(2026, 1, 14)},
).rows[0]["n"]
print(read_marker(ctx.home)["built_at"], n)
"""


def test_two_processes_starting_at_once_build_the_sandbox_once(tmp_path: Path) -> None:
    env = {**os.environ, "NBAOPS_HOME": str(tmp_path), "NBAOPS_NOW": NOW}
    env.pop("NBAOPS_PROFILE", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ENSURE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outputs]
    lines = [o[0].split() for o in outputs]
    assert lines[0][0] == lines[1][0]  # the same build: the second process waited for it
    assert int(lines[0][1]) >= 8 and lines[0][1] == lines[1][1]
