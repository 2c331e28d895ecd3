"""The check registry, planning, post-deploy entries and the concurrent runner."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from nbaops.checks import (
    REGISTRY,
    CheckSpec,
    PlannedCheck,
    plan_checks,
    plan_post_deploy,
    run_planned,
)
from nbaops.checks.registry import ALL_SPECS
from nbaops.checks.spec import CheckParams
from nbaops.config import ServiceConfig
from nbaops.context import Context
from nbaops.errors import ConfigError, UnknownServiceError
from nbaops.sandbox.world import open_context
from nbaops.verdict import CheckResult, Verdict

REPO = Path(__file__).resolve().parents[2]
SERVICES = [
    "phase3-processors",
    "phase4-processors",
    "prediction-coordinator",
    "prediction-worker",
    "grading-service",
]


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBAOPS_CONFIG", raising=False)
    return open_context("local", REPO / "nbaops.yaml")


def test_registry_has_every_issue_check_with_its_service() -> None:
    assert {k: s.service for k, s in REGISTRY.items()} == {
        "lines_coverage": "phase4-processors",
        "grading_completeness": "grading-service",
        "recent_predictions": "prediction-worker",
        "batch_errors": "prediction-coordinator",
        "processor_heartbeats": "phase3-processors",
        "shot_zones": "phase3-processors",
        "error_logs": "*",
        "model_hit_rate": "prediction-worker",
    }
    for spec in REGISTRY.values():
        module = importlib.import_module(spec.module)
        assert callable(module.run) and spec.load() is module.run
        assert module.SPEC is spec  # the module's one declaration is what is registered


def test_every_declared_query_reads_the_clock_from_parameters() -> None:
    # Partition filters: tests/static/test_partition_filters.py (every declared query).
    queries = {q.sql for spec in ALL_SPECS.values() for q in spec.queries}
    assert len(queries) >= 12
    for sql in queries:
        assert "CURRENT_TIMESTAMP" not in sql.upper() and "CURRENT_DATE" not in sql.upper()


def test_every_query_example_binds_exactly_the_parameters_its_sql_names() -> None:
    for spec in ALL_SPECS.values():
        assert spec.queries or spec.reads_logs, spec.id
        for query in spec.queries:
            assert sorted(query.parameters) == sorted(query.example), f"{spec.id}.{query.name}"
            assert all(value is not None for value in query.example.values())


def test_a_query_example_moves_with_the_clock_keeping_its_window() -> None:
    from nbaops.checks.batch_errors import BATCHES

    now = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
    moved = BATCHES.example_at(now)
    assert moved["now"] == now
    assert moved["now"] - moved["since"] == BATCHES.example["now"] - BATCHES.example["since"]
    assert moved["to_date"] - moved["from_date"] == (
        BATCHES.example["to_date"] - BATCHES.example["from_date"]
    )
    assert moved["to_date"] == dt.date(2026, 3, 3)  # the day after 2 March, Eastern


def test_plan_runs_error_logs_once_per_service(ctx: Context) -> None:
    planned = plan_checks(ctx)
    assert [p.label for p in planned][-5:] == [f"error_logs [{s}]" for s in SERVICES]
    assert len(planned) == 12
    only = plan_checks(ctx, service="phase3-processors")
    assert [p.label for p in only] == [
        "processor_heartbeats [phase3-processors]",
        "shot_zones [phase3-processors]",
        "error_logs [phase3-processors]",
    ]
    with pytest.raises(UnknownServiceError):
        plan_checks(ctx, service="phase5")


def test_post_deploy_entries_carry_their_overrides_and_the_revision(ctx: Context) -> None:
    phase4 = ctx.config.service("phase4-processors")
    planned = plan_post_deploy(ctx, phase4, revision="phase4-processors-00009-new")
    assert [p.spec.id for p in planned] == ["lines_coverage", "error_logs"]
    assert planned[0].params.fraction("fail_below") == 0.90
    assert planned[0].params.revision is None  # data checks are not per revision
    assert planned[1].params.revision == "phase4-processors-00009-new"
    assert planned[1].service == "phase4-processors"


def _service(post_deploy: list[dict[str, object]]) -> ServiceConfig:
    return ServiceConfig(
        name="grading-service",
        owner="@x",
        source_paths=("a/",),
        health_path="/health",
        post_deploy=tuple(post_deploy),
    )


def test_bad_post_deploy_entries_are_config_errors(ctx: Context) -> None:
    with pytest.raises(ConfigError, match="unknown check 'nope'; known checks: lines_coverage"):
        plan_post_deploy(ctx, _service([{"check": "nope"}]))
    with pytest.raises(ConfigError, match=r"services.grading-service.post_deploy\[1\]"):
        plan_post_deploy(
            ctx, _service([{"check": "error_logs"}, {"check": "grading_completeness", "lag": 3}])
        )


def test_repository_post_deploy_entries_are_valid(ctx: Context) -> None:
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
    for name in data["services"]:
        assert plan_post_deploy(ctx, ctx.config.service(name))


@dataclass(frozen=True)
class ScriptedSpec(CheckSpec):
    """A registered-check stand-in whose run function the test provides (runner tests)."""

    body: Callable[[Context, CheckParams], CheckResult] | None = None

    def load(self) -> Callable[[Context, CheckParams], CheckResult]:
        assert self.body is not None
        return self.body


def _planned(name: str, body: Callable[[Context, CheckParams], CheckResult]) -> PlannedCheck:
    return PlannedCheck(ScriptedSpec(name, "grading-service", name, body=body), CheckParams(name))


def _ok(ctx: Context, params: CheckParams) -> CheckResult:
    return CheckResult(params.check, "grading-service", Verdict.PASS, 1, "", "fine")


def test_runner_turns_exceptions_into_error_and_keeps_plan_order(ctx: Context) -> None:
    def boom(ctx: Context, params: CheckParams) -> CheckResult:
        raise RuntimeError("disk on fire\nsecond line")

    results = run_planned(
        ctx, [_planned("a", _ok), _planned("b", boom), _planned("c", _ok)], timeout_s=5
    )
    assert [r.name for r in results] == ["a", "b", "c"]
    assert results[1].verdict is Verdict.ERROR
    assert results[1].message == "RuntimeError: disk on fire"
    assert results[1].value is None


def test_runner_times_out_a_stuck_check_without_waiting_for_it(ctx: Context) -> None:
    release = threading.Event()

    def stuck(ctx: Context, params: CheckParams) -> CheckResult:
        release.wait(30)
        return _ok(ctx, params)

    events: list[tuple[str, str]] = []
    started = time.monotonic()
    results = run_planned(
        ctx,
        [_planned("stuck", stuck), _planned("ok", _ok)],
        # the replacement's check must also finish inside it: 1 s, not 0.3 s, leaves room
        # for a loaded 2-core CI machine to start that thread
        timeout_s=1.0,
        max_workers=1,
        progress=lambda e, p, r: events.append((e, p.spec.id)),
    )
    elapsed = time.monotonic() - started
    release.set()
    assert results[0].verdict is Verdict.ERROR
    assert results[0].message == "timed out after 1s (checks.timeout_s)"
    assert results[1].verdict is Verdict.PASS  # ran on a replacement worker
    assert elapsed < 20  # the stuck check holds 30 s: under that, its timeout ended it
    assert ("done", "stuck") in events and ("start", "ok") in events


def test_runner_runs_checks_concurrently(ctx: Context) -> None:
    barrier = threading.Barrier(4, timeout=5)

    def meet(ctx: Context, params: CheckParams) -> CheckResult:
        barrier.wait()  # only returns if all four run at the same time
        return _ok(ctx, params)

    results = run_planned(
        ctx, [_planned(f"c{i}", meet) for i in range(4)], timeout_s=10, max_workers=4
    )
    assert [r.verdict for r in results] == [Verdict.PASS] * 4


def test_every_declared_query_runs_on_the_local_warehouse_with_its_example(
    tmp_path: Path,
) -> None:
    """The typed examples bind: each query runs as declared (empty tables, no rows needed)."""
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=REPO)
    wh.create_tables()
    ran = 0
    for spec in ALL_SPECS.values():
        for query in spec.queries:
            wh.query(query.sql, query.example)  # raises on a missing or mistyped parameter
            ran += 1
    assert ran >= 15
    with pytest.raises(Exception, match="game_date"):
        wh.query(ALL_SPECS["lines_coverage"].queries[0].sql, {})
