"""Sandbox tasks (local profile only): rebuild it, inject and clear faults, describe it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

PROFILE_HELP = "Profile from nbaops.yaml; must be a local one (the sandbox is local only)."


def _local(ctx: Context) -> Context:
    """The context of a local profile; UsageError (exit 2) before anything is touched."""
    from nbaops.sandbox.lifecycle import settings_for

    settings_for(ctx)
    return ctx


@nbaops_task(
    "nbaops.sandbox.lifecycle.reset",
    help={
        "seed": "Random seed of the generated data (default: the current seed, else 7).",
        "from_logs": "CSV file or folder in the nba_api LeagueGameLog format (e.g. "
        "../shared/data/nba/player_game_logs): real players and box scores instead of "
        "generated ones.",
        "profile": PROFILE_HELP,
    },
)
def reset(ctx: Context, seed: str | None = None, from_logs: str | None = None) -> Report:
    """Rebuild the sandbox: warehouse data, Cloud Run stand-in services, logs; faults cleared."""
    from nbaops.cli.flags import integer
    from nbaops.sandbox import lifecycle

    _local(ctx)
    chosen = (
        None if seed is None else integer(seed, "seed", default=7, minimum=0, maximum=2**31 - 1)
    )
    return lifecycle.reset(ctx, seed=chosen, from_logs=from_logs)


@nbaops_task(
    "nbaops.sandbox.fault_injection.inject",
    help={
        # written out, not derived: the fault modules are imported only when a sandbox task
        # runs (tests/unit/test_sandbox_faults.py keeps this list complete)
        "name": "Fault to inject: lines-coverage-drop, grading-stall, stale-heartbeat, "
        "batch-errors, error-logs, hit-rate-drop, next-revision-degraded, drift (commits "
        "merged to the sandbox's platform repository and not deployed), a canary fault "
        "(canary-5xx, canary-latency, canary-low-traffic) or a stand-in API fault (http-4xx, "
        "http-5xx, timeout, lro-fail, slow-lro, health-5xx, health-timeout, logging-error, "
        "logging-empty-pages, monitoring-error, iam-denied: IAM Credentials answers 403 as "
        "if the token creator role were revoked, iam-not-found: 404 as if the account were "
        "deleted).",
        "service": "Service the fault applies to (defaults per fault; required by none).",
        "profile": PROFILE_HELP,
    },
)
def fault(ctx: Context, name: str, service: str | None = None) -> Report:
    """Inject a fault into the sandbox (data faults apply at once; next-revision-degraded arms).

    Example: inv sandbox.fault grading-stall, then inv system-health; inv sandbox.clear ends it.
    """
    from nbaops.sandbox import fault_injection

    return fault_injection.inject(_local(ctx), name, service=service)


@nbaops_task("nbaops.sandbox.fault_injection.clear", help={"profile": PROFILE_HELP})
def clear(ctx: Context) -> Report:
    """Clear every sandbox fault and restore the data from the seed."""
    from nbaops.sandbox import fault_injection

    return fault_injection.clear(_local(ctx))


@nbaops_task("nbaops.sandbox.lifecycle.status", help={"profile": PROFILE_HELP})
def status(ctx: Context) -> Report:
    """Describe the sandbox: seed, dates, rows per table, services, active faults."""
    from nbaops.sandbox import lifecycle

    return lifecycle.status(_local(ctx))


@nbaops_task(
    "nbaops.sandbox.sql.run_sql",
    positional=["query"],
    iterable=["param"],
    help={
        "query": "BigQuery Standard SQL (a SELECT or WITH query), e.g. a runbook's block.",
        "param": "A named query parameter NAME=VALUE for @NAME (repeatable), e.g. "
        'game_date=2026-01-14; an ARRAY as JSON: sources=["REAL","VEGAS"].',
        "profile": PROFILE_HELP,
    },
)
def sql(ctx: Context, query: str, param: list[str] | None = None) -> Report:
    """Run BigQuery SQL on the sandbox warehouse (same transpile path as the checks).

    Example: inv sandbox.sql "SELECT COUNT(*) AS games FROM `nba_raw.games`
    WHERE game_date = @day" --param day=$(TZ=America/New_York date +%F)
    """
    from nbaops.sandbox.sql import parse_params, run_sql

    return run_sql(ctx, query, parse_params(param or []))


ns = Collection("sandbox", reset, fault, clear, status, sql)
