"""Each sandbox fault is caught by its check; the clean sandbox passes every check.

One sandbox (generated game day, Cloud Run + Logging stand-in) is copied for the module
into a temporary NBAOPS_HOME with the clock pinned at midday Eastern; every test puts
the home onto the session's template with its faults injected through
``fault_injection.inject`` (:func:`worlds.sandbox.restore_home`: each fault's data is
regenerated once per session, shared with the other files that inject it at this
clock) and the home goes back to the clean template afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from worlds.sandbox import restore_home, sandbox_home, use_sandbox

from nbaops.checks import run_check
from nbaops.context import Context
from nbaops.sandbox import lifecycle
from nbaops.sandbox.world import open_context
from nbaops.verdict import Verdict

NOW = "2026-01-14T17:00:00Z"  # Wednesday 12:00 ET: lines, three batches, yesterday graded


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    home = sandbox_home(tmp_path_factory, tmp_path_factory.mktemp("sandbox-faults") / "home", NOW)
    with pytest.MonkeyPatch.context() as mp:
        use_sandbox(mp, home, NOW)
        ctx = open_context("local")
        _ = ctx.warehouse  # the copy is current: nothing is rebuilt
        yield ctx


@pytest.fixture
def clean(sandbox: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The sandbox; afterwards every injected fault is gone (the home copied back from the
    template: what ``faults.clear`` would regenerate from the seed)."""
    from nbaops.local.api_faults import active_api_faults
    from nbaops.sandbox import faults

    yield sandbox
    if faults.read_records(sandbox.home) or active_api_faults(sandbox.home):
        restore_home(tmp_path_factory, sandbox.home, NOW)


def test_clean_sandbox_passes_every_check(clean: Context) -> None:
    from nbaops.system_health import run_system_health

    report = run_system_health(clean, record=False)
    problems = [
        (c.name, c.service, c.verdict.value, c.message)
        for c in report.checks
        if c.verdict is not Verdict.PASS
    ]
    assert problems == []
    assert len(report.checks) == 12


# The night, when the pipeline is between steps, as (built for, run at) clocks: fresh at
# 00:40 ET (today's features not due yet); built at 00:40 and run at 02:40 (features,
# initial lines and the first batch happened since: the stale data is regenerated); built
# at 01:45 and run at 02:00 (not stale yet: the features must already be complete).
NIGHT = (
    ("2026-01-14T05:40:00Z", "2026-01-14T05:40:00Z"),
    ("2026-01-14T05:40:00Z", "2026-01-14T07:40:00Z"),
    ("2026-01-14T06:45:00Z", "2026-01-14T07:00:00Z"),
)


@pytest.mark.parametrize(("built", "now"), NIGHT)
def test_a_healthy_sandbox_passes_every_check_through_the_night(
    built: str, now: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """README command 1 is all PASS whatever the hour, on a fresh or an older sandbox."""
    from nbaops.system_health import run_system_health

    home = sandbox_home(tmp_path_factory, tmp_path_factory.mktemp("night") / "home", built)
    with pytest.MonkeyPatch.context() as mp:
        use_sandbox(mp, home, now)
        report = run_system_health(open_context("local"), record=False)
        marker = lifecycle.read_marker(home)
    age = dt.datetime.fromisoformat(now) - dt.datetime.fromisoformat(built)
    stale = age > lifecycle.STALE_AFTER
    assert marker is not None and marker["now"][:16] == (now if stale else built)[:16]
    problems = [
        (c.name, c.verdict.value, c.message) for c in report.checks if c.verdict is not Verdict.PASS
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("fault", "service", "check", "check_service", "says"),
    [
        ("lines-coverage-drop", None, "lines_coverage", None, "players without a line; worst game"),
        ("grading-stall", None, "grading_completeness", None, "ungraded, oldest"),
        (
            "stale-heartbeat",
            None,
            "processor_heartbeats",
            None,
            "player_game_summary_processor (phase3-processors) last heartbeat 7.",
        ),
        (
            "stale-heartbeat",
            "grading-service",
            "processor_heartbeats",
            None,
            "prediction_grader (grading-service) last heartbeat 7.",
        ),
        (
            "batch-errors",
            None,
            "batch_errors",
            None,
            "REAL_LINES_ONLY violation(s): predictions without a real line",
        ),
        (
            "error-logs",
            None,
            "error_logs",
            "prediction-worker",
            "25 ERROR-or-worse entries for prediction-worker",
        ),
        ("hit-rate-drop", None, "model_hit_rate", None, "lower bound below 45%"),
    ],
)
def test_fault_is_caught_by_its_check(
    clean: Context,
    tmp_path_factory: pytest.TempPathFactory,
    fault: str,
    service: str | None,
    check: str,
    check_service: str | None,
    says: str,
) -> None:
    restore_home(tmp_path_factory, clean.home, NOW, [(fault, service)])
    result = run_check(clean, check, service=check_service)
    assert result.verdict is Verdict.FAIL, result.message
    assert says in result.message
    assert result.query


def test_lines_fault_is_caught_before_todays_features_are_due(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """At 00:40 ET check-lines measures yesterday (today's features are due at 02:00): the
    fault drops that day's lines, so the rehearsal "inject, then the check fails" holds at
    night too (it dropped today's, and check-lines passed with the fault active)."""
    night = NIGHT[0][1]
    home = tmp_path_factory.mktemp("night-fault") / "home"
    home.mkdir()
    restore_home(tmp_path_factory, home, night, [("lines-coverage-drop", None)])
    with pytest.MonkeyPatch.context() as mp:
        use_sandbox(mp, home, night)
        result = run_check(open_context("local"), "lines_coverage")
    assert result.verdict is Verdict.FAIL, result.message
    assert "2026-01-13 (today's features are due at 02:00 ET)" in result.message


def test_post_deploy_checks_of_a_degraded_service_fail(
    clean: Context, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from nbaops.checks import run_post_deploy

    phase4 = clean.config.service("phase4-processors")
    healthy = run_post_deploy(clean, phase4)
    assert [(r.name, r.verdict) for r in healthy] == [
        ("lines_coverage", Verdict.PASS),
        ("error_logs", Verdict.PASS),
    ]
    degrade = [("lines-coverage-drop", None), ("error-logs", "phase4-processors")]
    restore_home(tmp_path_factory, clean.home, NOW, degrade)
    degraded = run_post_deploy(clean, phase4)
    assert [(r.name, r.service, r.verdict) for r in degraded] == [
        ("lines_coverage", "phase4-processors", Verdict.FAIL),
        ("error_logs", "phase4-processors", Verdict.FAIL),
    ]
    assert degraded[0].threshold == "FAIL < 90%, WARN < 95%"


def test_logging_api_fault_is_error(clean: Context) -> None:
    from nbaops.sandbox import fault_injection

    fault_injection.inject(clean, "logging-error")
    result = run_check(clean, "error_logs", service="grading-service")
    assert result.verdict is Verdict.ERROR
    assert "500" in result.message
