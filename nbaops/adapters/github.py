"""GitHub REST API adapter: settings from the environment and the calls nbaops makes.

Settings come from the environment GitHub Actions provides: ``GITHUB_TOKEN``,
``GITHUB_REPOSITORY`` (``owner/name``) and ``GITHUB_API_URL`` (default
``https://api.github.com``; tests point it at a server on 127.0.0.1). The token is sent
only in the ``Authorization`` header and never appears in messages, reprs or reports.
Stdlib HTTP with bounded timeouts; every failure is one :class:`GitHubError` line.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nbaops.adapters.errors import unreachable
from nbaops.adapters.stdlib_http import send_with_headers
from nbaops.environment import read
from nbaops.errors import AdapterError, UsageError
from nbaops.redact import remember

DEFAULT_API_URL = "https://api.github.com"
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
PER_PAGE = 100
MAX_PAGES = 20
TIMEOUT_S = 20.0


class GitHubError(AdapterError):
    """A GitHub API call failed (HTTP error, network, unexpected reply): exit 3.

    ``status`` is the HTTP status GitHub answered with, None when there was no answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
        names = ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL")
        source = env if env is not None else {name: read(name) or "" for name in names}
        token = source.get("GITHUB_TOKEN", "").strip()
        repository = source.get("GITHUB_REPOSITORY", "").strip()
        api_url = (source.get("GITHUB_API_URL", "") or DEFAULT_API_URL).strip().rstrip("/")
        if not token:
            raise UsageError("--sync-issues needs GITHUB_TOKEN in the environment")
        remember(token)  # masked in every later output, whatever error echoes it
        if not (token.isascii() and token.isprintable()):
            # http.client refuses such an Authorization header (ValueError, or
            # UnicodeEncodeError past latin-1) only when the first call is sent
            raise UsageError(
                "GITHUB_TOKEN holds a line break, a control character or a character "
                "outside ASCII: not a token (check how the secret was set)"
            )
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


def _next_link(link: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (RFC 8288), or None."""
    for part in link.split(","):
        target, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            return target.strip().strip("<>") or None
    return None


class GitHubClient:
    """The handful of REST calls issue sync needs (stdlib HTTP, bounded timeouts)."""

    def __init__(self, settings: GitHubSettings, *, timeout_s: float = TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

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
        return self._request_url(method, url, path, body)[0]

    def request_with_headers(self, method: str, path: str) -> tuple[Any, dict[str, str]]:
        """:meth:`request` (no parameters, no body) and the reply's headers, names
        lower-cased: what GitHub says of the token (``X-OAuth-Scopes``,
        ``X-Accepted-GitHub-Permissions``)."""
        return self._request_url(method, self.settings.api_url + path, path)

    def _request_url(
        self, method: str, url: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[Any, dict[str, str]]:
        """:meth:`request` for a full URL (a ``Link`` header's); the reply and its headers."""
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
            status, raw, headers = send_with_headers(req, self.timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            raise unreachable(GitHubError)(f"{where} failed: {exc}") from None
        if 300 <= status < 400:  # only a redirect to another origin gets here (stdlib_http)
            raise GitHubError(
                f"{where} failed: HTTP {status}: a redirect to another host, not followed "
                "(the token is never sent elsewhere); check the API URL"
            )
        if status >= 400:
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = None
            detail = str(payload.get("message", ""))[:200] if isinstance(payload, dict) else ""
            raise GitHubError(
                f"{where} failed: HTTP {status}" + (f": {detail}" if detail else ""), status=status
            )
        if not raw:
            return None, headers
        try:
            return json.loads(raw), headers
        except ValueError:
            raise GitHubError(f"{where} failed: reply is not JSON") from None

    def _paged(self, path: str, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        """Every item of a listing, following the ``Link: rel="next"`` URLs GitHub gives
        (a page shorter than asked for is not the last one when the server pages smaller).

        Raises:
            GitHubError: a call failed, or the listing has more than :data:`MAX_PAGES`
                pages (an incomplete list would open a second issue for a service).
        """
        out: list[dict[str, Any]] = []
        query = urllib.parse.urlencode({**params, "per_page": PER_PAGE})
        url: str | None = f"{self.settings.api_url}{path}?{query}"
        for _page in range(MAX_PAGES):
            if url is None:
                return out
            batch, headers = self._request_url("GET", url, path)
            if not isinstance(batch, list):
                raise GitHubError(f"GitHub GET {path} failed: expected a list")
            out.extend(item for item in batch if isinstance(item, dict))
            url = _next_link(headers.get("link", ""))
            if url is not None and not url.startswith(self.settings.api_url + "/"):
                # the token goes with every request: never to another host
                raise GitHubError(
                    f"GitHub GET {path}: the next page is not on {self.settings.api_url}"
                )
        if url is not None:
            raise GitHubError(f"GitHub GET {path}: more than {MAX_PAGES} pages; not all read")
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

    def ensure_label(self, name: str, *, color: str, description: str) -> None:
        """Create the label when the repository does not have it yet."""
        try:
            self.request("GET", self._repo_path(f"/labels/{urllib.parse.quote(name, safe='')}"))
        except GitHubError as exc:
            if "HTTP 404" not in str(exc):
                raise
            self.request(
                "POST",
                self._repo_path("/labels"),
                body={"name": name, "color": color, "description": description},
            )

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        return self._object("POST", "/issues", {"title": title, "body": body, "labels": labels})

    def update_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        return self._object("PATCH", f"/issues/{number}", fields)

    def add_comment(self, number: int, body: str) -> dict[str, Any]:
        return self._object("POST", f"/issues/{number}/comments", {"body": body})

    def _object(self, method: str, suffix: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A write to the repository whose reply is a JSON object ({} when it is not)."""
        reply = self.request(method, self._repo_path(suffix), body=body)
        return reply if isinstance(reply, dict) else {}
