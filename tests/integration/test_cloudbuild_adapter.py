"""The image build: ``run_build`` through the official Cloud Build client (REST) against a
Cloud Build fake on 127.0.0.1 that checks every request against Google's discovery
document; the wait runs on an injected clock (no test sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from worlds.cloudbuild_fake import FakeCloudBuild, fake_cloud_build
from worlds.fake_clock import FakeClock

from nbaops.adapters.cloudbuild import (
    MARGIN_S,
    POLL_S,
    READ_FAILURES,
    CloudBuildError,
    run_build,
)
from nbaops.context import Context
from nbaops.deploy.image import plan_image, realize
from nbaops.errors import EXIT_UNDETERMINED

ROOT = Path(__file__).resolve().parents[2]
PARENT = "projects/nba-props-platform/locations/us-west2"
IMAGE = "us-west2-docker.pkg.dev/nba-props-platform/services/phase4-processors:" + "c" * 40


@pytest.fixture
def cloudbuild() -> Iterator[FakeCloudBuild]:
    with fake_cloud_build() as fake:
        yield fake
    assert fake.violations == []  # every request and reply fits the published API


def request(**limits: int) -> dict[str, Any]:
    repository = f"{PARENT}/connections/github/repositories/nba-props-platform"
    return {
        "parent": PARENT,
        "source": {"connected_repository": {"repository": repository, "revision": "c" * 40}},
        "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", IMAGE, "."]}],
        "images": [IMAGE],
        "timeout_s": limits.get("timeout_s", 1200),
        "queue_ttl_s": limits.get("queue_ttl_s", 600),
        "tags": ["nbaops-phase4-processors", "commit-cccccccccccc"],
    }


def build(fake: FakeCloudBuild, clock: FakeClock, **limits: int) -> str:
    return run_build(
        request(**limits), endpoint=fake.url, sleep=clock.sleep, monotonic=clock.monotonic
    )


def test_a_build_that_succeeds_returns_its_image(cloudbuild: FakeCloudBuild) -> None:
    clock = FakeClock(start=0.0)
    assert build(cloudbuild, clock) == IMAGE
    assert clock.slept == [POLL_S, POLL_S]  # QUEUED, WORKING, then SUCCESS
    [created] = cloudbuild.created()
    assert created["timeout"] == "1200s" and created["queueTtl"] == "600s"  # durations
    assert created["images"] == [IMAGE]
    assert created["source"]["connectedRepository"]["revision"] == "c" * 40
    build_name = next(iter(cloudbuild.builds))
    assert [(m, p) for m, p, _q, _b in cloudbuild.requests] == [
        ("POST", f"/v1/{PARENT}/builds"),  # the regional path: the build runs in us-west2
        *[("GET", f"/v1/{build_name}")] * 3,
    ]
    assert cloudbuild.cancelled == []


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("FAILURE", "(Build step failure: build step 0 failed: step exited with status 1)"),
        ("INTERNAL_ERROR", "(Build step failure: build step 0 failed: step exited with status 1)"),
        ("CANCELLED", "(Build step failure: build step 0 failed: step exited with status 1)"),
        ("EXPIRED", "(queued longer than deploy.build.queue_ttl_s (600s))"),
        ("TIMEOUT", "(ran longer than deploy.build.timeout_s (1200s))"),
    ],
)
def test_a_build_that_ends_otherwise_is_one_line_with_its_id_status_and_logs(
    cloudbuild: FakeCloudBuild, status: str, why: str
) -> None:
    """operation.result() raised the operation's error ('Build failed; check build logs
    for details') before the status was read: no id, no status, no log URL."""
    cloudbuild.statuses = ["QUEUED", status]
    cloudbuild.status_detail = "Build step failure: build step 0 failed: step exited with status 1"
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, FakeClock(start=0.0))
    [(name, built)] = cloudbuild.builds.items()
    assert str(info.value) == f"Cloud Build {built['id']} ended {status} {why}: {built['logUrl']}"
    assert info.value.exit_code == EXIT_UNDETERMINED == 3
    assert cloudbuild.cancelled == []  # it ended: nothing to cancel
    assert name.startswith(f"{PARENT}/builds/")


def test_a_build_still_running_when_the_wait_ends_is_cancelled(
    cloudbuild: FakeCloudBuild,
) -> None:
    cloudbuild.statuses = ["QUEUED"]  # never starts
    clock = FakeClock(start=0.0)
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, clock, queue_ttl_s=60, timeout_s=120)
    wait_s = 60 + 120 + MARGIN_S
    [(name, built)] = cloudbuild.builds.items()
    assert cloudbuild.cancelled == [name]  # no build nobody waits for pushes an image later
    assert str(info.value) == (
        f"Cloud Build {built['id']} still QUEUED after {wait_s}s (deploy.build.queue_ttl_s "
        f"60s + timeout_s 120s + {MARGIN_S}s); cancelled it, so it pushes no {IMAGE}: "
        f"{built['logUrl']}"
    )
    assert clock.now == wait_s and set(clock.slept) == {POLL_S}
    cancel = [(m, p) for m, p, _q, _b in cloudbuild.requests if p.endswith(":cancel")]
    assert cancel == [("POST", f"/v1/{name}:cancel")]  # the regional path: any region


def test_a_cancel_that_fails_says_how_to_cancel_by_hand(cloudbuild: FakeCloudBuild) -> None:
    cloudbuild.statuses = ["WORKING"]
    cloudbuild.cancel_fails_with = 403
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, FakeClock(start=0.0), queue_ttl_s=60, timeout_s=60)
    message = str(info.value)
    built = next(iter(cloudbuild.builds.values()))
    assert "\n" not in message and "still WORKING" in message
    assert "cancelling it failed (" in message and "permission denied" in message
    assert f"gcloud builds cancel {built['id']} --region us-west2) before it pushes" in message
    assert message.endswith(built["logUrl"])


def test_a_build_that_cannot_be_read_is_cancelled(cloudbuild: FakeCloudBuild) -> None:
    cloudbuild.get_fails_with = 403
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, FakeClock(start=0.0))
    [(name, built)] = cloudbuild.builds.items()
    assert str(info.value).startswith(
        f"Cloud Build get build {built['id']}: permission denied (HTTP 403): denied; "
    )
    assert str(info.value).endswith(f"cancelled it, so it pushes no {IMAGE}")
    assert cloudbuild.cancelled == [name]


def test_a_read_that_fails_now_and_then_does_not_cancel_a_healthy_build(
    cloudbuild: FakeCloudBuild,
) -> None:
    """A 20-minute build is read ~250 times: one 500 (not retried by the client) cancelled
    the build and failed a good deploy. Reads failing in passing are waited out."""
    cloudbuild.next_gets_fail = [500, 500]
    assert build(cloudbuild, FakeClock(start=0.0)) == IMAGE
    assert cloudbuild.cancelled == []


def test_reads_failing_in_a_row_give_up_and_cancel(cloudbuild: FakeCloudBuild) -> None:
    cloudbuild.next_gets_fail = [500] * READ_FAILURES
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, FakeClock(start=0.0))
    assert f"({READ_FAILURES} reads in a row failed)" in str(info.value)
    assert str(info.value).endswith(f"cancelled it, so it pushes no {IMAGE}")
    assert len(cloudbuild.cancelled) == 1


def test_a_read_answered_503_is_retried_by_the_wait_not_inside_the_client(
    cloudbuild: FakeCloudBuild,
) -> None:
    """get_build's default retry re-sent a 503 for up to 600 s of real time inside one
    read, past the read's 30 s timeout and the wait's own clock and limits: a Cloud Build
    outage held a deploy for minutes per read instead of failing after READ_FAILURES."""
    cloudbuild.next_gets_fail = [503] * READ_FAILURES
    with pytest.raises(CloudBuildError) as info:
        build(cloudbuild, FakeClock(start=0.0))
    assert f"({READ_FAILURES} reads in a row failed)" in str(info.value)
    assert sum(1 for r in cloudbuild.requests if r[0] == "GET") == READ_FAILURES
    assert len(cloudbuild.cancelled) == 1


def test_an_interrupted_wait_cancels_the_build_then_stops(cloudbuild: FakeCloudBuild) -> None:
    """Ctrl-C, or a deploy's SIGTERM (a KeyboardInterrupt), during the wait: the build went
    on and pushed the image after the deploy had said "interrupted"."""
    cloudbuild.statuses = ["WORKING"]
    clock = FakeClock(start=0.0)

    def interrupted(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_build(request(), endpoint=cloudbuild.url, sleep=interrupted, monotonic=clock.monotonic)
    assert cloudbuild.cancelled == list(cloudbuild.builds)


def test_an_interrupt_right_after_the_build_was_created_cancels_it(
    cloudbuild: FakeCloudBuild,
) -> None:
    """Ctrl-C (or a deploy's SIGTERM) between the create's reply and the wait: the handler
    that cancels covered only the wait loop, so a build created a moment before the
    interrupt went on and pushed the image nobody waited for. The interrupt is raised by
    the wait's first clock read, the first thing after the build id is known."""
    cloudbuild.statuses = ["WORKING"]
    clock = FakeClock(start=0.0)

    def interrupted() -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_build(request(), endpoint=cloudbuild.url, sleep=clock.sleep, monotonic=interrupted)
    assert list(cloudbuild.builds) and cloudbuild.cancelled == list(cloudbuild.builds)


def test_a_prod_deploy_builds_at_the_configured_endpoint_with_the_configured_limits(
    cloudbuild: FakeCloudBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_CLOUDBUILD_ENDPOINT", cloudbuild.url)
    ctx = Context.create("prod", config_path=ROOT / "nbaops.yaml")
    plan = plan_image(ctx, "phase4-processors", "c" * 40, given=None, current_image=None)
    assert plan.build is not None and plan.build["queue_ttl_s"] == 600
    clock = FakeClock(start=0.0)
    # anonymous at a test endpoint: the context's ADC (absent here) is never read
    assert realize(ctx, plan, sleep=clock.sleep, monotonic=clock.monotonic) == plan.ref
    [created] = cloudbuild.created()
    assert (created["timeout"], created["queueTtl"]) == ("1200s", "600s")
    assert created["images"] == [plan.ref]
