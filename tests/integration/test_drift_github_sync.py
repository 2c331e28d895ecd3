"""Drift issue sync against a GitHub REST stand-in on 127.0.0.1.

The server speaks the shapes nbaops uses: list issues (labels + state filters, pages),
create, update (body/title/state), list and create comments, get and create labels.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from worlds.drift_world import World, build_world, commit, seed_default
from worlds.http_fake import FakeServer, Request

from nbaops.adapters.github import GitHubClient, GitHubError, GitHubSettings
from nbaops.cli.drift import check_drift
from nbaops.context import Context
from nbaops.drift.github_issues import marker_service
from nbaops.verdict import Verdict

TOKEN = "ghs_s3cretTOKENvalue0123456789"
REPO = "nba/props"
LABEL = "deployment-drift"


class FakeGitHub:
    """In-memory issues of one repository; ``now`` stamps created_at/updated_at."""

    def __init__(self) -> None:
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.labels: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.now = "2026-03-01T12:00:00Z"
        self.fail_status: int | None = None
        self.fail_message = "Server Error"
        self.fail_methods: set[str] = {"GET", "POST", "PATCH"}
        self.permissions: dict[str, bool] | None = {
            "admin": False,
            "push": True,
            "triage": True,
            "pull": True,
        }
        # a GitHub App installation token (Actions' GITHUB_TOKEN): GET /repos names no
        # permissions for it, GET /installation/repositories answers it
        self.installation = False
        self.issues_readable = True  # False: the token has no issues permission
        self.repo_headers: dict[str, str] = {}  # what GitHub says of the token (scopes)
        self.private = True
        self.next_number = 1
        self.url = ""
        self.page_cap: int | None = None  # a server that pages smaller than asked, with Link
        self.lock = threading.Lock()
        # A pull request with the label: the issues endpoint returns PRs too.
        self._add_issue({"title": "PR", "body": "", "labels": [LABEL]}, pull_request=True)

    def _add_issue(self, body: dict[str, Any], pull_request: bool = False) -> dict[str, Any]:
        number = self.next_number
        self.next_number += 1
        issue: dict[str, Any] = {
            "number": number,
            "html_url": f"https://github.example/{REPO}/issues/{number}",
            "title": body.get("title", ""),
            "body": body.get("body", ""),
            "state": "open",
            "state_reason": None,
            "labels": [{"name": n} for n in body.get("labels", [])],
            "created_at": self.now,
            "updated_at": self.now,
        }
        if pull_request:
            issue["pull_request"] = {"url": "x"}
        self.issues[number] = issue
        self.comments[number] = []
        return issue

    def open_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.issues.values() if i["state"] == "open" and "pull_request" not in i]

    def mutations(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def _page(
        self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]
    ) -> tuple[Any, ...]:
        """One page, and GitHub's ``Link: <...>; rel="next"`` when more follow."""
        per_page = int(query.get("per_page", ["30"])[0])
        if self.page_cap is not None:
            per_page = min(per_page, self.page_cap)
        page = int(query.get("page", ["1"])[0])
        batch = items[(page - 1) * per_page : page * per_page]
        if page * per_page >= len(items):
            return 200, batch
        params = {k: v[0] for k, v in query.items()} | {"page": str(page + 1)}
        link = f'<{self.url}{path}?{urlencode(params)}>; rel="next"'
        return 200, batch, {"Link": link}

    def route(self, request: Request) -> tuple[Any, ...]:
        method, path, query, body = request.method, request.path, request.query, request.json()
        self.requests.append((method, path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}
        if self.fail_status and method in self.fail_methods:
            return self.fail_status, {"message": self.fail_message}
        if path == "/installation/repositories" and method == "GET" and self.installation:
            return 200, {"total_count": 1, "repositories": [{"full_name": REPO}]}
        prefix = f"/repos/{REPO}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        with self.lock:
            if rest == "" and method == "GET":  # the repository, as the token sees it
                repository: dict[str, Any] = {
                    "full_name": REPO,
                    "has_issues": True,
                    "private": self.private,
                }
                if self.permissions is not None:
                    repository["permissions"] = self.permissions
                return 200, repository, self.repo_headers
            if rest == "/issues" and not self.issues_readable:
                who = "integration" if self.installation else "personal access token"
                return 403, {"message": f"Resource not accessible by {who}"}
            if rest == "/issues" and method == "GET":
                labels = set(query.get("labels", [""])[0].split(",")) - {""}
                state = query.get("state", ["open"])[0]
                items = [
                    i
                    for i in sorted(self.issues.values(), key=lambda i: i["number"])
                    if (state == "all" or i["state"] == state)
                    and labels <= {lab["name"] for lab in i["labels"]}
                ]
                return self._page(path, query, items)
            if rest == "/issues" and method == "POST":
                return 201, self._add_issue(body)
            m = re.fullmatch(r"/issues/(\d+)", rest)
            if m and method == "PATCH":
                issue = self.issues.get(int(m.group(1)))
                if issue is None:
                    return 404, {"message": "Not Found"}
                for key in ("title", "body", "state", "state_reason"):
                    if key in body:
                        issue[key] = body[key]
                issue["updated_at"] = self.now
                return 200, issue
            m = re.fullmatch(r"/issues/(\d+)/comments", rest)
            if m:
                number = int(m.group(1))
                if number not in self.issues:
                    return 404, {"message": "Not Found"}
                if method == "GET":
                    return self._page(path, query, self.comments[number])
                comment = {
                    "id": len(self.comments[number]) + 1,
                    "body": body["body"],
                    "created_at": self.now,
                }
                self.comments[number].append(comment)
                return 201, comment
            m = re.fullmatch(r"/labels/(.+)", rest)
            if m and method == "GET":
                name = unquote(m.group(1))
                return (200, {"name": name}) if name in self.labels else (404, {"message": "NF"})
            if rest == "/labels" and method == "POST":
                self.labels.add(body["name"])
                return 201, {"name": body["name"]}
        return 404, {"message": "Not Found"}


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with FakeServer(fake.route) as server:
        fake.url = server.url
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        yield fake


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub) -> World:
    w = build_world(tmp_path, monkeypatch)
    seed_default(w, monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    return w


def sync(capsys: pytest.CaptureFixture[str], **flags: Any) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    try:
        check_drift(InvokeContext(), json=True, sync_issues=True, **flags)
        code = 0
    except Exit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def issue_of(github: FakeGitHub, service: str) -> list[dict[str, Any]]:
    return [i for i in github.open_issues() if marker_service(i["body"]) == service]


def test_drift_appears_opens_one_issue_per_drifting_service(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
):
    code, doc, err = sync(capsys)
    assert code == 1, doc.get("issues")  # phase4 FAILs; the sync itself worked
    assert doc["issues"]["ok"] is True
    actions = {a["service"]: a["action"] for a in doc["issues"]["actions"]}
    assert actions == {
        "phase3-processors": "none",
        "phase4-processors": "open",
        "prediction-coordinator": "skip",  # INCONCLUSIVE: neither opened nor closed
        "prediction-worker": "open",
        "grading-service": "none",
    }
    assert len(github.open_issues()) == 2
    (phase4,) = issue_of(github, "phase4-processors")
    assert phase4["title"] == "Deployment drift: phase4-processors"
    assert [lab["name"] for lab in phase4["labels"]] == [LABEL]
    assert "phase4: fix lines join" in phase4["body"] and "FAIL" in phase4["body"]
    assert LABEL in github.labels  # created once when missing
    assert TOKEN not in json.dumps(doc) and TOKEN not in err


def test_drift_persists_updates_without_duplicates_and_comments_at_most_daily(
    world: World,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    sync(capsys)
    (first,) = issue_of(github, "phase4-processors")
    number = first["number"]

    # An hour later a new phase4 commit lands: the body follows, no comment yet.
    monkeypatch.setenv("NBAOPS_NOW", "2026-03-01T13:00:00Z")
    github.now = "2026-03-01T13:00:00Z"
    commit(
        world.repo, {"services/phase4/app.py": "p4 v4\n"}, "phase4: newest", "2026-03-01T12:30:00Z"
    )
    code, doc, _ = sync(capsys, service="phase4-processors")
    (action,) = doc["issues"]["actions"]
    assert action == {**action, "action": "update", "number": number}
    assert len(issue_of(github, "phase4-processors")) == 1
    assert "phase4: newest" in github.issues[number]["body"]
    assert github.comments[number] == []

    # A day after the issue opened: one "still drifting" comment, then none again today.
    monkeypatch.setenv("NBAOPS_NOW", "2026-03-02T12:05:00Z")
    github.now = "2026-03-02T12:05:00Z"
    sync(capsys, service="phase4-processors")
    sync(capsys, service="phase4-processors")
    assert len(github.comments[number]) == 1
    assert "Still drifting" in github.comments[number][0]["body"]
    assert len(issue_of(github, "phase4-processors")) == 1


def test_a_skipped_comment_names_the_configured_interval_not_a_day(github: FakeGitHub) -> None:
    """The reason said "one per day at most" whatever drift.comment_interval was."""
    import datetime as dt

    from nbaops.drift.github_issues import sync_issues
    from nbaops.drift.report import DriftReport, ServiceDrift

    now = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
    drift = ServiceDrift("prediction-worker", Verdict.FAIL, "1 pending commit", ("w/",), 21600.0)
    report = DriftReport([drift], "a" * 40, "main", 21600.0, now, "prod")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": github.url}
    client = GitHubClient(GitHubSettings.from_env(env))
    interval = dt.timedelta(hours=12)
    opened = sync_issues(report, client, now=now, label=LABEL, comment_interval=interval)
    assert [a.action for a in opened.actions] == ["open"]
    again = sync_issues(report, client, now=now, label=LABEL, comment_interval=interval)
    assert [(a.action, a.reason) for a in again.actions] == [
        ("update", "still drifting; body updated, comment skipped (one per 12h at most)")
    ]


def test_every_page_is_read_when_the_server_pages_smaller_than_asked(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # Paging stopped at the first page shorter than per_page: the service's issue on a
    # later page was not seen and a second one was opened.
    for n in range(70):  # labelled issues of other origins, older than ours
        github._add_issue({"title": f"other {n}", "body": "", "labels": [LABEL]})
    assert sync(capsys)[0] == 1
    (first,) = issue_of(github, "phase4-processors")
    assert first["number"] > 60  # on the third page of 30
    github.page_cap = 30
    code, report, _ = sync(capsys)
    assert code == 1
    assert [i["number"] for i in issue_of(github, "phase4-processors")] == [first["number"]]
    action = next(a for a in report["issues"]["actions"] if a["service"] == "phase4-processors")
    assert action["action"].startswith("update") and action["number"] == first["number"]


def test_report_files_are_redacted_like_the_output(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GitHub's error echoed the token; only stdout was redacted, and the workflow copies
    # the Markdown file into the job summary.
    github.fail_status = 422
    github.fail_message = f"Bearer {TOKEN} is not allowed here"
    files = {"json_file": tmp_path / "drift.json", "markdown_file": tmp_path / "drift.md"}
    code, doc, err = sync(capsys, **{k: str(v) for k, v in files.items()})
    assert code == 3 and doc["issues"]["errors"]
    for path in files.values():
        text = path.read_text(encoding="utf-8")
        assert "is not allowed here" in text and TOKEN not in text, path


def test_a_broken_reply_is_a_sync_error_and_the_report_is_kept(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reply cut short (IncompleteRead) was an internal error: the report was lost.
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def cut_short() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n[{"a":')
            conn.close()

    threading.Thread(target=cut_short, daemon=True).start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    try:
        code, doc, _err = sync(capsys)
    finally:
        server.close()
    assert code == 3 and doc["drift_verdict"] == "FAIL"
    assert "a broken HTTP reply (IncompleteRead)" in doc["issues"]["errors"][0]


def test_back_in_sync_closes_the_issue_with_a_comment(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
):
    sync(capsys)
    (issue,) = issue_of(github, "prediction-worker")
    world.seed("prediction-worker", (world.commits["c0"], 0), (world.commits["c4"], 100))
    code, doc, _ = sync(capsys, service="prediction-worker")
    assert code == 0 and doc["verdict"] == "PASS"
    assert doc["issues"]["actions"][0]["action"] == "close"
    closed = github.issues[issue["number"]]
    assert closed["state"] == "closed" and closed["state_reason"] == "completed"
    assert "Back in sync" in github.comments[issue["number"]][-1]["body"]
    # The other service's issue is untouched by a --service run.
    assert len(issue_of(github, "phase4-processors")) == 1


def test_a_close_that_failed_is_retried_without_a_second_comment(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # The comment went first: each failed close (retried next run) posted it again.
    sync(capsys)
    (issue,) = issue_of(github, "prediction-worker")
    world.seed("prediction-worker", (world.commits["c0"], 0), (world.commits["c4"], 100))
    github.fail_status, github.fail_methods = 500, {"PATCH"}
    for _ in range(2):
        assert sync(capsys, service="prediction-worker")[0] == 3
    github.fail_status = None
    assert sync(capsys, service="prediction-worker")[0] == 0
    assert github.issues[issue["number"]]["state"] == "closed"
    comments = [c["body"] for c in github.comments[issue["number"]]]
    assert sum("Back in sync" in body for body in comments) == 1


def test_dry_run_prints_the_plan_and_changes_nothing(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
):
    code, doc, _ = sync(capsys, dry_run=True)
    assert doc["issues"]["dry_run"] is True
    assert {a["service"] for a in doc["issues"]["actions"] if a["action"] == "open"} == {
        "phase4-processors",
        "prediction-worker",
    }
    assert github.mutations() == []
    # The table says "would open".
    capsys.readouterr()
    with pytest.raises(Exit):
        check_drift(InvokeContext(), sync_issues=True, dry_run=True)
    assert "would open" in capsys.readouterr().out


def test_github_5xx_exits_3_and_keeps_the_report(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    github.fail_status = 502
    report_file = tmp_path / "drift.md"
    code, doc, err = sync(capsys, markdown_file=str(report_file))
    assert code == 3
    assert doc["verdict"] == "ERROR" and doc["drift_verdict"] == "FAIL"
    assert doc["issues"]["ok"] is False
    assert "HTTP 502" in doc["issues"]["errors"][0]
    # The drift report is intact in the output and in the file.
    assert {s["service"]: s["verdict"] for s in doc["services"]}["phase4-processors"] == "FAIL"
    assert "phase4: fix lines join" in report_file.read_text(encoding="utf-8")
    assert TOKEN not in json.dumps(doc) and TOKEN not in err


def test_5xx_on_writes_after_successful_listing_is_reported_per_service(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
):
    github.fail_status = 500
    github.fail_methods = {"POST"}
    code, doc, _ = sync(capsys)
    assert code == 3
    errors = {a["service"] for a in doc["issues"]["actions"] if a["action"] == "error"}
    assert errors == {"phase4-processors", "prediction-worker"}


def test_settings_come_from_the_environment_and_hide_the_token() -> None:
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}
    settings = GitHubSettings.from_env(env)
    assert settings.api_url == "https://api.github.com"
    assert TOKEN not in repr(settings) and TOKEN not in repr(GitHubClient(settings))
    with pytest.raises(Exception, match="owner/name"):
        GitHubSettings.from_env({**env, "GITHUB_REPOSITORY": "nope"})


@pytest.mark.parametrize(
    "token",
    [f"{TOKEN}\n{TOKEN}", f"{TOKEN[:10]}\u2019{TOKEN[10:]}", f"{TOKEN[:10]}\r{TOKEN[10:]}"],
    ids=["newline", "non-ascii", "carriage-return"],
)
def test_a_token_no_header_can_carry_is_bad_input_before_anything_runs(token: str) -> None:
    """A GITHUB_TOKEN holding a newline or a character outside ASCII (two secrets pasted
    into one, a typographic quote) passed the settings check; http.client then refused the
    Authorization header mid-sync (ValueError "Invalid header value", UnicodeEncodeError),
    an internal error after the drift was measured. It is now a UsageError (exit 2) when
    the settings are read, naming the variable, never the value."""
    from nbaops.errors import UsageError

    with pytest.raises(UsageError, match="^GITHUB_TOKEN") as raised:
        GitHubSettings.from_env({"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": REPO})
    assert TOKEN[:8] not in str(raised.value) and TOKEN[-8:] not in str(raised.value)


def test_bad_credentials_are_a_github_error_without_the_token(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
):
    import os

    settings = GitHubSettings.from_env(
        {
            "GITHUB_TOKEN": "wrong-token-value",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": os.environ["GITHUB_API_URL"],
        }
    )
    with pytest.raises(GitHubError, match="HTTP 401: Bad credentials") as info:
        GitHubClient(settings).list_issues(LABEL)
    assert "wrong-token-value" not in str(info.value)


def test_issues_sync_from_a_saved_report_without_cloud_calls(
    world: World, github: FakeGitHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    """The workflow measures in one job (cloud credentials) and syncs in another (token)."""
    from nbaops.local.standin import StandIn

    saved = tmp_path / "drift.json"
    capsys.readouterr()
    with pytest.raises(Exit):
        check_drift(InvokeContext(), json_file=str(saved))
    measured = json.loads(saved.read_text(encoding="utf-8"))
    assert github.requests == []

    cloud_calls = len(StandIn.requests(world.home))
    code, doc, _ = sync(capsys, from_report=str(saved))
    assert len(StandIn.requests(world.home)) == cloud_calls  # no Cloud Run request
    assert code == 1 and doc["issues"]["ok"] is True
    assert doc["services"] == measured["services"]  # the report round-trips unchanged
    assert {marker_service(i["body"]) for i in github.open_issues()} == {
        "phase4-processors",
        "prediction-worker",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"verdict": "PASS"}', "not a drift report: services"),
        ('{"services": [{"service": "x"}]}', "not a drift report: services[0]"),
        # NaN/inf crashed the age rendering with a traceback (exit 1), or printed bare NaN
        (
            '{"services": [], "window_s": NaN, "generated_at": "2026-12-01T00:00:00Z"}',
            "not a drift report: window_s: not a finite number of seconds",
        ),
        (
            '{"services": [], "window_s": 1e999, "generated_at": "2026-12-01T00:00:00Z"}',
            "not a drift report: window_s: not a finite number of seconds",
        ),
    ],
)
def test_bad_saved_report_exits_2_and_touches_nothing(
    world: World,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
    message: str,
):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    code, doc, err = sync(capsys, from_report=str(bad))
    assert code == 2 and message in err
    assert github.requests == []


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_a_saved_report_that_is_not_a_regular_file_exits_2_before_reading(
    world: World,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    kind: str,
):
    """--from-report /dev/zero was read until memory ran out ("internal error: MemoryError",
    exit 3), and a FIFO without a writer blocked for ever: the path is checked first."""
    path = {"device": Path("/dev/zero"), "fifo": tmp_path / "pipe", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    code, doc, err = sync(capsys, from_report=str(path))
    assert code == 2, err
    assert "--from-report:" in err and ("not a regular file" in err or "folder" in err), err
    assert github.requests == []


@pytest.mark.parametrize(
    "name",
    [
        "retired-service",  # renamed or removed: its issue would be opened and never closed
        "Phase4-Processors",  # the marker pattern never finds it again: a new issue each run
        "phase4-processors -->\n@team",  # would end the hidden marker and ping in the body
    ],
)
def test_a_saved_report_naming_a_service_not_in_the_config_exits_2_and_touches_nothing(
    world: World,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
):
    """Service names read from --from-report go into issue markers and titles: one the
    config does not name is refused before GitHub is contacted."""
    saved = tmp_path / "drift.json"
    capsys.readouterr()
    with pytest.raises(Exit):
        check_drift(InvokeContext(), json_file=str(saved))
    doc = json.loads(saved.read_text(encoding="utf-8"))
    doc["services"][0]["service"] = name
    saved.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = sync(capsys, from_report=str(saved))
    assert code == 2 and "not in the config" in err, err
    assert github.requests == []


def test_doctor_proves_the_token_can_open_issues(
    world: World, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbaops.doctor import check_github

    ctx = Context.create("prod", Path(__file__).resolve().parents[2] / "nbaops.yaml")
    ok = check_github(ctx)
    assert ok.verdict is Verdict.PASS and REPO in ok.message
    github.permissions = {"admin": False, "push": False, "triage": False, "pull": True}
    read_only = check_github(ctx)
    assert read_only.verdict is Verdict.FAIL and "only read" in read_only.message
    assert TOKEN not in str(read_only.to_json())
    assert github.mutations() == []  # the preflight only reads
    monkeypatch.delenv("GITHUB_TOKEN")
    assert check_github(ctx).verdict is Verdict.WARN


def test_doctor_never_passes_a_token_whose_permissions_github_does_not_name(
    world: World, github: FakeGitHub
) -> None:
    """An installation token (a GitHub App's; Actions' GITHUB_TOKEN) gets no
    ``permissions`` in GitHub's repository reply (semantic-release/github lib/verify.js,
    issue #182): the check said PASS, "the token can open issues", having measured
    nothing. It measures what a read can: INCONCLUSIVE with the reason when the token
    reads the issues, FAIL when GitHub refuses even that; never PASS, and only reads."""
    from nbaops.doctor import check_github

    ctx = Context.create("prod", Path(__file__).resolve().parents[2] / "nbaops.yaml")
    github.permissions = None
    github.installation = True
    unknown = check_github(ctx)
    assert unknown.verdict is Verdict.INCONCLUSIVE, unknown.message
    assert "installation token" in unknown.message and "issues: write" in unknown.details["fix"]
    # push false for an installation is no proof either: still not a FAIL
    github.permissions = {"admin": False, "push": False, "triage": False, "pull": False}
    assert check_github(ctx).verdict is Verdict.INCONCLUSIVE
    github.issues_readable = False
    refused = check_github(ctx)
    assert refused.verdict is Verdict.FAIL and "not accessible by integration" in refused.message
    github.installation = False
    github.permissions = None  # a user's token whose reply names nothing: not known
    assert check_github(ctx).verdict is Verdict.INCONCLUSIVE
    assert github.mutations() == []


def test_doctor_judges_a_user_token_by_its_scopes_and_a_fine_grained_one_by_a_read(
    world: World, github: FakeGitHub
) -> None:
    """``permissions`` in GitHub's repository reply is the role of the user behind the
    token, not what the token may do: a classic token whose ``X-OAuth-Scopes`` hold
    neither ``repo`` nor (public repository) ``public_repo`` can only read ("scopes ... do
    not grant any additional permission beyond that which the user already has"), and a
    fine-grained token (``X-Accepted-GitHub-Permissions``, no scopes) has its own
    permissions, not named. Both were PASS, "the token can open issues"."""
    from nbaops.doctor import check_github

    ctx = Context.create("prod", Path(__file__).resolve().parents[2] / "nbaops.yaml")
    github.repo_headers = {"X-OAuth-Scopes": "read:org, gist"}
    no_scope = check_github(ctx)
    assert no_scope.verdict is Verdict.FAIL and "read:org, gist" in no_scope.message
    github.private = False
    github.repo_headers = {"X-OAuth-Scopes": "public_repo"}
    assert check_github(ctx).verdict is Verdict.PASS  # public_repo writes a public one
    github.private = True
    assert check_github(ctx).verdict is Verdict.FAIL  # ... not a private one
    github.repo_headers = {"X-OAuth-Scopes": "repo, workflow"}
    assert check_github(ctx).verdict is Verdict.PASS
    github.repo_headers = {"X-Accepted-GitHub-Permissions": "metadata=read"}
    fine = check_github(ctx)
    assert fine.verdict is Verdict.INCONCLUSIVE and "fine-grained" in fine.message, fine.message
    github.issues_readable = False
    refused = check_github(ctx)
    assert refused.verdict is Verdict.FAIL and "personal access token" in refused.message
    github.permissions = {"admin": False, "push": False, "triage": False, "pull": True}
    assert "only read" in check_github(ctx).message  # its user may only read: nor may it
    assert github.mutations() == []
