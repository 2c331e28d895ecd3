"""Shared fixtures. Sections belong to their owners; append yours below the last one."""

from __future__ import annotations

# ---------------------------------------------------------------- Cloud Run / Logging stand-in
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nbaops.config import ProfileConfig
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.standin import StandIn

if TYPE_CHECKING:
    from nbaops.adapters.health import HealthProber

STANDIN_PROJECT = "nbaops-local"
STANDIN_REGION = "us-west2"
STANDIN_SERVICES = (
    "phase3-processors",
    "phase4-processors",
    "prediction-coordinator",
    "prediction-worker",
    "grading-service",
)
STANDIN_NOW = dt.datetime(2024, 11, 25, 15, 0, tzinfo=dt.UTC)


def fake_sha(text: str) -> str:
    """A deterministic 40-hex commit id for test data."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def standard_seed(name: str) -> SeedService:
    """Two ready revisions (v1 older, v2 serving 100% via LATEST), commit-sha labelled."""
    return SeedService(
        name=name,
        revisions=[
            SeedRevision(
                image=f"us-west2-docker.pkg.dev/p/services/{name}:v1",
                labels={"commit-sha": fake_sha(f"{name}-1")},
                env={"MODEL_VERSION": "v8"},
                create_time=STANDIN_NOW - dt.timedelta(days=3),
            ),
            SeedRevision(
                image=f"us-west2-docker.pkg.dev/p/services/{name}:v2",
                labels={"commit-sha": fake_sha(f"{name}-2")},
                env={"MODEL_VERSION": "v9"},
                create_time=STANDIN_NOW - dt.timedelta(days=1),
            ),
        ],
    )


@pytest.fixture
def nbaops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state folder (``NBAOPS_HOME``) so no test touches the developer's .nbaops/."""
    home = tmp_path / "nbaops-home"
    home.mkdir()
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    return home


@pytest.fixture
def local_profile() -> ProfileConfig:
    return ProfileConfig(name="local", kind="local", project=STANDIN_PROJECT, region=STANDIN_REGION)


@pytest.fixture
def standin(nbaops_home: Path) -> Iterator[StandIn]:
    """The stand-in serving the five services (seeded directly, no sandbox)."""
    seed_services(
        nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [standard_seed(n) for n in STANDIN_SERVICES]
    )
    server = StandIn.start(nbaops_home)
    yield server
    server.stop()


STANDIN_INVOKER = "nbaops-invoker@nbaops-local.iam.gserviceaccount.com"


def standin_prober(server: StandIn) -> HealthProber:
    """The local profile's prober: stand-in user ADC → generateIdToken → routed probe."""
    import functools

    from nbaops.adapters.credentials import standin_user_credentials
    from nbaops.adapters.health import HealthProber
    from nbaops.adapters.idtoken import IdTokenSource
    from nbaops.local.run_urls import local_route

    tokens = IdTokenSource(
        standin_user_credentials(server.url),
        invoker_service_account=STANDIN_INVOKER,
        iam_endpoint=server.url,
    )
    return HealthProber(tokens, route=functools.partial(local_route, server.url))


# ---------------------------------------------------------------- speed: the `fast` subset
# `pytest -m fast` is the pre-deploy subset (the local profile's deploy.test_command): the
# unit tests of the library's logic, minus what waits on processes, real data, builds or
# heavy imports. The full suite (`nox -s tests`) stays in CI. Rules, from
# `pytest --durations` on the shared dev machine (see README "Performance"):
# - only tests/unit (tests/static and the integration directories are never fast);
# - a module listed in SLOW_MODULES is not even imported under `-m fast` (its import or
#   every test in it is slow); a test listed in SLOW_TESTS is collected but not fast.
# A new unit test is fast by default: keep it under ~0.2 s or list it here with the reason.

FAST_DIRS = ("unit",)
SLOW_MODULES = {
    "test_bqschema_parse.py": "hypothesis property runs (~12 s)",
    "test_deploy_coverage_plan.py": "dry-runs every post-deploy query on a built warehouse",
    "test_fast_subset.py": "collects the test suite again in a subprocess",
    "test_docs_reference.py": "mkdocs build and `inv` subprocesses",
    "test_nba_data.py": "reads the real NBA data (three seasons)",
    "test_canary_stats.py": "simulated error-rate and latency distributions",
    "test_regression_gates.py": "1M-row tables, CSV/Parquet/HTML/JUnit files",
    "test_regression_inputs.py": "CSV/Parquet inputs through DuckDB per test",
    "test_regression_report.py": "renders whole HTML reports",
    "test_regression_stats.py": "imports scipy and statsmodels as the reference (~7 s)",
    "test_sandbox_faults.py": "generates a whole sandbox per fault",
    "test_sandbox_generate.py": "generates a whole sandbox",
    "test_warehouse_duckdb.py": "DuckDB files per test, a second process (~13 s in all)",
    "test_warehouse_sql.py": "transpiles and runs every SQL convention case (~11 s)",
}
SLOW_TESTS = {
    "test_alerts_imports.py::test_no_google_client_is_imported": "subprocess import probe",
    "test_canary_analysis.py::test_the_monitoring_client_is_imported_only_when_a_canary_is_analysed": (  # noqa: E501
        "import probe"
    ),
    "test_deploy_lease.py::test_the_heartbeat_renews_until_stopped_and_pushes_the_expiry": (
        "a real heartbeat thread"
    ),
    "test_redact.py::test_no_fragment_of_8_or_more_characters_survives": "exhaustive fragments",
    "test_checks_registry.py::test_every_check_query_filters_every_partitioned_table": (
        "transpiles every check query"
    ),
    "test_bqschema_lint.py::test_too_many_columns": "a 10,000-column schema",
    "test_cloudrun_adapter.py::test_timeout_is_bounded": "a real client timeout",
    "test_deploy_coverage_lock.py::test_force_unlock_retries_after_a_lost_race_then_gives_up": (
        "compare-and-swap retries against the stand-in"
    ),
    "test_deploy_coverage_lock.py::test_release_retries_after_a_lost_race_then_gives_up": (
        "compare-and-swap retries against the stand-in"
    ),
    "test_gitrepo.py::test_remote_main_tip_fetch_upstream_and_ahead_behind": "git clone/fetch",
    "test_hooks_bq_schema_breaking.py::test_runs_without_importing_google": "subprocess",
    "test_hooks_bq_schema_lint.py::test_runs_without_importing_google_or_sqlglot": "subprocess",
    "test_hooks_sql_schema_refs.py::test_subprocess_imports_no_google_client": "subprocess",
    "test_hooks_sql_schema_refs.py::test_this_repository_has_no_unknown_references": (
        "parses every SQL string of the repository"
    ),
    "test_sql_cache.py::test_a_warm_process_does_not_import_sqlglot": "two subprocesses",
}


def _wants_fast(config: pytest.Config) -> bool:
    markexpr = str(config.getoption("markexpr", "") or "")
    return "fast" in markexpr.replace("not fast", "")


def _fast_place(path: Path) -> tuple[str, str] | None:
    """(directory under tests/, module file name) for a test module, else None."""
    parts = path.parts
    if "tests" not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index("tests")
    rest = parts[index + 1 :]
    return (rest[0], rest[-1]) if len(rest) >= 2 else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m fast``, do not import what cannot hold a fast test (saves the imports)."""
    if not _wants_fast(config):
        return None
    place = _fast_place(collection_path)
    if place is None:
        return None
    directory, name = place
    if collection_path.is_dir():
        return True if directory not in FAST_DIRS and name == directory else None
    if directory not in FAST_DIRS or name in SLOW_MODULES:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the fast subset (see the rules above this hook)."""
    for item in items:
        place = _fast_place(Path(str(item.path)))
        if place is None:
            continue
        directory, name = place
        test_id = f"{name}::{item.name.split('[')[0]}"
        if directory in FAST_DIRS and name not in SLOW_MODULES and test_id not in SLOW_TESTS:
            item.add_marker(pytest.mark.fast)
