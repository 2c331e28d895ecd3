"""Every ``NBAOPS_*`` environment variable, declared once and read only here (:func:`read`).

:data:`VARIABLES` is the list the docs show (``docs/reference/environment.md``);
``tests/static/test_environment.py`` fails when a module reads an ``NBAOPS_*`` variable
itself or a variable is used anywhere (code, tests, nox, docs) without a declaration here.
"""

from __future__ import annotations

import os

VARIABLES: dict[str, str] = {
    "NBAOPS_CONFIG": "The config file (default: `nbaops.yaml` at the project root).",
    "NBAOPS_PROFILE": "The profile when `--profile` is not given (default: the config's "
    "`default_profile`, else `local`).",
    "NBAOPS_ROOT": "The project root (default: the nearest folder holding `nbaops.yaml`).",
    "NBAOPS_HOME": "The folder of all local state: sandbox, history, locks (default: "
    "`.nbaops/` at the project root).",
    "NBAOPS_DATA": "The real NBA data folder (default: `../shared/data/nba` beside the "
    "repository).",
    "NBAOPS_NOW": "Pins nbaops' clock to an ISO 8601 timestamp, e.g. "
    "`2026-11-25T15:00:00Z` (tests, rehearsals).",
    "NBAOPS_BQ_ENDPOINT": "A BigQuery API endpoint for gcp-kind profiles (an emulator; "
    "anonymous credentials).",
    "NBAOPS_SECRETMANAGER_ENDPOINT": "A Secret Manager API endpoint (a local fake; "
    "anonymous credentials).",
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


# Variables set by CI rather than by the user, read here too.
CI_VARIABLES: dict[str, str] = {
    "GITHUB_STEP_SUMMARY": "GitHub Actions' job summary file: `inv system-health` and "
    "`python -m nbaops.regression.ci` append their Markdown summary to it when it is set.",
}


def step_summary_path() -> str | None:
    """``$GITHUB_STEP_SUMMARY`` (GitHub Actions' job summary file); None outside a workflow."""
    return os.environ.get("GITHUB_STEP_SUMMARY") or None


def read(name: str) -> str | None:
    """The value of a declared variable; None when it is unset or empty.

    Raises:
        KeyError: ``name`` is not declared in :data:`VARIABLES`.
    """
    if name not in VARIABLES:
        raise KeyError(f"{name} is not declared in nbaops.environment.VARIABLES")
    return os.environ.get(name) or None


def render_reference(header: str) -> str:
    """``docs/reference/environment.md``: every variable and what it does."""
    lines = [header, "# Environment variables", "", "| variable | meaning |", "| --- | --- |"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in VARIABLES.items()]
    lines += ["", "Also read, when CI sets them:", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in CI_VARIABLES.items()]
    return "\n".join(lines) + "\n"
