"""``inv deploy --service prediction-worker --canary 20`` judged on request metrics.

The stand-in simulates each revision's requests (Cloud Monitoring ``timeSeries.list``
through the official gRPC client); the sandbox's canary faults make only the new
revision worse. A healthy canary is promoted with the analysis in its JSON; a canary
with 10x the 5xx rate or 1.6x the latency is rolled back (exit 1) and the audit row and
the alert name the metric that decided.

Every deploy runs on a fake clock that moves ``NBAOPS_NOW`` too: the stand-in shows a
minute's requests only after the revision exists and Cloud Monitoring's ingestion delay,
so the canary collects over extra rounds before it is judged, as it would in prod.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from worlds.deploy_world import NOW, NOW_DT, DeployWorld
from worlds.fake_clock import FakeClock

from nbaops.canary.run import canary_settings
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.local.api_faults import set_api_fault
from nbaops.sandbox import faults
from nbaops.verdict import exit_code_for

SERVICE = "prediction-worker"


def outbox(world: DeployWorld) -> list[dict[str, Any]]:
    path = world.home / "outbox.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [e for line in lines if line.strip() for e in json.loads(line)["events"]]


def inject(world: DeployWorld, name: str) -> None:
    """A canary fault as `inv sandbox.fault` records it (no data change needed)."""
    faults.write_records(world.home, [{"name": name, "service": SERVICE, "injected_at": NOW}])


def deploy(world: DeployWorld, clock: FakeClock | None = None) -> Any:
    ctx = world.context()
    clock = clock or FakeClock(wall=NOW_DT)
    req = DeployRequest(service=SERVICE, canary=20, skip_tests=True)
    return run_deploy(ctx, req, sleep=clock.sleep, monotonic=clock.monotonic)


def test_healthy_canary_is_promoted_with_the_analysis_in_its_json(dworld: DeployWorld) -> None:
    clock = FakeClock(wall=NOW_DT)
    report = deploy(dworld, clock)
    assert report.outcome == "success", report.final_line()
    data = report.to_json()
    analysis = data["canary_analysis"]
    alpha = canary_settings(dworld.context()).alpha
    # Healthy: never significantly worse. A point estimate past its margin by chance (the
    # stand-in's p95 of a few thousand requests moves by ~2%) is WARN, not significant.
    assert analysis["verdict"] in ("PASS", "WARN")
    assert analysis["canary_revision"] == report.new_revision
    assert analysis["baseline_revision"] == report.revision_before
    by_name = {m["name"]: m for m in analysis["metrics"]}
    assert set(by_name) == {"error_rate", "latency", "instance_count"}
    for name in ("error_rate", "latency"):
        metric = by_name[name]
        assert metric["verdict"] == "PASS" or (
            metric["verdict"] == "WARN" and metric["p_value"] >= alpha
        ), metric
        assert (
            metric["canary_sample"] >= 2000 and metric["baseline_sample"] > metric["canary_sample"]
        )
        assert 0.0 <= metric["p_value"] <= 1.0 and metric["test"]
    # nothing visible right after the shift: the window ran extra rounds, 30 s apart,
    # until the canary's sample was visible, then judged it (within window + delay)
    rounds = analysis["rounds"]
    assert len(rounds) > 2 and [r["round"] for r in rounds] == list(range(1, len(rounds) + 1))
    assert all(r["collecting"] for r in rounds[:-1])
    assert rounds[-1]["verdict"] == analysis["verdict"]
    assert 180 < sum(clock.slept) <= 600 + 180 + 60  # window_s + ingestion_delay_s + a period
    start, end = analysis["window"].split("/")
    # not 10 minutes back: one sampling period after the traffic shift (17:00:00), so no
    # point read began before it (a read holds the points that end after its start)
    assert start == "2025-01-15T17:01:00Z"
    grpc = [r for r in dworld.requests() if r["method"] == "GRPC"]
    assert grpc and all("timeSeries" not in r["path"] for r in grpc)


def test_canary_5xx_rolls_back_exit_1_naming_error_rate(dworld: DeployWorld) -> None:
    inject(dworld, "canary-5xx")
    report = deploy(dworld)
    assert report.outcome == "rolled_back", report.final_line()
    assert exit_code_for(report.verdict) == 1
    analysis = report.to_json()["canary_analysis"]
    assert analysis["verdict"] == "FAIL" and analysis["deciding_metric"] == "error_rate"
    assert "error_rate FAIL" in report.final_line()
    assert dworld.service(SERVICE).traffic_by_revision[report.revision_before or ""] == 100
    row = dworld.audit_rows()[0]
    assert row["outcome"] == "rolled_back" and "error_rate" in row["message"]
    alert = next(e for e in outbox(dworld) if e["kind"] == "rollback")
    assert "error_rate" in alert["text"] and alert["fields"]["canary metric"] == "error_rate"


def test_canary_latency_rolls_back_exit_1_naming_latency(dworld: DeployWorld) -> None:
    inject(dworld, "canary-latency")
    report = deploy(dworld)
    assert report.outcome == "rolled_back", report.final_line()
    assert exit_code_for(report.verdict) == 1
    analysis = report.to_json()["canary_analysis"]
    assert analysis["deciding_metric"] == "latency"
    latency = next(m for m in analysis["metrics"] if m["name"] == "latency")
    assert latency["canary"] > latency["baseline"] * 1.05 and latency["p_value"] < 0.05
    error_rate = next(m for m in analysis["metrics"] if m["name"] == "error_rate")
    # only the latency is worse (it reached its smaller min_sample first and decided)
    assert error_rate["verdict"] in ("PASS", "INCONCLUSIVE")
    row = dworld.audit_rows()[0]
    assert "latency" in row["message"]
    alert = next(e for e in outbox(dworld) if e["kind"] == "rollback")
    assert alert["fields"]["canary metric"] == "latency"


def test_low_canary_traffic_is_inconclusive_never_pass_exit_3(dworld: DeployWorld) -> None:
    inject(dworld, "canary-low-traffic")
    # the fake clock jumps past the lease's renewals (real-time heartbeats): a long lease
    dworld.reconfigure(lock_ttl_s=3600)
    report = deploy(dworld)
    assert report.outcome == "rolled_back", report.final_line()  # on_inconclusive: rollback
    assert exit_code_for(report.verdict) == 3
    analysis = report.to_json()["canary_analysis"]
    assert analysis["verdict"] == "INCONCLUSIVE"
    message = analysis["metrics"][0]["message"]
    assert "too little canary traffic: only" in message and "canary requests visible yet" in message
    assert "Cloud Monitoring shows request metrics up to 180 s late" in message
    assert "more than window_s (600s)" in message  # ~6/min never reaches 2000 in 10 min
    # the rounds collected (no vote) until a whole window_s of post-shift traffic was
    # visible (window_s + the delay + one sampling period after the shift), then decided
    rounds = analysis["rounds"]
    assert all(r["collecting"] for r in rounds[:-1]) and not rounds[-1]["collecting"]
    assert "final canary analysis INCONCLUSIVE" in report.final_line()
    start, end = (dt.datetime.fromisoformat(t) for t in analysis["window"].split("/"))
    assert start >= NOW_DT + dt.timedelta(seconds=60)  # no point from before the shift
    assert (end - start).total_seconds() == 600  # window_s judged, not 60 s less


def test_unreadable_metrics_are_error_and_follow_on_inconclusive(dworld: DeployWorld) -> None:
    set_api_fault(dworld.home, "monitoring-error")  # 500: not retried
    dworld.reconfigure(on_inconclusive="hold")
    report = deploy(dworld)
    assert report.outcome == "held", report.final_line()
    assert exit_code_for(report.verdict) == 3
    analysis = report.to_json()["canary_analysis"]
    assert analysis["verdict"] == "ERROR"
    assert all(m["verdict"] == "ERROR" for m in analysis["metrics"])
    assert "could not read" in analysis["metrics"][0]["message"]


def test_a_held_canary_stays_held_with_its_journal_when_a_later_read_fails(
    dworld: DeployWorld,
) -> None:
    """The outcome is told from the one fenced read: a Cloud Run read failing after it
    does not turn the held canary into "failed" and remove the journal of its split."""
    from worlds.deploy_world import hook

    from nbaops.deploy.journal import journal_of

    set_api_fault(dworld.home, "monitoring-error")  # ERROR metrics: held (on_inconclusive)
    dworld.reconfigure(on_inconclusive="hold")
    armed: list[bool] = []

    def on(line: str) -> None:
        if "] observe" in line and not armed:  # no Cloud Run read until the outcome
            armed.append(True)
            # the fenced read passes (a 10 ms delay), the read after it fails
            for kind, delay_s in (("timeout", 0.01), ("http-4xx", 0.0)):
                set_api_fault(
                    dworld.home, kind, service=SERVICE, method="GET", delay_s=delay_s, count=1
                )

    clock = FakeClock(wall=NOW_DT)
    req = DeployRequest(service=SERVICE, canary=20, skip_tests=True)
    report = run_deploy(
        dworld.context(), req, progress=hook(on), sleep=clock.sleep, monotonic=clock.monotonic
    )
    assert armed
    assert report.outcome == "held", report.final_line()
    info = dworld.service(SERVICE)
    assert info.traffic_by_revision[report.new_revision] == 20  # the split is left
    assert journal_of(info) is not None  # and the journal still says so
    assert dworld.audit_rows()[0]["outcome"] == "held"


def test_dry_run_plan_names_the_canary_analysis_and_reads_no_metric(dworld: DeployWorld) -> None:
    ctx = dworld.context()
    report = run_deploy(ctx, DeployRequest(service=SERVICE, canary=20, dry_run=True))
    # what it reads: never a point that began before the shift
    assert any(
        "canary analysis: monitoring.v3 projects.timeSeries.list" in line
        and "from 60s after the traffic shift" in line
        for line in report.plan
    ), report.plan
    # how long it may take: the extra rounds while the sample is too small, until a whole
    # window_s of the canary's traffic is visible (600 + 180 + 60 s by default)
    assert any(
        "runs more rounds" in line and "840s after the traffic shift" in line
        for line in report.plan
    ), report.plan
    assert report.to_json()["canary_analysis"] is None
    assert not [r for r in dworld.requests() if r["method"] == "GRPC"]
    full = run_deploy(ctx, DeployRequest(service=SERVICE, dry_run=True))
    assert not any("canary analysis" in line for line in full.plan)


def test_bad_canary_settings_exit_2_before_any_change(dworld: DeployWorld) -> None:
    import pytest

    from nbaops.errors import ConfigError

    dworld.reconfigure(canary_analysis={"window_s": 60, "alignment_s": 120})
    with pytest.raises(ConfigError, match="window_s"):
        deploy(dworld)
    assert dworld.mutating() == [] and dworld.audit_rows() == []
