"""Fault transforms on generated data: each fault changes exactly what it names."""

from __future__ import annotations

import datetime as dt
import functools
import pickle
from typing import Any

import pytest

from nbaops.sandbox import faults, generate
from nbaops.sandbox.league import synthetic_league

NOW = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 1, 15)
REVS = {
    s: [generate.Revision(f"{s}-00001-abc", NOW - dt.timedelta(days=3))]
    for s in generate.PROCESSORS
}


@functools.cache
def _generated() -> bytes:
    """The generated data, once per process (pickled: each test gets its own copy)."""
    data = generate.build_tables(
        synthetic_league(7, NOW), NOW, 7, project="nbaops-local", region="us-west2",
        revisions=REVS,
    )  # fmt: skip
    return pickle.dumps(data, pickle.HIGHEST_PROTOCOL)


def build(*records: dict[str, Any]) -> generate.SandboxData:
    """What the sandbox build does after generating (the generation is deterministic:
    seed 7 at NOW always gives the same rows, tested in test_sandbox_generate)."""
    data: generate.SandboxData = pickle.loads(_generated())
    faults.apply_all(
        data, list(records), now=NOW, project="nbaops-local", region="us-west2", revisions=REVS
    )
    generate.recount_batches(data.tables)
    return data


@pytest.fixture(scope="module")
def clean() -> generate.SandboxData:
    return build()


def _today(data: generate.SandboxData, ref: str) -> list[dict[str, Any]]:
    return [r for r in data.tables[ref] if r["game_date"] == TODAY]


def test_lines_coverage_drop_removes_about_40_percent_concentrated_in_games(
    clean: generate.SandboxData,
) -> None:
    data = build({"name": "lines-coverage-drop", "service": "phase4-processors"})
    expected = {r["player_lookup"] for r in _today(clean, "nba_precompute.ml_feature_store")}
    before = {r["player_lookup"] for r in _today(clean, "nba_precompute.points_lines")}
    after = {r["player_lookup"] for r in _today(data, "nba_precompute.points_lines")}
    assert after < before
    assert 0.35 <= len(before - after) / len(expected) <= 0.45
    games_without = {r["game_id"] for r in _today(clean, "nba_precompute.ml_feature_store")} - {
        r["game_id"] for r in _today(data, "nba_precompute.points_lines")
    }
    assert games_without  # whole games lost their lines
    # the coordinator never predicted those players; other days are untouched
    assert (
        not {p["player_lookup"] for p in _today(data, "nba_predictions.player_prop_predictions")}
        - after
    )
    yesterday = TODAY - dt.timedelta(days=1)
    assert [
        r for r in data.tables["nba_precompute.points_lines"] if r["game_date"] == yesterday
    ] == [r for r in clean.tables["nba_precompute.points_lines"] if r["game_date"] == yesterday]


def test_grading_stall_removes_yesterday_and_today(clean: generate.SandboxData) -> None:
    data = build({"name": "grading-stall", "service": "grading-service"})
    days = {r["game_date"] for r in data.tables["nba_predictions.prediction_accuracy"]}
    assert max(days) == TODAY - dt.timedelta(days=2)
    assert len(data.tables["nba_predictions.prediction_accuracy"]) < len(
        clean.tables["nba_predictions.prediction_accuracy"]
    )


def test_stale_heartbeat_ages_one_processor_of_the_service() -> None:
    data = build({"name": "stale-heartbeat", "service": "grading-service"})
    latest: dict[str, dt.datetime] = {}
    for r in data.tables["nba_analytics.processor_heartbeats"]:
        latest[r["processor_name"]] = max(
            latest.get(r["processor_name"], r["heartbeat_at"]), r["heartbeat_at"]
        )
    assert NOW - latest["prediction_grader"] >= dt.timedelta(hours=7)
    assert all(
        NOW - t < dt.timedelta(minutes=30) for n, t in latest.items() if n != "prediction_grader"
    )


def test_batch_errors_fail_the_latest_batch_and_break_real_lines_only() -> None:
    data = build({"name": "batch-errors", "service": "prediction-coordinator"})
    batches = data.tables["nba_predictions.prediction_batches"]
    latest = max(batches, key=lambda b: b["started_at"])
    assert latest["status"] == "failed" and latest["error_count"] == 73
    bad = [
        p for p in data.tables["nba_predictions.player_prop_predictions"]
        if p["batch_id"] == latest["batch_id"] and p["line_source"] != "REAL"
    ]  # fmt: skip
    assert bad and all(p["line_value"] is None for p in bad)
    assert sum(b["status"] == "failed" for b in batches) == 1


def test_error_logs_burst_and_degraded_worker_revision() -> None:
    anchor = NOW - dt.timedelta(minutes=1)
    data = build(
        {"name": "error-logs", "service": "phase3-processors", "injected_at": anchor.isoformat()},
        {
            "name": "next-revision-degraded", "service": "prediction-worker", "armed": False,
            "applied": faults.WORKER_NO_PREDICTIONS, "revision": "prediction-worker-00004-bad",
            "applied_at": NOW.isoformat(),
        },
    )  # fmt: skip
    errors = [
        e
        for e in data.logs
        if e["severity"] in ("ERROR", "CRITICAL")
        and NOW - e["timestamp"] < dt.timedelta(minutes=10)
    ]
    by_service = {e["resource"]["labels"]["service_name"] for e in errors}
    assert by_service == {"phase3-processors", "prediction-worker"}
    assert {
        e["resource"]["labels"]["revision_name"]
        for e in errors
        if e["resource"]["labels"]["service_name"] == "prediction-worker"
    } == {"prediction-worker-00004-bad"}
    recent = [
        p for p in data.tables["nba_predictions.player_prop_predictions"]
        if p["created_at"] >= NOW - dt.timedelta(hours=12)
    ]  # fmt: skip
    assert recent == []


def test_armed_fault_changes_nothing_until_consumed(clean: generate.SandboxData) -> None:
    data = build({"name": "next-revision-degraded", "service": "phase4-processors", "armed": True})
    assert data.tables == clean.tables and data.logs == clean.logs


def test_known_faults_include_data_armed_and_api_faults() -> None:
    names = faults.known_faults()
    for name in (*faults.DATA_FAULTS, "next-revision-degraded", "http-5xx", "health-5xx"):
        assert name in names
    assert set(faults.DEGRADES) == set(generate.PROCESSORS)


def test_the_fault_task_help_names_every_known_fault() -> None:
    from nbaops.cli.sandbox import fault

    text = fault.help["name"]
    missing = [name for name in faults.known_faults() if name not in text]
    assert not missing, f"inv sandbox.fault --help does not name: {missing}"


def test_clearing_an_armed_fault_does_not_say_it_still_applies() -> None:
    """``inv sandbox.clear`` printed "cleared next-revision-degraded on prediction-worker
    (armed: applies when the next revision is created)" for a fault it had just removed."""
    from nbaops.sandbox.fault_injection import fault_report

    rec = {"name": "next-revision-degraded", "service": "prediction-worker", "armed": True}
    injected = fault_report("injected", [rec], {"next-revision-degraded": [rec]}).notes
    cleared = fault_report("cleared", [rec], {}).notes
    assert injected == [
        "injected next-revision-degraded on prediction-worker "
        "(armed: applies when the next revision is created)"
    ]
    assert cleared == [
        "cleared next-revision-degraded on prediction-worker "
        "(was armed: the next revision is not degraded)"
    ]
