"""The check registry, planning, post-deploy entries and the concurrent runner."""

from __future__ import annotations

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
from nbaops.checks.thresholds import CheckParams
from nbaops.config import ServiceConfig
from nbaops.context import Context
from nbaops.errors import ConfigError, UnknownServiceError
from nbaops.sandbox.world import open_context
from nbaops.table_catalog import load_catalog, partition_filter_problems
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
        assert callable(module.run)
        assert (spec.id, spec.service) == (module.NAME, module.SERVICE)


def test_every_check_query_filters_every_partitioned_table() -> None:
    from nbaops import daily_validation

    catalog = load_catalog(REPO)
    queries = [daily_validation.SQL]
    for spec in REGISTRY.values():
        module = importlib.import_module(spec.module)
        queries += [v for k, v in vars(module).items() if k.endswith("SQL") and isinstance(v, str)]
    assert len(queries) >= 10
    for sql in queries:
        assert partition_filter_problems(sql, catalog) == [], sql
        assert "CURRENT_TIMESTAMP" not in sql.upper() and "CURRENT_DATE" not in sql.upper()


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
        timeout_s=0.3,
        max_workers=1,
        progress=lambda e, p, r: events.append((e, p.spec.id)),
    )
    elapsed = time.monotonic() - started
    release.set()
    assert results[0].verdict is Verdict.ERROR
    assert results[0].message == "timed out after 0.3s (checks.timeout_s)"
    assert results[1].verdict is Verdict.PASS  # ran on a replacement worker
    assert elapsed < 5
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
