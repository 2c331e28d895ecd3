"""Every environment variable nbaops reads, declared once and read only here (:func:`read`).

:data:`VARIABLES` (nbaops' own ``NBAOPS_*``) and :data:`OTHER_VARIABLES` (set by CI or
the shell) are the lists the docs show (``docs/reference/environment.md``);
``tests/static/test_environment.py`` fails when a module reads a declared variable
itself or a variable is used anywhere (code, tests, nox, docs) without a declaration here.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbaops.errors import UsageError

VARIABLES: dict[str, str] = {
    "NBAOPS_CONFIG": "The config file (default: `nbaops.yaml` at the project root).",
    "NBAOPS_PROFILE": "The profile when `--profile` is not given (default: the config's "
    "`default_profile`, else `local`).",
    "NBAOPS_ROOT": "The project root, whose `schemas/` declares the tables (default: the "
    "config's folder when it holds `schemas/`, else the nearest folder at or above the "
    "current one holding `nbaops.yaml`).",
    "NBAOPS_HOME": "The folder of all local state: sandbox, history, locks (default: "
    "`.nbaops/` at the project root).",
    "NBAOPS_DATA": "The real NBA data folder (default: `../shared/data/nba` beside the "
    "repository).",
    "NBAOPS_NOW": "Pins nbaops' clock to an ISO 8601 timestamp, e.g. "
    "`2026-11-25T15:00:00Z` or `2026-11-25T10:00:00-05:00` (tests, rehearsals); without "
    "an offset it is UTC, not Eastern.",
    "NBAOPS_BQ_ENDPOINT": "A BigQuery API endpoint for gcp-kind profiles (an emulator; "
    "anonymous credentials).",
    "NBAOPS_SECRETMANAGER_ENDPOINT": "A Secret Manager API endpoint (a local fake; "
    "anonymous credentials).",
    "NBAOPS_CLOUDBUILD_ENDPOINT": "A Cloud Build API endpoint for a deploy's image build on "
    "a gcp-kind profile (a local fake; anonymous credentials).",
    "NBAOPS_WAREHOUSE_LOCK_TIMEOUT": "Seconds to wait for the local DuckDB warehouse file "
    "lock (default 30).",
    "NBAOPS_CRASH_AT": "Test hook: `WHERE:SIGNAL` kills a deploy at a journal point "
    "(nbaops.deploy.journal).",
    "NBAOPS_CRASH_TRACE": "Test hook: a file the deploy journal appends each crash point to.",
    "NBAOPS_BQ_EMULATOR": "Set by `python -m nbaops.bq_emulator` for the command it runs: "
    "the emulator's endpoint (tests/integration_bq).",
    "NBAOPS_PREDEPLOY_TESTS": "Set to 1 for the test command pre-deploy runs.",
    "NBAOPS_REGRESSION_REPORTS": "Where `nox -s regression` keeps the golden suite's reports.",
    "NBAOPS_BENCH_SKIP_NOX_TESTS": "Set to 1 to leave the `nox -s tests` row out of "
    "`nox -s bench`.",
}


# Variables set by CI or the shell rather than for nbaops, read here too.
OTHER_VARIABLES: dict[str, str] = {
    "GITHUB_STEP_SUMMARY": "GitHub Actions' job summary file: `inv system-health` and "
    "`python -m nbaops.regression.ci` append their Markdown summary to it when it is set.",
    "GITHUB_TOKEN": "Token for `inv check-drift --sync-issues` (issues: write); masked in "
    "every output.",
    "GITHUB_REPOSITORY": "`owner/name` whose issues `--sync-issues` keeps.",
    "GITHUB_API_URL": "GitHub API base URL (default `https://api.github.com`).",
    "GITHUB_ACTOR": "Who holds a deploy lease when run in CI (else `USER`).",
    "USER": "Who holds a deploy lease outside CI.",
    "SLACK_WEBHOOK_URL": "The Slack incoming webhook; wins over the configured store; "
    "masked in every output.",
    "FORCE_COLOR": "Set (non-empty): reports render as on a terminal (Rich, colour) even "
    "when stdout is a pipe or file.",
    "TTY_COMPATIBLE": "Set (non-empty): the same as `FORCE_COLOR` for the report console.",
    "PRE_COMMIT_FROM_REF": "Set by `pre-commit run --from-ref A --to-ref B` for the hooks "
    "it runs: `bq-schema-breaking` compares with it when `--against` is not given (else "
    "`HEAD`).",
    "GOOGLE_APPLICATION_CREDENTIALS": "A credentials file for Application Default "
    "Credentials (prod profiles; else gcloud's ADC); named, never shown, when unusable.",
}


def step_summary_path() -> str | None:
    """``$GITHUB_STEP_SUMMARY`` (GitHub Actions' job summary file); None outside a workflow."""
    return read("GITHUB_STEP_SUMMARY")


def read(name: str) -> str | None:
    """The value of a declared variable; None when it is unset or empty.

    Raises:
        KeyError: ``name`` is not declared in :data:`VARIABLES` or :data:`OTHER_VARIABLES`.
    """
    if name not in VARIABLES and name not in OTHER_VARIABLES:
        raise KeyError(f"{name} is not declared in nbaops.environment")
    return os.environ.get(name) or None


def iso_timestamp(text: str) -> dt.datetime:
    """ISO 8601 text (``Z`` allowed) as a datetime, naive when it names no offset: the one
    reader of timestamp text (:func:`nbaops.clock.as_utc` makes it UTC). It lives here, below
    the clock, because the clock reads ``NBAOPS_NOW`` through this module.

    Raises:
        ValueError: not ISO 8601.
    """
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


MAX_WAIT_S = 86400.0  # a day: longer is a typo, not a wait anyone means


def _seconds(text: str) -> float:
    value = float(text)
    if not text.strip().isascii() or not math.isfinite(value) or not 0 < value <= MAX_WAIT_S:
        raise ValueError(text)
    return value


class _Unusable(ValueError):
    """A value of the right form that cannot be used; its message says why."""


def _path(text: str) -> Path:
    """A file or folder, ``~`` expanded as a shell would (a value quoted in a shell or set
    by CI keeps its ``~``); ``~name`` of no known user is refused, not an internal error."""
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:  # "Could not determine home directory."
        raise _Unusable(str(exc)) from None


def _folder(text: str) -> Path:
    """A folder, or a path nbaops can create one at: its nearest existing ancestor is a
    folder it may write in. Nothing is left created here: bad input changes nothing.

    Whether a folder can be made there is tried (a temporary folder made and removed at
    once), not guessed with ``os.access``, which says yes to root in ``/proc`` or
    ``/sys``: ``NBAOPS_HOME=/proc/nbaops`` passed, then every check was an ERROR.
    """
    path = _path(text)
    try:
        path.resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # a symlink loop: exists() is just False
        raise _Unusable(f"it cannot be resolved ({exc})") from None
    if path.exists():
        if not path.is_dir():
            raise _Unusable("a file of that name exists")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _Unusable(f"it cannot be created below the file {ancestor}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _Unusable(f"it cannot be created: {ancestor} is not writable")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".nbaops-home-", dir=ancestor))
    except OSError as exc:
        raise _Unusable(f"it cannot be created in {ancestor}: {exc.strerror or exc}") from None
    return path


def _moment(text: str) -> dt.datetime:
    """``NBAOPS_NOW``: an ISO 8601 timestamp within years 1900-2999 (the clock reaches days
    and seasons around it: year 1 or 9999 made every check an OverflowError ERROR)."""
    moment = iso_timestamp(text)
    if not 1900 <= moment.year <= 2999:
        raise _Unusable(f"year {moment.year}")
    return moment


def _endpoint(text: str) -> str:
    """An API endpoint such as ``http://127.0.0.1:9050``: a scheme, a host, a valid port
    (``127.0.0.1:9050`` without ``http://`` reached the client as "InvalidSchema")."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError when not a number in 0-65535
    except ValueError as exc:
        raise _Unusable(str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Unusable("it needs http:// or https://, a host and a port")
    del port
    return text


# The variables whose value has a form: how it is parsed, and what it must be. :func:`check`
# parses them all before a task runs, so a bad value is bad input (one line, exit 2), not
# an ERROR verdict from whichever check happens to read it first.
TYPED: dict[str, tuple[Callable[[str], Any], str]] = {
    "NBAOPS_NOW": (_moment, "an ISO 8601 timestamp of years 1900-2999"),
    "NBAOPS_WAREHOUSE_LOCK_TIMEOUT": (_seconds, "a number of seconds above 0, at most 86400"),
    "NBAOPS_CONFIG": (_path, "a path"),
    "NBAOPS_ROOT": (_path, "a path"),
    "NBAOPS_HOME": (_folder, "a folder nbaops can use"),
    "NBAOPS_DATA": (_path, "a path"),
    "NBAOPS_BQ_ENDPOINT": (_endpoint, "an endpoint URL such as http://127.0.0.1:9050"),
    "NBAOPS_SECRETMANAGER_ENDPOINT": (_endpoint, "an endpoint URL such as http://127.0.0.1:9060"),
    "NBAOPS_CLOUDBUILD_ENDPOINT": (_endpoint, "an endpoint URL such as http://127.0.0.1:9070"),
}


def typed(name: str) -> Any:
    """A variable of :data:`TYPED`, parsed (``NBAOPS_NOW``: a datetime; seconds: a float;
    a file or folder: a path, stripped and ``~`` expanded); None when it is unset, empty
    or blank.

    Raises:
        UsageError: its value does not parse (naming the variable).
    """
    parse, what = TYPED[name]
    text = read(name)
    if text is None or not text.strip():  # blank is unset, as empty is (not "." for a folder)
        return None
    try:
        return parse(text.strip())
    except _Unusable as exc:
        raise UsageError(f"{name}: {text!r} is not {what}: {exc}") from None
    except ValueError:
        raise UsageError(f"{name}: {text!r} is not {what}") from None


def check() -> None:
    """Parse every typed variable that is set.

    Raises:
        UsageError: the first one whose value does not parse.
    """
    for name in TYPED:
        typed(name)


def render_reference(header: str) -> str:
    """``docs/reference/environment.md``: every variable and what it does."""
    lines = [header, "# Environment variables", "", "| variable | meaning |", "| --- | --- |"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in VARIABLES.items()]
    typed = " or ".join(f"`{name}`" for name in TYPED)
    lines += [
        "",
        f"A malformed value of {typed} stops every task before it runs: one line naming "
        "the variable, exit 2. A value is read without surrounding white space, a blank "
        "one is unset, and a path's `~` is expanded (a value quoted in a shell or set by CI "
        "keeps it).",
    ]
    lines += ["", "Also read, when CI or the shell sets them:", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in OTHER_VARIABLES.items()]
    return "\n".join(lines) + "\n"
