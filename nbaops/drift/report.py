"""The drift report: its data (services, traffic, issue sync) and its renderings.

Terminal table, JSON document (and back, :func:`report_from_json`), Markdown (report and
issue bodies). :mod:`nbaops.drift.detect` measures it, :mod:`nbaops.drift.github_issues`
syncs issues from it; both import this module, never each other.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.clock import as_utc
from nbaops.gitrepo import Commit
from nbaops.report import VERDICT_ICON, markdown_text, places_beside
from nbaops.verdict import Verdict, clip, worst

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class TrafficShare:
    """One revision receiving traffic, with the commit its label names."""

    revision: str
    percent: int
    commit: str | None
    tag: str = ""


@dataclass
class ServiceDrift:
    """The drift of one service. ``pending`` is newest first."""

    service: str
    verdict: Verdict
    message: str
    source_paths: tuple[str, ...]
    window_s: float
    deployed_commit: str | None = None
    deployed_revision: str | None = None
    head_commit: str | None = None
    main_ref: str | None = None
    traffic: tuple[TrafficShare, ...] = ()
    pending: list[Commit] = field(default_factory=list)
    oldest_pending_age_s: float | None = None
    deployed_on_main: bool | None = None
    duration_s: float = 0.0

    @property
    def split(self) -> bool:
        return sum(1 for t in self.traffic if t.percent > 0) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "verdict": self.verdict.value,
            "deployed_commit": self.deployed_commit,
            "head_commit": self.head_commit,
            "pending": [c.to_json() for c in self.pending],
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "message": self.message,
            "deployed_revision": self.deployed_revision,
            "main_ref": self.main_ref,
            "traffic": [asdict(t) for t in self.traffic],
            "traffic_split": self.split,
            "deployed_on_main": self.deployed_on_main,
            "pending_count": len(self.pending),
            "window_s": self.window_s,
            "source_paths": list(self.source_paths),
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class DriftReport:
    """Drift of the selected services; satisfies :class:`nbaops.report.Report`.

    Its own class, not a :class:`~nbaops.report.CheckReport`: per service the pending
    commits and traffic, rendered as a table or as Markdown (the GitHub issue body).

    The overall verdict is the worst service verdict, except that a failed issue sync
    makes it ERROR (exit 3): the run did not do everything it was asked to, and the
    drift verdicts are still in the report.
    """

    services: list[ServiceDrift]
    head_commit: str | None
    main_ref: str | None
    window_s: float
    generated_at: dt.datetime
    profile: str
    sync: SyncResult | None = None
    output_format: str = "table"  # table | markdown (what render() prints)

    @property
    def drift_verdict(self) -> Verdict:
        return worst(s.verdict for s in self.services)

    @property
    def verdict(self) -> Verdict:
        if self.sync is not None and not self.sync.ok:
            return Verdict.ERROR
        return self.drift_verdict

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: ``{"verdict", "services": [...], ...}``."""
        doc: dict[str, Any] = {
            "verdict": self.verdict.value,
            "services": [s.to_json() for s in self.services],
            "drift_verdict": self.drift_verdict.value,
            "head_commit": self.head_commit,
            "main_ref": self.main_ref,
            "window_s": self.window_s,
            "generated_at": self.generated_at.isoformat(),
            "profile": self.profile,
        }
        if self.sync is not None:
            doc["issues"] = self.sync.to_json()
        return doc

    def render(self, console: Console) -> None:
        if self.output_format == "markdown":  # verbatim, and through the runner's redaction
            text = markdown_report(self)
            console.print(text, end="", markup=False, emoji=False, highlight=False, soft_wrap=True)
        else:
            render_table(self, console)


@dataclass
class IssueAction:
    """What sync did (or, in a dry run, would do) for one service."""

    service: str
    action: str  # open | update | update+comment | close | none | skip | error
    number: int | None = None
    url: str | None = None
    reason: str = ""


@dataclass
class SyncResult:
    repository: str
    label: str
    dry_run: bool
    actions: list[IssueAction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def verb(self, action: IssueAction) -> str:
        """What was (or, in a dry run, would be) done: ``would open``, ``close``, ``skip``."""
        if action.action in ("none", "skip", "error") or not self.dry_run:
            return action.action
        return f"would {action.action}"


MAX_LISTED = 30  # pending commits listed per service in Markdown (the rest are counted)
# Each listed subject and author is clipped in Markdown (JSON keeps them whole): GitHub
# refuses an issue body of 65,536 characters or more (422 "body is too long (maximum is
# 65536 characters)": googleapis/release-please#1034, PyGithub/PyGithub#1906), and one
# commit subject of this repository runs to 3,000 characters, so 30 of them made the
# issue of a drifting service impossible to open or update.
MAX_SUBJECT_CHARS = 200
MAX_AUTHOR_CHARS = 60


def human_age(seconds: float, beside: float | None = None) -> str:
    """``42m``, ``5h 10m``, ``3d 4h``: coarse enough to read at a glance; to the second
    when it would otherwise read as ``beside``, the window it is judged against (an age
    30 s past a 6h window is ``6h 0m 30s``, not "waiting 6h (over the 6h window)"), to the
    fraction of a second within a second of it (``6h 0m 0.4s``)."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes}m" if minutes else f"{hours}h"
    else:
        text = f"{minutes}m" if minutes else f"{total}s"
    if beside is None or seconds == beside or text != human_age(beside):
        return text
    last: float | str = total % 60
    if total == int(beside):  # less than a second past it: the fraction shows the side
        last = f"{seconds - total + total % 60:.{places_beside(seconds, beside, places=1)}f}"
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (last, "s")]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)
    return " ".join(f"{number}{unit}" for number, unit in units)


def _age(s: ServiceDrift, missing: str = "-") -> str:
    return human_age(s.oldest_pending_age_s) if s.oldest_pending_age_s is not None else missing


def _utc(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _short(sha: str | None) -> str:
    return sha[:8] if sha else "-"


# ---------------------------------------------------------------- terminal


def render_table(report: DriftReport, console: Console) -> None:
    """A Rich table on a wide terminal; elsewhere one line per service with full SHAs,
    through :func:`nbaops.report.emit` (no Rich import off a terminal)."""
    from nbaops.report import (
        TROUBLESHOOTING,
        emit,
        error_cause,
        is_table_console,
        summary_counts,
        verdict_part,
    )

    table = is_table_console(console)
    head = _short(report.head_commit) if table else report.head_commit or "-"
    window = human_age(report.window_s)
    title = f"Deployment drift vs {report.main_ref or 'main'} {head} (window {window})"
    if table:
        _print_table(report, console, title)
    else:
        emit(console, title)
        errors: dict[str, list[ServiceDrift]] = {}  # services failing the same way: one line
        for s in report.services:
            if s.verdict is Verdict.ERROR:
                errors.setdefault(error_cause(s.message), []).append(s)
        for s in report.services:
            cause = error_cause(s.message)
            same = errors.get(cause, []) if s.verdict is Verdict.ERROR else []
            if len(same) > 1:
                if s is same[0]:  # the group's one line, where its first service stands
                    names = ", ".join(x.service for x in same)
                    emit(
                        console,
                        verdict_part(s.verdict),
                        f" {names} ({len(same)} services): {cause} -> see {TROUBLESHOOTING}",
                    )
                continue
            emit(
                console,
                verdict_part(s.verdict),
                f" {s.service} serving {s.deployed_commit or '-'} "
                f"({s.deployed_revision or 'no revision'}) pending={len(s.pending)} "
                f"oldest={_age(s)}: {s.message}"
                + (" -> see docs/drift.md" if s.verdict is not Verdict.PASS else ""),
            )
    for s in report.services:
        if s.pending:
            emit(console, (s.service, "bold"), " pending commits (newest first):")
        for c in s.pending:
            emit(
                console,
                f"  {c.short if table else c.sha}  {c.committed_at:%Y-%m-%d %H:%M %Z}  "
                f"{c.author}: {c.subject}",
            )
    if report.sync is not None:
        sync = report.sync
        emit(console, ("GitHub issues", "bold"), f" ({sync.repository}, label {sync.label}):")
        for a in sync.actions:
            ref = f" #{a.number}" if a.number else ""
            emit(console, f"  {a.service}: {sync.verb(a)}{ref} - {a.reason}")
        for err in sync.errors:
            emit(console, "  ", ("sync error:", "bold red"), f" {err}")
    summary = summary_counts((s.verdict for s in report.services), empty="no services")
    emit(console, verdict_part(report.verdict), f" drift: {summary}")


def _print_table(report: DriftReport, console: Console, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from nbaops.report import verdict_text

    table = Table(title=title, title_justify="left")
    for column in ("service", "verdict", "serving", "pending", "oldest", "message"):
        table.add_column(column, overflow="fold")
    for s in report.services:
        serving = _short(s.deployed_commit)
        if s.deployed_revision:
            serving += f" ({s.deployed_revision})"
        row = (s.service, verdict_text(s.verdict), serving, str(len(s.pending)), _age(s))
        table.add_row(*row, Text(s.message))  # a message is text, never markup
    console.print(table)


# ---------------------------------------------------------------- Markdown


def _pending_table(s: ServiceDrift) -> list[str]:
    lines = ["| commit | committed (UTC) | author | subject |", "|---|---|---|---|"]
    for c in s.pending[:MAX_LISTED]:
        lines.append(
            f"| `{c.short}` | {c.committed_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} | "
            f"{markdown_text(clip(c.author, MAX_AUTHOR_CHARS))} | "
            f"{markdown_text(clip(c.subject, MAX_SUBJECT_CHARS))} |"
        )
    if len(s.pending) > MAX_LISTED:
        lines.append(f"| … | | | {len(s.pending) - MAX_LISTED} more |")
    return lines


def _traffic_lines(s: ServiceDrift) -> list[str]:
    if not s.split:
        return []
    lines = ["", "Traffic is split:", ""]
    for t in s.traffic:
        if t.percent > 0:
            lines.append(f"- `{t.revision}`: {t.percent}% (commit `{_short(t.commit)}`)")
    return lines


def service_markdown(s: ServiceDrift, *, heading: str = "###") -> str:
    """One service's section: verdict, serving commit, pending commits."""
    lines = [
        f"{heading} {VERDICT_ICON[s.verdict]} {s.service}: {s.verdict.value}",
        "",
        markdown_text(s.message),
        "",
        f"- Serving: `{_short(s.deployed_commit)}`"
        + (f" (revision `{s.deployed_revision}`)" if s.deployed_revision else ""),
        f"- Main: `{_short(s.head_commit)}` ({s.main_ref or 'main'})",
        f"- Source paths: {', '.join(f'`{p}`' for p in s.source_paths)}",
    ]
    if s.oldest_pending_age_s is not None:
        lines.append(
            f"- Oldest pending commit waiting: {human_age(s.oldest_pending_age_s, s.window_s)} "
            f"(window {human_age(s.window_s)})"
        )
    lines += _traffic_lines(s)
    if s.pending:
        lines += ["", f"Pending commits ({len(s.pending)}, newest first):", ""]
        lines += _pending_table(s)
    return "\n".join(lines) + "\n"


def markdown_report(report: DriftReport) -> str:
    """The whole report as Markdown (``--markdown``; also the workflow's job summary)."""
    lines = [
        f"## Deployment drift: {report.drift_verdict.value}",
        "",
        f"Main `{_short(report.head_commit)}` ({report.main_ref or 'main'}), window "
        f"{human_age(report.window_s)}, profile `{report.profile}`, "
        f"{_utc(report.generated_at)}.",
        "",
        "| service | verdict | serving | pending | oldest |",
        "|---|---|---|---|---|",
    ]
    for s in report.services:
        lines.append(
            f"| {s.service} | {VERDICT_ICON[s.verdict]} {s.verdict.value} | "
            f"`{_short(s.deployed_commit)}` | {len(s.pending)} | {_age(s)} |"
        )
    lines.append("")
    for s in report.services:
        lines.append(service_markdown(s))
    if report.sync is not None:
        sync = report.sync
        lines += ["### GitHub issues", ""]
        for a in sync.actions:
            ref = f" #{a.number}" if a.number else ""
            lines.append(f"- {a.service}: {sync.verb(a)}{ref} ({markdown_text(a.reason)})")
        for err in sync.errors:
            lines.append(f"- **sync error**: {markdown_text(err)}")
        lines.append("")
    return "\n".join(lines)


def issue_body(s: ServiceDrift, report: DriftReport) -> str:
    """The body of a service's drift issue: always the current state (rewritten each run)."""
    return (
        f"Code merged to `{report.main_ref or 'main'}` that touches **{s.service}** is not "
        "serving traffic yet.\n\n" + service_markdown(s, heading="##") + "\n---\n"
        f"Updated {_utc(report.generated_at)} by `inv check-drift --sync-issues` "
        "(profile `" + report.profile + "`). This issue closes itself when the service "
        "serves a commit that includes these changes. See `docs/drift.md`.\n"
    )


def persist_comment(s: ServiceDrift) -> str:
    """The (at most daily) comment on an issue whose drift persists."""
    age, n = _age(s, "?"), len(s.pending)
    return (
        f"Still drifting ({s.verdict.value}): {n} pending commit{'s' if n != 1 else ''}, "
        f"the oldest waiting {age}. Serving `{_short(s.deployed_commit)}`, main is "
        f"`{_short(s.head_commit)}`. The issue body holds the current list."
    )


def resolved_comment(s: ServiceDrift) -> str:
    """The comment posted when a service is back in sync, just before closing its issue."""
    return (
        f"Back in sync: {s.service} serves `{_short(s.deployed_commit)}`"
        + (f" (revision `{s.deployed_revision}`)" if s.deployed_revision else "")
        + f", which includes every change to its paths on `{s.main_ref or 'main'}`. Closing."
    )


# ---------------------------------------------------------------- reading a saved report


# ServiceDrift fields that a saved report holds as they are (text, or None).
_AS_SAVED = ("deployed_commit", "deployed_revision", "head_commit", "main_ref", "deployed_on_main")


def report_from_json(doc: Any, *, source: str = "report") -> DriftReport:
    """Rebuild a :class:`DriftReport` from :meth:`DriftReport.to_json`'s document.

    The daily workflow measures drift in a job that holds cloud credentials and syncs
    issues in another that holds the GitHub token; the JSON report travels between them.

    Raises:
        UsageError: the document is not a drift report (names the missing/bad key).
    """
    from nbaops.errors import UsageError

    def fail(key: str, problem: str = "missing or malformed") -> UsageError:
        return UsageError(f"{source}: not a drift report: {key}: {problem}")

    def when(value: Any, key: str) -> dt.datetime:
        try:
            return as_utc(str(value))
        except ValueError:
            raise fail(key) from None

    def seconds(value: Any, key: str) -> float:
        """A duration in seconds: a finite, non-negative number (JSON allows NaN and
        Infinity, which crashed the age rendering with a traceback)."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise fail(key) from None
        if not math.isfinite(number) or number < 0:
            raise fail(key, f"not a finite number of seconds: {value!r}")
        return number

    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        raise fail("services")
    services: list[ServiceDrift] = []
    for i, s in enumerate(doc["services"]):
        where = f"services[{i}]"
        if not isinstance(s, dict):
            raise fail(where)
        try:
            pending = [
                Commit(
                    **{k: str(c[k]) for k in ("sha", "short", "author", "subject")},
                    author_email=str(c.get("author_email", "")),
                    date=when(c["date"], f"{where}.pending.date"),
                    committed_at=when(c["committed_at"], f"{where}.pending.committed_at"),
                )
                for c in s.get("pending", [])
            ]
            traffic = tuple(
                TrafficShare(
                    str(t["revision"]), int(t["percent"]), t.get("commit"), str(t.get("tag", ""))
                )
                for t in s.get("traffic", [])
            )
            age = s.get("oldest_pending_age_s")
            services.append(
                ServiceDrift(
                    service=str(s["service"]),
                    verdict=Verdict(s["verdict"]),
                    message=str(s.get("message", "")),
                    source_paths=tuple(str(p) for p in s.get("source_paths", [])),
                    window_s=seconds(
                        s.get("window_s") or doc.get("window_s") or 0, f"{where}.window_s"
                    ),
                    traffic=traffic,
                    pending=pending,
                    oldest_pending_age_s=(
                        seconds(age, f"{where}.oldest_pending_age_s") if age is not None else None
                    ),
                    duration_s=seconds(s.get("duration_s") or 0, f"{where}.duration_s"),
                    **{k: s.get(k) for k in _AS_SAVED},
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(where, f"{type(exc).__name__}: {exc}") from None
    return DriftReport(
        services=services,
        head_commit=doc.get("head_commit"),
        main_ref=doc.get("main_ref"),
        window_s=seconds(doc.get("window_s", 0), "window_s"),
        generated_at=when(doc.get("generated_at"), "generated_at"),
        profile=str(doc.get("profile", "")),
    )
