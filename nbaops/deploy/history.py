"""``inv deploys [--service S] [--limit N] [--days D]``: recent rows of ``nba_ops.deploys``.

The query filters on the partition column (``started_at`` within the last ``days``), so
its cost follows the window, not the table's history; rows are deduplicated on
``deploy_id`` (a spooled row retried after an ambiguous failure is shown once). Rows still
waiting in the local spool are retried first, and any that remain are listed too, read
like the query (the same window and service, newest first, at most ``limit``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.deploy import audit
from nbaops.errors import UsageError, WarehouseError, first_line
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from rich.console import Console

    from nbaops.context import Context

SQL = """
SELECT deploy_id, started_at, finished_at, profile, service, action, actor, commit_sha,
       image, revision_before, revision_after, canary_percent, model_version, dry_run,
       outcome, message, duration_s
FROM `nba_ops.deploys`
WHERE started_at >= @since
  AND (@service = '' OR service = @service)
QUALIFY ROW_NUMBER() OVER (PARTITION BY deploy_id ORDER BY finished_at DESC) = 1
ORDER BY started_at DESC
LIMIT @limit
"""

MAX_LIMIT = 1000  # rows
MAX_DAYS = 400  # the look-back bounds the partition scan
_BAD = {"rolled_back", "failed", "rollback_failed", "interrupted", "refused", "held"}


@dataclass
class DeployHistory:
    """Recent audit rows: a result set (a table of rows), not checks with verdicts."""

    rows: list[dict[str, Any]]
    sql: str
    spooled: list[dict[str, Any]] = field(default_factory=list)
    flushed: int = 0
    scope: str = ""  # what was asked for: "last 30 days" or "phase4-processors, last 7 days"
    error: str | None = None  # the warehouse could not be read: only the spool is shown

    @property
    def verdict(self) -> Verdict:
        return Verdict.ERROR if self.error else Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        def clean(row: dict[str, Any]) -> dict[str, Any]:
            return {
                k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in row.items()
                if k != "verdicts"
            }

        return {
            "verdict": self.verdict.value,
            "deploys": [clean(r) for r in self.rows],
            "spooled": [clean(r) for r in self.spooled],
            "query": self.sql.strip(),
            **({"error": self.error} if self.error else {}),
        }

    def render(self, console: Console) -> None:
        from nbaops.report import WIDE_LAYOUT_MIN, is_table_console

        if self.error:
            console.print(
                f"ERROR {audit.TABLE} could not be read: {self.error}"
                + (
                    f"; the {len(self.spooled)} row(s) below are spooled locally only"
                    if self.spooled
                    else ""
                ),
                style="red",
                highlight=False,
                markup=False,
            )
        if self.error and not self.rows and not self.spooled:
            return  # unknown, not empty: the ERROR line above says why
        if not self.rows and not self.spooled:
            console.print(f"recent deploys ({self.scope}): none", highlight=False)
            if self.flushed:
                console.print(f"{self.flushed} spooled row(s) written now")
            return
        table = is_table_console(console)
        # logs and pipes: every column; narrow terminals: revisions in --json
        wide = console.width >= WIDE_LAYOUT_MIN or not table
        columns = ["started (UTC)", "service", "action", "outcome", "actor", "commit"]
        models = any(r.get("model_version") for r in [*self.spooled, *self.rows])
        if models:  # only when a row deployed a model version (--model-version)
            columns.append("model")
        if wide:
            columns += ["before → after", "s"]
        rows: list[tuple[list[str], bool]] = []
        marked = [(row, " (spooled)") for row in self.spooled] + [(row, "") for row in self.rows]
        for row, mark in marked:  # marked by position, not by comparing whole rows
            started = row.get("started_at")
            outcome = str(row.get("outcome", "")) + mark
            cells = [
                _started_text(started),
                str(row.get("service", "")),
                str(row.get("action", "")),
                outcome,
                str(row.get("actor", "")),
                # a terminal gets 12 characters; logs and pipes the full, copyable SHA
                str(row.get("commit_sha") or "")[: 12 if console.is_terminal else None],
            ]
            if models:
                cells.append(str(row.get("model_version") or ""))
            if wide:
                cells.append(
                    f"{row.get('revision_before') or '-'} → {row.get('revision_after') or '-'}"
                )
                cells.append(
                    f"{row['duration_s']:.0f}" if row.get("duration_s") is not None else "-"
                )
            rows.append((cells, row.get("outcome") in _BAD))
        if table:
            from rich.table import Table
            from rich.text import Text

            grid = Table(title=f"recent deploys ({self.scope})", title_justify="left")
            for column in columns:
                grid.add_column(column, overflow="fold")
            for cells, bad in rows:
                # Text, not markup: an actor, revision or model holds whatever the row does
                grid.add_row(*map(Text, cells), style="red" if bad else None)
            console.print(grid)
        else:  # logs and pipes: plain lines, never wrapped (--json for scripts)
            console.print(f"recent deploys ({self.scope})", highlight=False)
            for cells in [columns, *(cells for cells, _bad in rows)]:
                line = "  ".join(cell or "-" for cell in cells)
                console.print(line, soft_wrap=True, highlight=False, markup=False)
        for row in [*self.spooled, *self.rows]:  # what went wrong, without --json
            if row.get("outcome") in _BAD and row.get("message"):
                when = _started_text(row.get("started_at"))
                console.print(
                    f"  {when}: {row['message']}", style="red", highlight=False, markup=False
                )
        note = f"{len(self.rows)} row(s)"
        if self.flushed:
            note += f"; {self.flushed} spooled row(s) written now"
        if self.spooled:  # no error: the query answered, so the warehouse refused these rows
            why = "warehouse unreachable" if self.error else "the warehouse refused them"
            note += f"; {len(self.spooled)} row(s) still spooled locally ({why})"
        console.print(note)


def _started_text(started: Any) -> str:
    return started.strftime("%Y-%m-%d %H:%M") if isinstance(started, dt.datetime) else str(started)


def recent_deploys(
    ctx: Context, *, service: str | None = None, limit: int = 20, days: int = 30
) -> DeployHistory:
    """The most recent audit rows, newest first.

    Raises:
        UsageError: ``limit`` or ``days`` out of range; unknown service.

    A query that fails is the history's ``error`` (ERROR, exit 3) with the spooled rows
    still listed: during a warehouse outage they are the audit record at hand.
    """
    if service:
        ctx.config.service(service)
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit: {limit} must be between 1 and {MAX_LIMIT}")
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(f"--days: {days} must be between 1 and {MAX_DAYS}")
    flushed = audit.flush_spool(ctx)
    since = clock.now() - dt.timedelta(days=days)
    error = None
    try:
        params = {"since": since, "service": service or "", "limit": limit}
        rows = [dict(r) for r in ctx.warehouse.query(SQL, params).rows]  # no verdicts
    except WarehouseError as exc:  # an outage: the spool is then the only record at hand
        rows, error = [], first_line(exc)
    # the spool read like the query: the window, newest first, up to ``limit``
    now = clock.now()

    def started(row: dict[str, Any]) -> dt.datetime:  # unreadable: kept (still unwritten)
        value = row.get("started_at")
        return value if isinstance(value, dt.datetime) else now

    # a row whose write failed ambiguously (it landed) and that the warehouse now refuses
    # again stays spooled: the warehouse's copy is listed, not both
    listed = {row.get("deploy_id") for row in rows}
    spooled = sorted(
        (
            r
            for r in audit.spooled_rows(ctx.home)
            if (not service or r.get("service") == service)
            and started(r) >= since
            and r.get("deploy_id") not in listed
        ),
        key=started,
        reverse=True,
    )[:limit]
    scope = f"{service + ', ' if service else ''}last {days} day{'s' if days != 1 else ''}"
    return DeployHistory(
        rows=rows, sql=SQL, spooled=spooled, flushed=flushed, scope=scope, error=error
    )
