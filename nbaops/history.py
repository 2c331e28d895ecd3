"""Check history: every health run's results go to ``nba_ops.check_results``.

:func:`record_run` is the hook ``system-health`` calls after running its checks. It
annotates results that depart from their own history (:mod:`nbaops.anomaly`; the
history is read *before* this run is written, so a run is never compared with itself),
then writes one row per result, all in one all-or-nothing insert.

History is a side channel: if reading or writing it fails, the run keeps its results
and verdicts (no WARN is added), the problem is noted in each result's
``details["history"]`` and printed on stderr.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import anomaly, clock
from nbaops.alerts.settings import AlertSettings
from nbaops.alerts.state import HISTORY_TABLE
from nbaops.errors import first_line
from nbaops.redact import redact
from nbaops.stdio import stderr_line
from nbaops.verdict import CheckResult

if TYPE_CHECKING:
    from nbaops.context import Context

TABLE = HISTORY_TABLE  # declared once, beside the alert ledger that shares the table


def git_commit(root: Path) -> str | None:
    """The ``HEAD`` commit of the repository at ``root``, or None if unavailable."""
    from nbaops.errors import GitError
    from nbaops.gitrepo import Repo

    try:
        return Repo(root, timeout_s=5.0).head()
    except GitError:
        return None


def new_run_id(now: dt.datetime) -> str:
    """Sortable and unique: ``20261125T150000Z-1a2b3c4d``."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def to_row(
    result: CheckResult,
    *,
    run_id: str,
    run_at: dt.datetime,
    profile: str,
    commit: str | None,
) -> dict[str, Any]:
    """One ``check_results`` row; a non-numeric value is stored as NULL."""
    note = result.details.get("anomaly")
    return {
        "run_id": run_id,
        "run_at": run_at,
        "profile": profile,
        "git_commit": commit,
        "check_name": result.name,
        "service": result.service,
        "verdict": result.verdict.value,
        "value": anomaly.numeric_value(result),
        "threshold": redact(result.threshold) or None,
        "message": redact(result.message),  # may quote a log line holding a token
        "duration_s": float(result.duration_s),
        "bytes_processed": result.bytes_processed,
        "anomaly": redact(str(note)) if note else None,
    }


def _warn(message: str) -> None:
    stderr_line(f"nbaops: history: {message}")


def _with_details(results: Sequence[CheckResult], **extra: Any) -> list[CheckResult]:
    return [dataclasses.replace(r, details={**r.details, **extra}) for r in results]


@dataclasses.dataclass(frozen=True)
class PreparedHistory:
    """What a run needs from before it started: its time, the repo commit, past results.

    Built by :func:`prepare` — ``system-health`` does that in the background while the
    checks run, so reading history adds no wall time to the run.
    """

    run_at: dt.datetime
    commit: str | None
    history: anomaly.History | None
    problem: str | None  # why the history could not be read (anomaly notes skipped)
    warehouse_problem: str | None  # why the warehouse is unavailable (nothing recorded)


def prepare(ctx: Context) -> PreparedHistory:
    """Read the run's commit and the check history (never raises)."""
    run_at = clock.now()
    commit = git_commit(ctx.root)
    try:
        warehouse = ctx.warehouse
    except Exception as exc:  # the run must not be lost because history is unavailable
        return PreparedHistory(run_at, commit, None, None, first_line(exc, typed=True))
    settings = ctx.config.settings("alerts", AlertSettings).anomaly
    try:
        history = anomaly.load_history(
            warehouse, profile=ctx.profile, now=run_at, settings=settings
        )
    except Exception as exc:
        return PreparedHistory(run_at, commit, None, first_line(exc, typed=True), None)
    return PreparedHistory(run_at, commit, history, None, None)


def record_run(
    ctx: Context, results: list[CheckResult], prepared: PreparedHistory | None = None
) -> list[CheckResult]:
    """Annotate anomalies and write one history row per result.

    Args:
        ctx: the run context (its warehouse, profile and repository root).
        results: the run's check results.
        prepared: the result of :func:`prepare` taken when the run started (read now
            when omitted).

    Returns:
        Copies of ``results`` with ``details["run_id"]``, ``details["history"]``
        (``"recorded"`` or ``"not recorded: <why>"``) and, for anomalous values,
        ``details["anomaly"]`` plus the note appended to the message. Verdicts are never
        changed. Never raises for a warehouse problem.
    """
    prepared = prepared or prepare(ctx)
    run_id = new_run_id(prepared.run_at)
    out = _with_details(results, run_id=run_id)
    if prepared.warehouse_problem is not None:
        _warn(f"run {run_id} not recorded: {prepared.warehouse_problem}")
        return _with_details(out, history=f"not recorded: {prepared.warehouse_problem}")

    skipped = prepared.problem or "history unavailable"
    if prepared.history is not None:
        try:
            settings = ctx.config.settings("alerts", AlertSettings).anomaly
            out, skipped = anomaly.annotate(out, prepared.history, settings), ""
        except Exception as exc:
            skipped = first_line(exc, typed=True)
    if skipped:
        _warn(f"anomaly check skipped: {skipped}")
        out = _with_details(out, anomaly_skipped=skipped)

    rows = [
        to_row(
            r, run_id=run_id, run_at=prepared.run_at, profile=ctx.profile, commit=prepared.commit
        )
        for r in out
    ]
    try:
        if rows:
            ctx.warehouse.insert_rows(TABLE, rows)
    except Exception as exc:
        reason = first_line(exc, typed=True)
        _warn(f"run {run_id} not recorded in {TABLE}: {reason}")
        return _with_details(out, history=f"not recorded: {reason}")
    return _with_details(out, history="recorded")
