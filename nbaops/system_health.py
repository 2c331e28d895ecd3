"""system-health: every data check, concurrently, with a per-check timeout; one report.

Runs the registered checks (:mod:`nbaops.checks`) for all services or one, each in its
own worker with ``checks.timeout_s`` (a timeout or an exception is ERROR with the error
text). Interactive terminals get a live progress view. After the run:

1. ``$GITHUB_STEP_SUMMARY`` (when set) gets a Markdown summary appended;
2. :func:`record_and_alert` writes the run to history (anomaly notes come back on the
   results) and dispatches Slack/outbox alerts. Neither can change the verdict or lose
   the report: a failure there is a note.

The JSON form is exactly ``{"verdict": ..., "checks": [...]}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack, nullcontext, suppress
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.checks import PlannedCheck, plan_checks, run_planned
from nbaops.checks.thresholds import load_thresholds
from nbaops.environment import step_summary_path
from nbaops.errors import ctrl_c_noted, first_line
from nbaops.history import PreparedHistory, prepare
from nbaops.report import (
    VERDICT_ICON,
    CheckReport,
    markdown_text,
    publish_step_summary,
    summary_counts,
    value_text,
    verdict_text,
)
from nbaops.verdict import CheckResult

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from nbaops.context import Context


class LiveProgress:
    """A live table of running checks (rich), for interactive terminals only."""

    def __init__(self, planned: Sequence[PlannedCheck], console: Console) -> None:
        from rich.live import Live

        self._lock = threading.Lock()
        self._order = [p.label for p in planned]
        self._rows: dict[str, tuple[str, float | None, CheckResult | None]] = {
            p.label: ("waiting", None, None) for p in planned
        }
        self._live = Live(
            self._table(),
            console=console,
            transient=True,
            refresh_per_second=8,
            get_renderable=self._table,
        )

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def __call__(self, event: str, planned: PlannedCheck, result: CheckResult | None) -> None:
        with self._lock:
            if event == "start":
                self._rows[planned.label] = ("running", time.monotonic(), None)
            else:
                self._rows[planned.label] = ("done", None, result)

    def _table(self) -> RenderableType:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        table = Table(title="system-health", title_justify="left", box=None)
        for column in ("check", "status", "s"):
            table.add_column(column)
        now = time.monotonic()
        with self._lock:
            rows = [(label, *self._rows[label]) for label in self._order]
        done = 0
        for label, state, since, result in rows:
            if state == "done" and result is not None:
                done += 1
                table.add_row(Text(label), verdict_text(result.verdict), f"{result.duration_s:.2f}")
            elif state == "running" and since is not None:
                table.add_row(Text(label), Spinner("dots", text="running"), f"{now - since:.1f}")
            else:
                table.add_row(Text(label), "waiting", "")
        table.caption = f"{done}/{len(rows)} done"
        return table


def step_summary_markdown(report: CheckReport, *, profile: str, service: str | None) -> str:
    """The run as Markdown for ``$GITHUB_STEP_SUMMARY``."""
    icon = VERDICT_ICON
    scope = f" ({service})" if service else ""
    lines = [
        f"## {icon[report.verdict]} nbaops system-health{scope}: {report.verdict.value}",
        "",
        f"Profile `{profile}` at {clock.now().isoformat(timespec='seconds')}: "
        f"{summary_counts(c.verdict for c in report.checks)}.",
        "",
        "| check | service | verdict | value | threshold | message | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.checks:
        lines.append(
            f"| {markdown_text(c.name)} | {markdown_text(c.service)} | "
            f"{icon[c.verdict]} {c.verdict.value} | {markdown_text(value_text(c.value, c.unit))} | "
            f"{markdown_text(c.threshold)} | {markdown_text(c.message)} | {c.duration_s:.2f} |"
        )
    if report.notes:
        lines.append("")
        lines.extend(f"- {markdown_text(note)}" for note in report.notes)
    return "\n".join(lines) + "\n\n"


def append_step_summary(report: CheckReport, *, profile: str, service: str | None) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when it is set (a failure
    to write it is one of the report's notes)."""
    try:
        publish_step_summary(step_summary_markdown(report, profile=profile, service=service))
    except OSError as exc:
        report.notes.append(
            f"step summary not written to {step_summary_path()}: {exc.strerror or exc}"
        )


def record_and_alert(
    ctx: Context, results: list[CheckResult], prepared: PreparedHistory | None = None
) -> tuple[list[CheckResult], list[str]]:
    """Write the run to history (anomaly notes come back) and dispatch alerts.

    Returns the (possibly annotated) results and one-line notes. Never raises: the run's
    report and verdict must survive a history or alerting failure.
    """
    notes: list[str] = []
    try:
        from nbaops.history import record_run

        results = record_run(ctx, results, prepared)
    except Exception as exc:
        notes.append(f"history: not recorded: {first_line(exc, typed=True)}")
    try:
        from nbaops.alerts import dispatch

        summary = dispatch(ctx, results)
        notes.append(str(getattr(summary, "summary", summary)))
    except Exception as exc:
        notes.append(f"alerts: not dispatched: {first_line(exc, typed=True)}")
    return results, notes


def warm_adapters(ctx: Context, planned: Sequence[PlannedCheck], stack: ExitStack) -> None:
    """Create the adapters the checks share before their clocks start.

    On the local profile the first adapter use builds the sandbox and starts the
    stand-in, and the first query loads the engine and the SQL transpiler; done here,
    once, that cost is not charged to (nor timed out in) whichever check happened to run
    first. The local warehouse file is then held open for the whole run (``session``).
    A failure is ignored: each check then reports it as its own ERROR.
    """
    needs_logs = any(p.spec.reads_logs for p in planned)
    needs_warehouse = any(p.spec.queries for p in planned)

    def warm_logs() -> None:
        with suppress(Exception):  # reported by the check that needs it
            _ = ctx.logs  # on the local profile: the sandbox and stand-in

    worker = threading.Thread(target=warm_logs, daemon=True) if needs_logs else None
    if worker is not None:
        worker.start()
    if needs_warehouse:
        try:
            warehouse = ctx.warehouse
            session = getattr(warehouse, "session", None)
            if session is not None:
                stack.enter_context(session())
                warehouse.query("SELECT 1 AS ok")
        except Exception:  # reported by the check that needs it
            if ctrl_c_noted():  # DuckDB's "Query interrupted" is Ctrl-C: stop, not go on
                raise KeyboardInterrupt from None
    if worker is not None:
        worker.join()


def run_system_health(
    ctx: Context,
    service: str | None = None,
    *,
    live: Console | None = None,
    record: bool = True,
) -> CheckReport:
    """Run every check (or those of ``service``: UnknownServiceError, exit 2, if unknown)
    concurrently and build the report; its verdict is the worst result. ``live``: a
    console for the live progress view (interactive terminals); ``record``: write history
    and dispatch alerts after the run.
    """
    thresholds = load_thresholds(ctx.config)
    planned = plan_checks(ctx, service=service, thresholds=thresholds)
    if record:  # a bad alerts section is exit 2 now, not a traceback in the history reader
        from nbaops.alerts.settings import AlertSettings

        ctx.config.settings("alerts", AlertSettings)
    title = "system-health" + (f" ({service})" if service else "")
    with ExitStack() as stack:
        warm_adapters(ctx, planned, stack)
        # History (the run's commit, past results for anomaly notes) is read while the
        # checks run: it needs nothing from them, so it costs no wall time.
        prepared: list[PreparedHistory] = []
        reader = threading.Thread(target=lambda: prepared.append(prepare(ctx)), daemon=True)
        if record and planned:
            reader.start()
        view = LiveProgress(planned, live) if live is not None and planned else nullcontext()
        with view as progress:
            results = run_planned(
                ctx,
                planned,
                timeout_s=thresholds.timeout_s,
                max_workers=thresholds.max_workers,
                progress=progress,
            )
        if reader.ident is not None:  # started
            reader.join()
        notes: list[str] = []
        if record and results:  # still in the session: the history insert reuses the file
            results, notes = record_and_alert(ctx, results, prepared[0] if prepared else None)
    report = CheckReport(title=title, checks=results, notes=notes)
    append_step_summary(report, profile=ctx.profile, service=service)
    return report
