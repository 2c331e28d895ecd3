"""The prod dry-run plan: every post-deploy check's declared query gets a byte estimate
with its typed example ``@params`` (checked against ``schemas/`` by
``tests/static/test_query_param_types.py``) that the warehouse can plan, and an estimate
that fails is said, not fatal.
Also the manual rollback commands on prod (no ``inv rollback`` line: it needs the repo).

The estimates go through a real DuckDB warehouse: like a BigQuery dry run, its
``estimate_bytes`` plans the SQL (EXPLAIN), so a parameter of the wrong type or a
missing one fails the estimate here too."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.context import Context
from nbaops.deploy.plan import plan_queries as _plan_queries
from nbaops.deploy.restore import manual_commands

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:00:00Z")
    monkeypatch.delenv("NBAOPS_CONFIG", raising=False)
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    ctx = Context.create("prod", REPO / "nbaops.yaml")
    assert not ctx.is_local
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=REPO)
    wh.create_tables()
    ctx.__dict__["warehouse"] = wh  # the queries are planned, never sent to BigQuery
    return ctx


def test_every_post_deploy_query_is_estimated_with_its_typed_example_params(
    prod: Context,
) -> None:
    estimated = 0
    for name, cfg in prod.config.services.items():
        lines = _plan_queries(prod, cfg)
        assert lines, name
        for line in lines:
            if "Cloud Logging" in line:
                continue
            assert "[bytes: unknown]" in line, line  # planned; DuckDB cannot count bytes
            estimated += 1
    assert estimated >= 5  # one warehouse check per service at least


def test_an_estimate_that_fails_is_reported_in_the_plan(prod: Context) -> None:
    prod.warehouse.execute("DROP TABLE `nba_precompute.points_lines`")
    lines = _plan_queries(prod, prod.config.service("phase4-processors"))
    failed = [line for line in lines if "could not estimate (WarehouseError)" in line]
    assert failed and all("lines_coverage" in line for line in failed)


def test_manual_commands_on_prod_are_runnable_as_printed(prod: Context) -> None:
    commands = manual_commands(prod, "phase4-processors", "phase4-processors-00001-abc")
    prof = prod.config.profile
    assert commands == [
        "inv rollback --service phase4-processors --to phase4-processors-00001-abc "
        "--force-unlock --profile prod",
        f"gcloud run services update-traffic phase4-processors --project={prof.project} "
        f"--region={prof.region} --to-revisions=phase4-processors-00001-abc=100",
        f"gcloud run services describe phase4-processors --project={prof.project} "
        f"--region={prof.region} --format='value(status.traffic)'",
    ]
