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

Settings come from the environment GitHub Actions provides: ``GITHUB_TOKEN``,
``GITHUB_REPOSITORY`` (``owner/name``) and ``GITHUB_API_URL`` (default
``https://api.github.com``; tests point it at a server on 127.0.0.1). The token is sent
only in the ``Authorization`` header and never appears in messages, reprs or reports.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.errors import AdapterError, UsageError
from nbaops.redact import remember
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from nbaops.drift.detect import DriftReport, ServiceDrift

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_LABEL = "deployment-drift"
DEFAULT_COMMENT_INTERVAL = dt.timedelta(hours=24)
LABEL_COLOR = "d93f0b"
LABEL_DESCRIPTION = "Code merged to main that is not serving in production (nbaops check-drift)"
COMMENT_MARKER = "<!-- nbaops:deployment-drift comment -->"
_MARKER_RE = re.compile(r"<!-- nbaops:deployment-drift service=([a-z0-9-]+) -->")
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
PER_PAGE = 100
MAX_PAGES = 20
TIMEOUT_S = 20.0


class GitHubError(AdapterError):
    """A GitHub API call failed (HTTP error, network, unexpected reply): exit 3."""


def service_marker(service: str) -> str:
    """The hidden line that identifies the issue of ``service``."""
    return f"<!-- nbaops:deployment-drift service={service} -->"


def marker_service(body: str | None) -> str | None:
    """The service named by an issue body's marker, or None."""
    match = _MARKER_RE.search(body or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class GitHubSettings:
    """Where and as whom to talk to GitHub. ``repr`` hides the token."""

    repository: str
    api_url: str
    token: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GitHubSettings:
        """Read ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL``.

        Raises:
            UsageError: a variable is missing or malformed (nothing was changed).
        """
        source = os.environ if env is None else env
        token = source.get("GITHUB_TOKEN", "").strip()
        repository = source.get("GITHUB_REPOSITORY", "").strip()
        api_url = (source.get("GITHUB_API_URL", "") or DEFAULT_API_URL).strip().rstrip("/")
        if not token:
            raise UsageError("--sync-issues needs GITHUB_TOKEN in the environment")
        remember(token)  # masked in every later output, whatever error echoes it
        if not repository:
            raise UsageError(
                "--sync-issues needs GITHUB_REPOSITORY (owner/name) in the environment"
            )
        if not _REPO_RE.match(repository):
            raise UsageError(f"GITHUB_REPOSITORY: {repository!r} is not owner/name")
        parsed = urllib.parse.urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"GITHUB_API_URL: {api_url!r} is not an http(s) URL")
        return cls(repository=repository, api_url=api_url, token=token)


class GitHubClient:
    """The handful of REST calls issue sync needs (stdlib HTTP, bounded timeouts)."""

    def __init__(self, settings: GitHubSettings, *, timeout_s: float = TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        host = urllib.parse.urlparse(settings.api_url).hostname or ""
        handlers: list[urllib.request.BaseHandler] = []
        if host in ("127.0.0.1", "localhost", "::1"):
            handlers.append(urllib.request.ProxyHandler({}))  # loopback never via a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"GitHubClient({self.settings.repository!r}, {self.settings.api_url!r})"

    def _repo_path(self, suffix: str) -> str:
        return f"/repos/{self.settings.repository}{suffix}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """One API call; the decoded JSON reply (None for an empty body).

        Raises:
            GitHubError: HTTP status ≥ 400, network failure or a reply that is not JSON.
                The message names the method, path and status, and GitHub's ``message``.
        """
        url = self.settings.api_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "nbaops-drift")
        req.add_header("Authorization", f"Bearer {self.settings.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        where = f"GitHub {method} {path}"
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = ""
            try:
                payload = json.loads(exc.read() or b"{}")
                if isinstance(payload, dict):
                    detail = str(payload.get("message", ""))[:200]
            except (ValueError, OSError):
                detail = ""
            raise GitHubError(
                f"{where} failed: HTTP {exc.code}" + (f": {detail}" if detail else "")
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"{where} failed: {reason}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GitHubError(f"{where} failed: reply is not JSON") from None

    def _paged(self, path: str, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self.request("GET", path, params={**params, "per_page": PER_PAGE, "page": page})
            if not isinstance(batch, list):
                raise GitHubError(f"GitHub GET {path} failed: expected a list")
            out.extend(item for item in batch if isinstance(item, dict))
            if len(batch) < PER_PAGE:
                break
        return out

    def list_issues(self, label: str, state: str = "open") -> list[dict[str, Any]]:
        """Issues (not pull requests) carrying ``label`` in ``state`` (open/closed/all)."""
        items = self._paged(
            self._repo_path("/issues"),
            {"labels": label, "state": state, "sort": "created", "direction": "asc"},
        )
        return [i for i in items if "pull_request" not in i]

    def list_comments(self, number: int) -> list[dict[str, Any]]:
        return self._paged(self._repo_path(f"/issues/{number}/comments"), {})

    def ensure_label(self, name: str) -> None:
        """Create the label when the repository does not have it yet."""
        try:
            self.request("GET", self._repo_path(f"/labels/{urllib.parse.quote(name, safe='')}"))
        except GitHubError as exc:
            if "HTTP 404" not in str(exc):
                raise
            self.request(
                "POST",
                self._repo_path("/labels"),
                body={"name": name, "color": LABEL_COLOR, "description": LABEL_DESCRIPTION},
            )

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        reply = self.request(
            "POST",
            self._repo_path("/issues"),
            body={"title": title, "body": body, "labels": labels},
        )
        return reply if isinstance(reply, dict) else {}

    def update_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        reply = self.request("PATCH", self._repo_path(f"/issues/{number}"), body=fields)
        return reply if isinstance(reply, dict) else {}

    def add_comment(self, number: int, body: str) -> dict[str, Any]:
        reply = self.request(
            "POST", self._repo_path(f"/issues/{number}/comments"), body={"body": body}
        )
        return reply if isinstance(reply, dict) else {}


# ---------------------------------------------------------------- sync


@dataclass
class IssueAction:
    """What sync did (or, in a dry run, would do) for one service."""

    service: str
    action: str  # open | update | update+comment | close | none | skip | error
    number: int | None = None
    url: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
        return {
            "repository": self.repository,
            "label": self.label,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "actions": [a.to_json() for a in self.actions],
            "errors": list(self.errors),
        }


def issue_title(service: str) -> str:
    return f"Deployment drift: {service}"


def _parse_github_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
    label: str = DEFAULT_LABEL,
    comment_interval: dt.timedelta = DEFAULT_COMMENT_INTERVAL,
    dry_run: bool = False,
) -> SyncResult:
    """Open, update or close the drift issue of each service in ``report``.

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
    from nbaops.drift.render import issue_body, persist_comment, resolved_comment

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
            client.add_comment(number, resolved_comment(drift))
            client.update_issue(number, state="closed", state_reason="completed")
        return IssueAction(drift.service, "close", number, url, "back in sync")
    # WARN or FAIL: drifting.
    body = service_marker(drift.service) + "\n" + issue_body(drift, report)
    if issue is None or number is None:
        if dry_run:
            return IssueAction(drift.service, "open", None, None, drift.message)
        if not label_ready:
            client.ensure_label(label)
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
    reason = "still drifting; body updated" + (
        ", daily comment added" if due else ", comment skipped (one per day at most)"
    )
    return IssueAction(drift.service, "update+comment" if due else "update", number, url, reason)
