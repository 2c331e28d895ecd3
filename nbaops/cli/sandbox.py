"""Sandbox tasks (local profile only): rebuild it, inject and clear faults, describe it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from invoke.collection import Collection
from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report

PROFILE_HELP = "Profile from nbaops.yaml; must be a local one (the sandbox is local only)."


def _local(action: Callable[[Context], Report]) -> Callable[[Context], Report]:
    """Refuse non-local profiles with exit 2 before anything is touched."""

    def guarded(ctx: Context) -> Report:
        from nbaops.sandbox.lifecycle import settings_for

        settings_for(ctx)  # UsageError on a non-local profile
        return action(ctx)

    return guarded


@task(
    help={
        "seed": "Random seed of the generated data (default: the current seed, else 7).",
        "from_logs": "CSV file or folder in the nba_api LeagueGameLog format (e.g. "
        "../shared/data/nba/player_game_logs): real players and box scores instead of "
        "generated ones.",
        **COMMON_HELP,
        "profile": PROFILE_HELP,
    }
)
def reset(
    c: object,
    seed: str | None = None,
    from_logs: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Rebuild the sandbox: warehouse data, Cloud Run stand-in services, logs; faults cleared."""
    from nbaops.cli.runner import finish
    from nbaops.sandbox import lifecycle

    def action(ctx: Context) -> Report:
        from nbaops.cli.flags import integer

        chosen = (
            None if seed is None else integer(seed, "seed", default=7, minimum=0, maximum=2**31 - 1)
        )
        return lifecycle.reset(ctx, seed=chosen, from_logs=from_logs)

    finish(_local(action), profile=profile, json_output=json, debug=debug)


@task(
    help={
        "name": "Fault to inject: lines-coverage-drop, grading-stall, stale-heartbeat, "
        "batch-errors, error-logs, next-revision-degraded, drift (commits merged to the "
        "sandbox's platform repository and not deployed), a canary fault (canary-5xx, "
        "canary-latency, canary-low-traffic) or a stand-in API fault (http-4xx, http-5xx, "
        "timeout, lro-fail, slow-lro, health-5xx, health-timeout, logging-error, "
        "monitoring-error).",
        "service": "Service the fault applies to (defaults per fault; required by none).",
        **COMMON_HELP,
        "profile": PROFILE_HELP,
    }
)
def fault(
    c: object,
    name: str,
    service: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Inject a fault into the sandbox (data faults apply at once; next-revision-degraded arms)."""
    from nbaops.cli.runner import finish
    from nbaops.sandbox import fault_injection

    def action(ctx: Context) -> Report:
        return fault_injection.inject(ctx, name, service=service)

    finish(_local(action), profile=profile, json_output=json, debug=debug)


@task(help={**COMMON_HELP, "profile": PROFILE_HELP})
def clear(c: object, json: bool = False, profile: str | None = None, debug: bool = False) -> None:
    """Clear every sandbox fault and restore the data from the seed."""
    from nbaops.cli.runner import finish
    from nbaops.sandbox import fault_injection

    finish(_local(fault_injection.clear), profile=profile, json_output=json, debug=debug)


@task(help={**COMMON_HELP, "profile": PROFILE_HELP})
def status(c: object, json: bool = False, profile: str | None = None, debug: bool = False) -> None:
    """Describe the sandbox: seed, dates, rows per table, services, active faults."""
    from nbaops.cli.runner import finish
    from nbaops.sandbox import lifecycle

    finish(_local(lifecycle.status), profile=profile, json_output=json, debug=debug)


@task(
    positional=["query"],
    iterable=["param"],
    help={
        "query": "BigQuery Standard SQL (a SELECT or WITH query), e.g. a runbook's block.",
        "param": "A named query parameter NAME=VALUE for @NAME (repeatable), e.g. "
        "game_date=2026-01-14.",
        **COMMON_HELP,
        "profile": PROFILE_HELP,
    },
)
def sql(
    c: object,
    query: str,
    param: list[str] | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Run BigQuery SQL on the sandbox warehouse (same transpile path as the checks)."""
    from nbaops.cli.runner import finish

    def action(ctx: Context) -> Report:
        from nbaops.sandbox.sql import parse_params, run_sql

        return run_sql(ctx, query, parse_params(param or []))

    finish(action, profile=profile, json_output=json, debug=debug)


ns = Collection("sandbox", reset, fault, clear, status, sql)
