"""Keep one GitHub issue per drifting service, through the GitHub REST API.

What happens per service in a drift report:

- drifting (WARN or FAIL) and no open issue → **open** one (label ``deployment-drift``);
- drifting and an open issue → **update** its body to the current report, and add a
  short comment at most once per ``comment_interval`` (default 24 h: one a day);
- in sync (PASS) and an open issue → **close** it with a comment naming the commit now
  serving;
- INCONCLUSIVE or ERROR → leave any issue alone (an unmeasured service is neither
  drifting nor back in sync).

An issue is found by its label and a hidden marker in its body
(``<!-- nbaops:deployment-drift service=NAME -->``), never by its title, so a renamed
issue is still found and a second one is never opened. Only services in the report are
touched (``--service S`` syncs S alone).

The API calls (settings from ``GITHUB_TOKEN``/``GITHUB_REPOSITORY``/``GITHUB_API_URL``,
the token never shown) live in :mod:`nbaops.adapters.github`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from nbaops.adapters.github import GitHubClient, GitHubError
from nbaops.clock import as_utc
from nbaops.drift.report import (
    DriftReport,
    IssueAction,
    ServiceDrift,
    SyncResult,
    human_age,
    issue_body,
    persist_comment,
    resolved_comment,
)
from nbaops.verdict import Verdict

LABEL_COLOR = "d93f0b"
LABEL_DESCRIPTION = "Code merged to main that is not serving in production (nbaops check-drift)"
COMMENT_MARKER = "<!-- nbaops:deployment-drift comment -->"
_MARKER_RE = re.compile(r"<!-- nbaops:deployment-drift service=([a-z0-9-]+) -->")


def service_marker(service: str) -> str:
    """The hidden line that identifies the issue of ``service``."""
    return f"<!-- nbaops:deployment-drift service={service} -->"


def marker_service(body: str | None) -> str | None:
    """The service named by an issue body's marker, or None."""
    match = _MARKER_RE.search(body or "")
    return match.group(1) if match else None


# ---------------------------------------------------------------- sync


def issue_title(service: str) -> str:
    return f"Deployment drift: {service}"


def _parse_github_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return as_utc(text)
    except ValueError:
        return None


def _last_notice(client: GitHubClient, issue: dict[str, Any]) -> dt.datetime | None:
    """When the issue last notified people: our latest comment, else its opening."""
    latest = _parse_github_time(issue.get("created_at"))
    for comment in client.list_comments(int(issue["number"])):
        if COMMENT_MARKER not in str(comment.get("body", "")):
            continue
        when = _parse_github_time(comment.get("created_at"))
        if when is not None and (latest is None or when > latest):
            latest = when
    return latest


def find_open_issues(client: GitHubClient, label: str) -> dict[str, dict[str, Any]]:
    """Open drift issues by service (the oldest when several carry the same marker)."""
    by_service: dict[str, dict[str, Any]] = {}
    for issue in client.list_issues(label, state="open"):
        service = marker_service(issue.get("body"))
        if service is None:
            continue
        current = by_service.get(service)
        if current is None or int(issue["number"]) < int(current["number"]):
            by_service[service] = issue
    return by_service


def sync_issues(
    report: DriftReport,
    client: GitHubClient,
    *,
    now: dt.datetime,
    label: str,
    comment_interval: dt.timedelta,
    dry_run: bool = False,
) -> SyncResult:
    """Open, update or close the drift issue of each service in ``report``.

    ``label`` and ``comment_interval`` come from the drift settings (``issue_label``,
    ``comment_interval``: :class:`nbaops.drift.settings.DriftSettings`).

    GitHub failures do not raise: they are collected in :attr:`SyncResult.errors` so the
    caller still prints the drift report (and exits 3).
    """
    result = SyncResult(repository=client.settings.repository, label=label, dry_run=dry_run)
    try:
        existing = find_open_issues(client, label)
    except GitHubError as exc:
        result.errors.append(str(exc))
        return result
    label_ready = False
    for drift in report.services:
        issue = existing.get(drift.service)
        try:
            action = _sync_one(
                client,
                drift,
                issue,
                report=report,
                now=now,
                label=label,
                comment_interval=comment_interval,
                dry_run=dry_run,
                label_ready=label_ready,
            )
            if action.action == "open" and not dry_run:
                label_ready = True
        except GitHubError as exc:
            result.errors.append(f"{drift.service}: {exc}")
            action = IssueAction(
                drift.service,
                "error",
                int(issue["number"]) if issue else None,
                issue.get("html_url") if issue else None,
                str(exc),
            )
        result.actions.append(action)
    return result


def _sync_one(
    client: GitHubClient,
    drift: ServiceDrift,
    issue: dict[str, Any] | None,
    *,
    report: DriftReport,
    now: dt.datetime,
    label: str,
    comment_interval: dt.timedelta,
    dry_run: bool,
    label_ready: bool,
) -> IssueAction:

    number = int(issue["number"]) if issue else None
    url = issue.get("html_url") if issue else None
    if drift.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR):
        return IssueAction(
            drift.service,
            "skip",
            number,
            url,
            f"{drift.verdict.value}: could not measure drift; issue left as it is",
        )
    if drift.verdict is Verdict.PASS:
        if issue is None or number is None:
            return IssueAction(drift.service, "none", None, None, "in sync; no open issue")
        if not dry_run:
            # closed first: a failed close (retried by the next run) must not post the
            # "back in sync" comment again each time; a failed comment leaves it closed
            client.update_issue(number, state="closed", state_reason="completed")
            client.add_comment(number, resolved_comment(drift))
        return IssueAction(drift.service, "close", number, url, "back in sync")
    # WARN or FAIL: drifting.
    body = service_marker(drift.service) + "\n" + issue_body(drift, report)
    if issue is None or number is None:
        if dry_run:
            return IssueAction(drift.service, "open", None, None, drift.message)
        if not label_ready:
            client.ensure_label(label, color=LABEL_COLOR, description=LABEL_DESCRIPTION)
        created = client.create_issue(issue_title(drift.service), body, [label])
        return IssueAction(
            drift.service, "open", created.get("number"), created.get("html_url"), drift.message
        )
    last = _last_notice(client, issue)
    due = last is None or now - last >= comment_interval
    if not dry_run:
        client.update_issue(number, body=body, title=issue_title(drift.service))
        if due:
            client.add_comment(number, COMMENT_MARKER + "\n" + persist_comment(drift))
    every = human_age(comment_interval.total_seconds())
    reason = "still drifting; body updated" + (
        ", comment added" if due else f", comment skipped (one per {every} at most)"
    )
    return IssueAction(drift.service, "update+comment" if due else "update", number, url, reason)
