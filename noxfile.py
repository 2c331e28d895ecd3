"""Nox sessions: `nox` runs the default set (`nox.options.sessions` below: lint, typecheck,
tests, regression, integration-bq, docs).

Each session installs the project with its pinned dev dependencies into its own
environment (uv when available). Extra arguments after `--` reach the tool.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typecheck", "tests", "regression", "integration-bq", "docs"]

PYTHON = "3.11"


def install_project(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


# ---------------------------------------------------------------- quality gates


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Run every pre-commit hook (ruff included) on all files, then the schema-breaking
    hook against where this branch left the main line, then the layer contract."""
    install_project(session)
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure", *session.posargs)
    # --all-files compares the schema files with HEAD, i.e. with themselves once committed:
    # a pull request that dropped a column passed. Judge them against the fork point.
    base = fork_point()
    if base is not None:
        session.run(
            "pre-commit", "run", "bq-schema-breaking", "--from-ref", base, "--to-ref", "HEAD"
        )
    session.run("lint-imports")  # pyproject [tool.importlinter]: kernel -> ... -> cli


def fork_point() -> str | None:
    """Where HEAD left ``origin/<base>`` (a pull request's ``GITHUB_BASE_REF``, else main);
    None when there is no such ref or HEAD is on it (nothing of the branch to judge)."""
    import subprocess

    def git(*args: str) -> str | None:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    ref = f"origin/{os.environ.get('GITHUB_BASE_REF') or 'main'}"
    if git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        return None
    fork, head = git("merge-base", ref, "HEAD"), git("rev-parse", "HEAD")
    return fork if fork and fork != head else None


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, hooks, tasks, the benchmarks and this file."""
    install_project(session)
    session.run("mypy", "nbaops", "hooks", "benchmarks", "tasks.py", "noxfile.py", *session.posargs)


# ---------------------------------------------------------------- tests


def bytecode_cache(session: nox.Session) -> dict[str, str]:
    """Compiled bytecode kept in the session's virtualenv, outside the source tree.

    Every xdist worker and every subprocess a test starts (``python -c`` import probes,
    hooks, forked deploys) imports google-cloud, DuckDB and SQLGlot; without a bytecode
    cache each of them compiles those from source again (an import of the adapters took
    3x the CPU). ``PYTHONPYCACHEPREFIX`` writes the cache there instead of ``__pycache__``
    folders next to the sources; the empty ``PYTHONDONTWRITEBYTECODE`` lifts an inherited
    ``=1`` (CPython treats an empty value as unset).
    """
    # Not session.create_tmp(): that also points TMPDIR into the checkout, and tests that
    # need "not inside a git repository" would then find this one.
    prefix = Path(session.virtualenv.location) / "pycache"
    return {"PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": ""}


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit, local integration and reliability tests with branch coverage."""
    install_project(session)
    session.run(
        "pytest",
        "tests/unit",
        "tests/integration",
        "tests/static",
        "tests/reliability",
        "tests/property",
        # One worker more than cores: about a fifth of the suite waits (subprocesses, local
        # servers, bounded timeouts), and on 2 cores a third worker took the session from
        # 6 min 19 s to 5 min 15 s (2026-12-01, same clone, coverage on).
        f"--numprocesses={(os.cpu_count() or 1) + 1}",
        # Tests last from milliseconds to ~10 s: an idle worker steals queued tests from the
        # other instead of waiting out its tail (pytest-xdist docs/distribution.rst).
        "--dist=worksteal",
        "--cov=nbaops",
        "--cov=hooks",
        "--cov-branch",
        "--cov-report=term-missing:skip-covered",
        *session.posargs,
        env=bytecode_cache(session),
    )
    # The critical paths must each stay >= 90% branch-covered: one gate per group, so a drop
    # in one of them fails even when the others would carry the aggregate.
    for group, include in COVERAGE_GATES.items():
        session.log(f"coverage gate: {group} >= 90%")
        session.run("coverage", "report", "--fail-under=90", f"--include={include}")


COVERAGE_GATES = {
    "deploy": (
        "nbaops/deploy/deploy.py,nbaops/deploy/lock.py,nbaops/deploy/observe.py,"
        "nbaops/deploy/outcome.py,nbaops/deploy/predeploy.py,nbaops/deploy/heartbeat.py,"
        "nbaops/deploy/journal.py,nbaops/deploy/recovery.py,nbaops/deploy/signals.py,"
        "nbaops/deploy/plan.py,nbaops/deploy/deploy_report.py,nbaops/deploy/inflight.py,"
        "nbaops/deploy/request.py,nbaops/deploy/settle.py,nbaops/deploy/checklist.py,"
        "nbaops/deploy/test_command.py,"
        "nbaops/canary/*"
    ),
    "rollback": "nbaops/deploy/rollback.py,nbaops/deploy/restore.py",
    "checks": "nbaops/checks/*",
    "schema rules": (
        "nbaops/bqschema/breaking.py,nbaops/bqschema/lint_rules.py,nbaops/bqschema/lint.py"
    ),
}


@nox.session(python=PYTHON)
def regression(session: nox.Session) -> None:
    """Prediction-quality gate on the committed golden set; prints the HTML report path."""
    install_project(session)
    reports = "reports/regression"
    session.run(
        "pytest",
        "tests/regression",
        f"--junitxml={reports}/pytest-junit.xml",
        *session.posargs,
        env={"NBAOPS_REGRESSION_REPORTS": reports, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    # Fails when any test skipped (a gate that skipped gated nothing); prints the report
    # path; writes the gate table to reports/regression/summary.md and $GITHUB_STEP_SUMMARY.
    session.run("python", "-m", "nbaops.regression.ci", "--reports", reports)


# bqemulator pins its own DuckDB and SQLGlot, so it gets a virtualenv of its own; offline it
# needs DuckDB's spatial extension from PyPI, matching its DuckDB (nbaops.bq_emulator).
BQEMULATOR_PINS = (
    "bqemulator==1.4.0",
    "duckdb==1.5.5",
    "duckdb-extension-spatial==1.5.5",
    "numpy==2.4.6",
)


@nox.session(name="integration-bq", python=PYTHON)
def integration_bq(session: nox.Session) -> None:
    """BigQuery adapter through the real client against bqemulator on 127.0.0.1."""
    install_project(session)
    base = Path(session.create_tmp())
    emulator_python = base / "bqemulator-venv" / "bin" / "python"
    if not emulator_python.exists():
        session.run("uv", "venv", "--python", PYTHON, str(emulator_python.parent.parent))
    session.run("uv", "pip", "install", "--python", str(emulator_python), *BQEMULATOR_PINS)
    session.run(
        "python",
        "-m",
        "nbaops.bq_emulator",
        "--python",
        str(emulator_python),
        "--workdir",
        str(base / "bqemulator-run"),
        "--",
        "pytest",
        "tests/integration_bq",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (medians, side-by-side ratios) -> reports/bench.json and reports/bench.md."""
    install_project(session)
    session.install("check-jsonschema==0.39.0")  # the comparison tool: this session only
    session.run("python", "-m", "benchmarks.run", *session.posargs)


# ---------------------------------------------------------------- docs


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Check the generated reference is current, then `mkdocs build --strict` into site/."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "nbaops.docs_reference", "--check")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)
