"""The `fast` test subset: which tests `pytest -m fast` selects (applied by tests/conftest.py).

`pytest -m fast` is the pre-deploy subset (the local profile's deploy.test_command): the
unit tests of the library's logic, minus what waits on processes, real data, builds or
heavy imports. The full suite (`nox -s tests`) stays in CI. Rules, from
`pytest --durations` on the shared dev machine (see README "Performance"):
- only tests/unit (tests/static and the integration directories are never fast);
- a module listed in SLOW_MODULES is not even imported under `-m fast` (its import or
  every test in it is slow); a test listed in SLOW_TESTS is collected but not fast.
A new unit test is fast by default: keep it under ~0.2 s or list it here with the reason.
"""

from __future__ import annotations

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
    "test_sandbox_faults.py": "generates a whole sandbox (once per process, ~1 s)",
    "test_sandbox_generate.py": "generates a whole sandbox",
    "test_warehouse_duckdb.py": "DuckDB files per test, a second process (~13 s in all)",
    "test_warehouse_sql.py": "transpiles and runs every SQL convention case (~11 s)",
}
SLOW_TESTS = {
    "test_process_end.py::test_the_processs_own_program_exits_with_the_tasks_code_without_teardown": (  # noqa: E501
        "four child interpreters that import Invoke (~0.4 s)"
    ),
    "test_alerts_imports.py::test_no_google_client_is_imported": "subprocess import probe",
    "test_canary_analysis.py::test_the_monitoring_client_is_imported_only_when_a_canary_is_analysed": (  # noqa: E501
        "import probe"
    ),
    "test_redact.py::test_no_fragment_of_8_or_more_characters_survives": "exhaustive fragments",
    "test_checks_registry.py::test_every_check_query_filters_every_partitioned_table": (
        "transpiles every check query"
    ),
    "test_bqschema_lint.py::test_too_many_columns": "a 10,000-column schema",
    "test_gitrepo.py::test_remote_main_tip_fetch_upstream_and_ahead_behind": "git clone/fetch",
    "test_hooks_bq_schema_breaking.py::test_runs_without_importing_google": "subprocess",
    "test_hooks_bq_schema_lint.py::test_runs_without_importing_google_or_sqlglot": "subprocess",
    "test_hooks_sql_schema_refs.py::test_subprocess_imports_no_google_client": "subprocess",
    "test_hooks_sql_schema_refs.py::test_this_repository_has_no_unknown_references": (
        "parses every SQL string of the repository"
    ),
    "test_sql_cache.py::test_a_warm_process_does_not_import_sqlglot": "two subprocesses",
    "test_workflows_regression.py::test_ci_session_list_step_prints_the_default_sessions": (
        "a nox subprocess"
    ),
}
