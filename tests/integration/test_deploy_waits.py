"""The deploy's two waits (a new revision Ready, then healthy) time out on the deploy's own
injected clock: a fake clock whose sleep advances it reaches the timeout branch in
milliseconds, with the FAIL verdict, its message and threshold, and without real waiting."""

from __future__ import annotations

import datetime as dt

from worlds.deploy_world import NOW_DT, PROJECT, REGION, DeployWorld
from worlds.fake_clock import FakeClock

from nbaops.deploy import audit
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.deploy_report import DeployReport
from nbaops.deploy.inflight import InFlight, wait_ready
from nbaops.deploy.progress import Progress
from nbaops.deploy.request import validate_request
from nbaops.local.api_faults import set_api_fault
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.verdict import Verdict

SERVICE = "phase4-processors"


def test_a_revision_never_ready_fails_after_the_ready_timeout_on_the_injected_clock(
    dworld: DeployWorld,
) -> None:
    dworld.reconfigure(ready_timeout_s=30, health_interval_s=5)
    seed_services(
        dworld.home,
        PROJECT,
        REGION,
        [
            SeedService(
                name=SERVICE,
                revisions=[
                    SeedRevision(
                        image=f"local.nbaops.dev/services/{SERVICE}:stuck",
                        ready=False,
                        create_time=NOW_DT - dt.timedelta(hours=1),
                        name=f"{SERVICE}-00009-stk",
                    )
                ],
            )
        ],
    )
    ctx = dworld.context()
    req = DeployRequest(service=SERVICE)
    cfg, settings = validate_request(ctx, req)
    fake = FakeClock()
    d = InFlight(
        ctx,
        req,
        cfg,
        settings,
        DeployReport(service=SERVICE, deploy_id="d-1", dry_run=False),
        audit.AuditRecord(
            deploy_id="d-1", service=SERVICE, action="deploy", actor="ada", profile="local"
        ),
        Progress.silent(),
        fake.sleep,
        fake.monotonic,
    )
    result = wait_ready(d, f"{SERVICE}-00009-stk")
    assert result.verdict is Verdict.FAIL
    assert result.message.startswith(f"{SERVICE}-00009-stk not Ready after 30s: ")
    assert result.threshold == "Ready within 30s"
    assert result.query == f"run_v2 GetRevision {SERVICE}-00009-stk"
    # polled every health_interval_s until 30 s had passed on the fake clock (on real time
    # the fake sleeps would return at once and the loop would spin for 30 real seconds)
    assert fake.slept == [5.0] * 6


def test_a_new_revision_never_healthy_fails_the_gate_after_health_wait_and_rolls_back(
    dworld: DeployWorld,
) -> None:
    dworld.reconfigure(health_wait_s=20, health_interval_s=4)
    before = dworld.service().serving_revision
    fake = FakeClock()
    # once the new revision exists, its six probes answer 500 (the rollback's probe passes)
    unhealthy = Progress(
        lambda line, style: (
            "still serves" in line
            and set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=6)
        )
    )
    report = run_deploy(
        dworld.context(),
        DeployRequest(service=SERVICE, skip_tests=True),
        progress=unhealthy,
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )
    gate = next(c for c in report.steps if c.name == "new_revision_health")
    assert gate.verdict is Verdict.FAIL
    assert gate.threshold == "HTTP 2xx within 20s (probe timeout 3s)"
    assert "unhealthy" in gate.message and gate.message.endswith("after 6 probe(s)")
    assert fake.slept == [4.0] * 5  # the 20 s passed on the fake clock only
    assert report.outcome == "rolled_back", report.final_line()
    assert "failed before receiving traffic" in report.final_line()
    assert dworld.service().traffic_by_revision[before or ""] == 100
