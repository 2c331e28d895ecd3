"""The Cloud Run, health and logs adapters, through the official clients against the stand-in."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest
from worlds.http_fake import dripping_server
from worlds.standin import (
    STANDIN_NOW,
    STANDIN_PROJECT,
    STANDIN_REGION,
    STANDIN_SERVICES,
    fake_sha,
    standin_prober,
)

from nbaops.adapters.cloudrun import (
    CloudRun,
    ConcurrentModificationError,
    TrafficSplit,
    new_revision_name,
)
from nbaops.adapters.health import HealthProber
from nbaops.adapters.logs import LogReader, build_filter
from nbaops.config import ProfileConfig
from nbaops.errors import CloudRunError, LoggingError
from nbaops.local.api_faults import clear_api_faults, set_api_fault
from nbaops.local.cloudrun_state import (
    CONDITION_FAILED,
    CONDITION_SUCCEEDED,
    SeedRevision,
    SeedService,
    load_state,
    seed_services,
    service_name,
)
from nbaops.local.log_store import append_entries
from nbaops.local.standin import StandIn

REVISION_RE = re.compile(r"^grading-service-\d{5}-[a-z]{3}$")
NEW_SHA = fake_sha("new-commit")


@pytest.fixture
def cloudrun(standin: StandIn, local_profile: ProfileConfig) -> CloudRun:
    return CloudRun(local_profile, standin.url, timeout_s=2.0, lro_timeout_s=10.0, retries=False)


def mutating_requests(home: Path) -> list[dict[str, str]]:
    return [r for r in StandIn.requests(home) if r["method"] != "GET"]


# ---------------------------------------------------------------- reads


def test_get_service_resolves_serving_revision_and_traffic(cloudrun: CloudRun) -> None:
    info = cloudrun.get_service("grading-service")
    assert info.name == "grading-service"
    assert info.ready is True
    assert info.serving_revision == info.latest_ready_revision
    assert info.traffic == [TrafficSplit(info.latest_ready_revision or "", 100, "")]
    assert info.uri.startswith("https://grading-service-") and info.uri.endswith(".a.run.app")
    assert info.image.endswith("grading-service:v2")
    assert info.labels["commit-sha"] == fake_sha("grading-service-2")
    assert info.etag


def test_list_revisions_newest_first_with_commit_labels(cloudrun: CloudRun) -> None:
    revisions = cloudrun.list_revisions("grading-service")
    assert [r.commit for r in revisions] == [
        fake_sha("grading-service-2"),
        fake_sha("grading-service-1"),
    ]
    assert all(REVISION_RE.match(r.name) for r in revisions)
    assert revisions[0].env == {"MODEL_VERSION": "v9"}
    assert revisions[0].create_time == STANDIN_NOW - dt.timedelta(days=1)
    assert cloudrun.get_revision("grading-service", revisions[1].name) == revisions[1]


def test_unknown_service_raises_cloudrun_error_naming_it(cloudrun: CloudRun) -> None:
    with pytest.raises(CloudRunError, match="'no-such-service' not found"):
        cloudrun.get_service("no-such-service")


def test_unknown_revision_raises_cloudrun_error_naming_it(cloudrun: CloudRun) -> None:
    with pytest.raises(CloudRunError, match="grading-service-99999-zzz"):
        cloudrun.get_revision("grading-service", "grading-service-99999-zzz")


def test_lists_span_pages_and_reject_bad_paging_like_the_v2_api(
    cloudrun: CloudRun, standin: StandIn, nbaops_home: Path
) -> None:
    """run.v2 list methods page (AIP-158): nbaops must follow ``nextPageToken``."""
    import requests

    revisions = [
        SeedRevision(f"img/grading:{i}", create_time=STANDIN_NOW + dt.timedelta(minutes=i))
        for i in range(1, 26)
    ]
    seed_services(
        nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [SeedService("grading-service", revisions)]
    )
    listed = cloudrun.list_revisions("grading-service")
    assert [r.image for r in listed] == [f"img/grading:{i}" for i in range(25, 0, -1)]
    assert new_revision_name("grading-service", [r.name for r in listed]).startswith(
        "grading-service-00026-"
    )
    assert len(cloudrun.list_services()) == len(STANDIN_SERVICES)  # 5 on pages of 2
    base = f"{standin.url}/v2/projects/{STANDIN_PROJECT}/locations/{STANDIN_REGION}/services"
    url = f"{base}/grading-service/revisions"
    names: list[str] = []
    params: dict[str, str] = {"pageSize": "7"}
    while True:
        page = requests.get(url, params=params, timeout=5).json()
        assert len(page["revisions"]) <= 7
        names += [r["name"] for r in page["revisions"]]
        if "nextPageToken" not in page:
            break
        params["pageToken"] = page["nextPageToken"]
    assert len(names) == len(set(names)) == 25
    first = requests.get(url, timeout=5).json()
    assert len(first["revisions"]) < 25 and first["nextPageToken"]  # a small default page
    other = f"{base}/prediction-worker/revisions"
    for bad_url, bad in (
        (url, {"pageSize": "-1"}),
        (url, {"pageToken": "not-a-token"}),
        (url, {"pageToken": "2"}),
        (other, {"pageToken": first["nextPageToken"]}),  # issued for another parent
        (base, {"pageToken": first["nextPageToken"]}),
        (url, {"pageToken": first["nextPageToken"], "showDeleted": "true"}),
    ):
        reply = requests.get(bad_url, params=bad, timeout=5)
        assert reply.status_code == 400, (bad_url, bad)
        assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"


# ---------------------------------------------------------------- deploys and traffic


def test_deploy_creates_a_revision_with_labels_env_and_full_traffic(cloudrun: CloudRun) -> None:
    before = cloudrun.get_service("grading-service")
    info = cloudrun.deploy_revision(
        "grading-service",
        image="img/grading:new",
        labels={"commit-sha": NEW_SHA},
        env={"MODEL_VERSION": "v10"},
    )
    new = info.latest_created_revision
    assert new and REVISION_RE.match(new) and new != before.latest_created_revision
    assert info.serving_revision == new and info.traffic_by_revision[new] == 100
    assert info.labels["commit-sha"] == NEW_SHA
    revision = cloudrun.get_revision("grading-service", new)
    assert revision.commit == NEW_SHA
    assert revision.image == "img/grading:new"
    assert revision.env == {"MODEL_VERSION": "v10"}
    assert len(cloudrun.list_revisions("grading-service")) == 3


def test_traffic_only_change_creates_no_revision(cloudrun: CloudRun) -> None:
    old, current = [r.name for r in cloudrun.list_revisions("grading-service")][::-1]
    info = cloudrun.set_traffic(
        "grading-service", [TrafficSplit(old, 20), TrafficSplit(current, 80)]
    )
    assert info.traffic_by_revision == {old: 20, current: 80}
    assert info.serving_revision == current
    assert len(cloudrun.list_revisions("grading-service")) == 2


def test_the_serving_revision_is_the_largest_share_summed_over_its_entries(
    cloudrun: CloudRun,
) -> None:
    """A revision named twice (untagged and tagged) has the sum of both: 60% beat 40%, yet
    deployed-commit and check-drift named the 40% revision (the largest single entry)."""
    old, current = [r.name for r in cloudrun.list_revisions("grading-service")][::-1]
    info = cloudrun.set_traffic(
        "grading-service",
        [TrafficSplit(old, 40), TrafficSplit(current, 30), TrafficSplit(current, 30, "blue")],
    )
    assert info.traffic_by_revision == {old: 40, current: 60}
    assert info.serving_revision == current
    even = cloudrun.set_traffic(
        "grading-service", [TrafficSplit(current, 50), TrafficSplit(old, 50)]
    )
    assert even.serving_revision == even.latest_ready_revision  # a tie: not the list's order


def test_the_timeout_fault_outlasts_the_cloud_run_client_timeout() -> None:
    """At 30 s, equal to the client's per-request timeout, the delayed reply was still
    read: `sandbox.fault timeout` PASSed after 60 s instead of the documented exit 3."""
    import inspect

    from nbaops.local.api_faults import TIMEOUT_DELAY_S

    client_timeout = inspect.signature(CloudRun.__init__).parameters["timeout_s"].default
    assert client_timeout + 5 < TIMEOUT_DELAY_S


def test_tagged_no_traffic_deploy_keeps_the_split_and_gets_a_tag_url(
    cloudrun: CloudRun, standin: StandIn
) -> None:
    serving = cloudrun.get_service("grading-service").serving_revision
    info = cloudrun.deploy_revision(
        "grading-service",
        image="img/grading:canary",
        labels={"commit-sha": NEW_SHA},
        tag="canary",
        no_traffic=True,
    )
    new = info.latest_created_revision or ""
    assert info.serving_revision == serving
    assert info.traffic_by_revision == {serving: 100, new: 0}
    assert TrafficSplit(new, 0, "canary") in info.traffic
    url = cloudrun.revision_url("grading-service", new)
    assert url == info.tag_urls["canary"]
    probe = standin_prober(standin).probe(url + "/health", timeout_s=2)
    assert probe.ok and new in probe.body and NEW_SHA in probe.body


def test_rollback_routes_all_traffic_back_and_keeps_tags(cloudrun: CloudRun) -> None:
    old = cloudrun.get_service("grading-service").serving_revision or ""
    deployed = cloudrun.deploy_revision(
        "grading-service", image="img/grading:bad", labels={"commit-sha": NEW_SHA}, tag="canary"
    )
    new = deployed.latest_created_revision or ""
    assert deployed.serving_revision == new
    rolled = cloudrun.set_traffic("grading-service", [TrafficSplit(old, 100)])
    assert rolled.serving_revision == old
    assert rolled.traffic_by_revision == {old: 100, new: 0}
    assert rolled.tag_urls.keys() == {"canary"}
    assert len(cloudrun.list_revisions("grading-service")) == 3


def test_a_tag_whose_uri_is_not_filled_in_yet_has_no_url() -> None:
    """run.v2 TrafficTargetStatus.uri ('Displays the target URI') is an empty string until
    Cloud Run fills it in: the tag was kept with '' as its URL, so the new revision's health
    probe went to '' + '/health' and the deploy rolled back a revision that was fine."""
    from google.cloud import run_v2

    path = "projects/p/locations/us-west2/services/grading-service"
    svc = run_v2.Service(
        name=path,
        uri="https://grading-service-abc-wl.a.run.app",
        traffic_statuses=[
            run_v2.TrafficTargetStatus(
                type_=2, revision=f"{path}/revisions/gs-00001-abc", percent=100
            ),
            run_v2.TrafficTargetStatus(
                type_=2, revision=f"{path}/revisions/gs-00002-def", tag="candidate"
            ),
        ],
    )
    info = CloudRun._service_info(svc)
    assert info.tag_urls == {}
    assert info.tag_url("gs-00002-def") is None
    assert TrafficSplit("gs-00002-def", 0, "candidate") in info.traffic


def test_revision_url_refuses_an_unreachable_revision(cloudrun: CloudRun) -> None:
    old = cloudrun.list_revisions("grading-service")[-1].name
    with pytest.raises(CloudRunError, match="no tag"):
        cloudrun.revision_url("grading-service", old)


def test_invalid_traffic_and_labels_are_rejected_like_the_real_api(cloudrun: CloudRun) -> None:
    old, current = [r.name for r in cloudrun.list_revisions("grading-service")][::-1]
    with pytest.raises(CloudRunError, match="sum to 100"):
        cloudrun.set_traffic("grading-service", [TrafficSplit(old, 50), TrafficSplit(current, 40)])
    # a missing revision is accepted by the API and fails the operation (see test_standin_contract)
    with pytest.raises(CloudRunError, match="operation failed: .*does not exist or is deleted"):
        cloudrun.set_traffic("grading-service", [TrafficSplit("grading-service-00042-abc", 100)])
    with pytest.raises(CloudRunError, match="value must be at most 63 lowercase"):
        cloudrun.deploy_revision("grading-service", image="x", labels={"commit-sha": "ABC"})
    with pytest.raises(CloudRunError, match="reserved"):
        cloudrun.deploy_revision("grading-service", image="x", labels={"run.googleapis.com/x": "y"})
    assert len(cloudrun.list_revisions("grading-service")) == 2


# ---------------------------------------------------------------- annotations CAS


def test_set_annotations_is_a_compare_and_swap_that_creates_no_revision(
    cloudrun: CloudRun,
) -> None:
    info = cloudrun.get_service("grading-service")
    locked = cloudrun.set_annotations(
        "grading-service", {"nbaops.dev/deploy-lock": "run-1"}, etag=info.etag
    )
    assert locked.annotations == {"nbaops.dev/deploy-lock": "run-1"}
    assert locked.etag != info.etag
    assert locked.latest_created_revision == info.latest_created_revision
    with pytest.raises(ConcurrentModificationError, match="modified concurrently"):
        cloudrun.set_annotations(
            "grading-service", {"nbaops.dev/deploy-lock": "run-2"}, etag=info.etag
        )
    released = cloudrun.set_annotations(
        "grading-service", {"nbaops.dev/deploy-lock": None}, etag=locked.etag
    )
    assert released.annotations == {}
    assert len(cloudrun.list_revisions("grading-service")) == 2


def test_deploy_after_a_concurrent_change_does_not_lose_it(cloudrun: CloudRun) -> None:
    info = cloudrun.get_service("grading-service")
    cloudrun.set_annotations("grading-service", {"nbaops.dev/deploy-lock": "x"}, etag=info.etag)
    deployed = cloudrun.deploy_revision(
        "grading-service", image="y", labels={"commit-sha": NEW_SHA}
    )
    # deploy re-reads the service, so the annotation written in between survives
    assert deployed.annotations == {"nbaops.dev/deploy-lock": "x"}


# ---------------------------------------------------------------- API faults


def test_http_errors_become_one_line_cloudrun_errors(cloudrun: CloudRun, nbaops_home: Path) -> None:
    set_api_fault(nbaops_home, "http-5xx", count=1)
    with pytest.raises(CloudRunError, match="HTTP 503") as err:
        cloudrun.get_service("grading-service")
    assert "\n" not in str(err.value)
    set_api_fault(nbaops_home, "http-4xx", service="grading-service", count=1)
    with pytest.raises(CloudRunError, match="HTTP 403"):
        cloudrun.get_service("grading-service")
    assert cloudrun.get_service("grading-service").ready  # count consumed


def test_fault_limited_to_one_service_leaves_others_alone(
    cloudrun: CloudRun, nbaops_home: Path
) -> None:
    set_api_fault(nbaops_home, "http-5xx", service="phase3-processors")
    assert cloudrun.get_service("grading-service").ready
    with pytest.raises(CloudRunError):
        cloudrun.get_service("phase3-processors")
    clear_api_faults(nbaops_home)
    assert cloudrun.get_service("phase3-processors").ready


def test_timeout_is_bounded(cloudrun: CloudRun, nbaops_home: Path) -> None:
    set_api_fault(nbaops_home, "timeout", count=1, delay_s=4)
    with pytest.raises(CloudRunError, match="timed out"):
        cloudrun.get_service("grading-service")


def test_failed_operation_leaves_traffic_on_the_old_revision(
    standin: StandIn, local_profile: ProfileConfig, nbaops_home: Path
) -> None:
    """A failed rollout ends reconciling with observedGeneration left behind (run.v2
    Service.reconciling): it is reported at once with its reason. Waiting for
    observedGeneration to catch up polled until lro_timeout_s (10 minutes in prod) and
    then said "still reconciling", the reason lost."""
    slept: list[float] = []
    cloudrun = CloudRun(
        local_profile, standin.url, timeout_s=2.0, lro_timeout_s=10.0, retries=False,
        sleep=slept.append,
    )  # fmt: skip
    before = cloudrun.get_service("grading-service")
    set_api_fault(nbaops_home, "lro-fail", count=1)
    with pytest.raises(CloudRunError, match="operation failed"):
        cloudrun.deploy_revision("grading-service", image="z", labels={"commit-sha": NEW_SHA})
    assert sum(slept) < 1.0, f"waited {sum(slept):.1f}s of the 10 s rollout timeout"
    after = cloudrun.get_service("grading-service")
    assert after.observed_generation < after.generation  # the last serving generation
    assert after.serving_revision == before.serving_revision
    assert after.ready is False
    failed = cloudrun.get_revision("grading-service", after.latest_created_revision or "")
    assert failed.ready is False


def test_writes_after_a_failed_deploy_are_judged_by_their_own_effect(
    standin: StandIn, local_profile: ProfileConfig, nbaops_home: Path
) -> None:
    """While the latest *created* revision is failed the service stays not Ready after any
    write (run.v2 Service.reconciling: success means latest_ready_revision and
    latest_created_revision match; Knative: Ready = ConfigurationsReady and RoutesReady),
    so a traffic restore that was carried out ends CONDITION_FAILED naming that revision.
    The wait called it "operation failed" — the automated rollback of a failed deploy, and
    its lease release, reported as failures. A traffic write is judged by the traffic the
    service shows, a lease write once settled; traffic to a missing revision still fails."""
    cloudrun = CloudRun(
        local_profile, standin.url, timeout_s=2.0, lro_timeout_s=10.0, retries=False,
        sleep=lambda _s: None,
    )  # fmt: skip
    old, current = [r.name for r in cloudrun.list_revisions("grading-service")][::-1]
    set_api_fault(nbaops_home, "lro-fail", count=1)
    with pytest.raises(CloudRunError, match="operation failed"):
        cloudrun.deploy_revision("grading-service", image="z", labels={"commit-sha": NEW_SHA})
    failed = cloudrun.get_service("grading-service").latest_created_revision or ""

    rolled = cloudrun.set_traffic("grading-service", [TrafficSplit(old, 100)])
    assert rolled.traffic_by_revision == {old: 100}
    assert rolled.ready is False and f"Revision '{failed}' is not ready" in rolled.message
    split = [TrafficSplit(old, 80), TrafficSplit(current, 20, "was")]
    assert cloudrun.set_traffic("grading-service", split).traffic == split
    info = cloudrun.get_service("grading-service")
    assert (
        cloudrun.set_annotations("grading-service", {"a": "1"}, etag=info.etag).annotations["a"]
        == "1"
    )
    with pytest.raises(CloudRunError, match="operation failed: .*does not exist or is deleted"):
        cloudrun.set_traffic("grading-service", [TrafficSplit("grading-service-00042-abc", 100)])
    assert cloudrun.get_service("grading-service").traffic == split


def test_a_seeded_service_whose_latest_revision_failed_is_not_ready(
    cloudrun: CloudRun, nbaops_home: Path
) -> None:
    """Seeding called a service Ready when any of its revisions was, though its latest
    created one had failed: Cloud Run's is not (run.v2 Service.reconciling: success means
    latest_ready_revision and latest_created_revision match). It now reads as the stand-in's
    service after a failed deploy and a later write."""
    revisions = [SeedRevision("img:good"), SeedRevision("img:bad", ready=False)]
    seed_services(
        nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [SeedService("grading-service", revisions)]
    )
    info = cloudrun.get_service("grading-service")
    good, bad = [r.name for r in cloudrun.list_revisions("grading-service")][::-1]
    assert (info.latest_ready_revision, info.latest_created_revision) == (good, bad)
    assert info.ready is False and f"Revision '{bad}' is not ready" in info.message
    seed_services(
        nbaops_home,
        STANDIN_PROJECT,
        STANDIN_REGION,
        [SeedService("grading-service", [SeedRevision("img:bad", ready=False), *revisions[:1]])],
    )
    assert cloudrun.get_service("grading-service").ready is True  # the latest is ready


def test_traffic_to_a_failed_revision_is_not_routed_and_routes_are_not_ready(
    standin: StandIn, local_profile: ProfileConfig, nbaops_home: Path
) -> None:
    """Traffic naming a revision that failed to become ready was applied and the service's
    RoutesReady reported succeeded: a rollback to a failed deploy's revision "succeeded".
    Knative's Route cannot assign that traffic (AllTrafficAssigned false, RevisionMissing:
    "Revision %q failed to become ready.", knative/serving route_lifecycle.go), so the
    rollout fails and the service keeps its traffic; a seeded service routed to such a
    revision is not Ready, RoutesReady failed."""
    cloudrun = CloudRun(
        local_profile, standin.url, timeout_s=2.0, lro_timeout_s=10.0, retries=False,
        sleep=lambda _s: None,
    )  # fmt: skip
    before = cloudrun.get_service("grading-service").traffic
    set_api_fault(nbaops_home, "lro-fail", count=1)
    with pytest.raises(CloudRunError, match="operation failed"):
        cloudrun.deploy_revision("grading-service", image="z", labels={"commit-sha": NEW_SHA})
    failed = cloudrun.get_service("grading-service").latest_created_revision or ""
    with pytest.raises(CloudRunError, match=f"Revision '{failed}' failed to become ready"):
        cloudrun.set_traffic("grading-service", [TrafficSplit(failed, 100)])
    assert cloudrun.get_service("grading-service").traffic == before

    good, bad = (
        SeedRevision("img:good", name="grading-service-00001-aaa"),
        SeedRevision("img:bad", ready=False, name="grading-service-00002-bbb"),
    )
    traffic = [(bad.name or "", 50, ""), (good.name or "", 50, "")]
    seed = SeedService("grading-service", [bad, good], traffic=traffic)
    seed_services(nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [seed])
    info = cloudrun.get_service("grading-service")
    assert info.ready is False and f"Revision '{bad.name}' failed to become ready" in info.message
    full = service_name(STANDIN_PROJECT, STANDIN_REGION, "grading-service")
    conditions = {
        c["type"]: c["state"] for c in load_state(nbaops_home)["services"][full]["conditions"]
    }
    assert conditions["RoutesReady"] == CONDITION_FAILED
    assert conditions["ConfigurationsReady"] == CONDITION_SUCCEEDED


# ---------------------------------------------------------------- health


def test_health_probe_ok_degraded_and_timeout(
    cloudrun: CloudRun, nbaops_home: Path, local_profile: ProfileConfig, standin: StandIn
) -> None:
    prober = standin_prober(standin)
    url = cloudrun.get_service("grading-service").uri + "/health"
    ok = prober.probe(url, timeout_s=2)
    assert (ok.status, ok.ok, ok.error) == (200, True, None)
    assert '"status": "ok"' in ok.body

    seed_services(
        nbaops_home,
        local_profile.project,
        local_profile.region,
        [
            SeedService(
                "grading-service", [SeedRevision("img", {"commit-sha": NEW_SHA}, degraded=True)]
            )
        ],
    )
    bad = prober.probe(url, timeout_s=2)
    assert (bad.status, bad.ok) == (503, False)
    assert "degraded" in bad.body

    set_api_fault(nbaops_home, "health-timeout", count=1, delay_s=3)
    slow = prober.probe(url, timeout_s=0.5)
    assert slow.status is None and not slow.ok and "timed out" in (slow.error or "")

    set_api_fault(nbaops_home, "health-5xx", service="grading-service", count=1)
    other = prober.probe(url.replace("grading-service", "phase3-processors"), timeout_s=2)
    assert other.status == 200  # the fault is limited to grading-service
    assert prober.probe(url, timeout_s=2).status == 500  # injected
    assert prober.probe(url, timeout_s=2).status == 503  # count used up: degraded again


def test_health_probe_connection_refused_is_an_error_not_an_exception() -> None:
    result = HealthProber().probe("http://127.0.0.1:9/health", timeout_s=1)
    assert result.ok is False and result.status is None and result.error


def test_a_health_probe_of_a_url_without_http_is_an_error_not_an_exception() -> None:
    """The probe "never raises": a service without a URL yet (``uri`` "") probed as
    ``"" + "/health"`` raised urllib's ValueError "unknown url type" out of it."""
    for url in ("/health", "run.app/health"):
        result = HealthProber().probe(url, timeout_s=1)
        assert (result.ok, result.status) == (False, None)
        assert result.error == f"not an http(s) URL: {url!r}"


@pytest.mark.parametrize(
    ("head", "body", "error"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", b"", "broken HTTP reply"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", b"x" * 40, "timed out"),
    ],
    ids=["not-http", "dripping-body"],
)
def test_a_health_probe_bounds_a_broken_reply_and_never_raises(
    head: bytes, body: bytes, error: str
) -> None:
    """The probe "never raises": a reply without an HTTP status line raised
    http.client.BadStatusLine out of it (a traceback in the deploy's health wait). Its
    timeout bounded each socket read, not the body: a body dripping a byte every 0.3 s
    held a 1 s probe for ~12 s and then called it healthy."""
    with dripping_server(head, body, drip_s=0.3) as url:
        started = time.monotonic()
        result = HealthProber().probe(f"{url}/h", timeout_s=1)
        assert time.monotonic() - started < 5
    assert result.ok is False and result.error and error in result.error, result


def test_a_health_probe_reads_only_the_start_of_an_endless_body() -> None:
    """The probe keeps the first bytes of the body it reports: a healthy endpoint that
    streams on (or a large diagnostics body) is not waited for to its end."""
    start = b'{"status": "ok"}' + b" " * 2100
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + start
    with dripping_server(head, b"x" * (100000 - len(start)), drip_s=0.3) as url:
        result = HealthProber().probe(f"{url}/h", timeout_s=2)
    assert result.ok and result.status == 200 and result.body.startswith('{"status": "ok"}')


def test_a_health_path_with_non_ascii_or_spaces_is_probed_percent_encoded() -> None:
    """The probe "never raises": a health path the config accepts (``^/``) holding a
    non-ASCII character raised http.client's UnicodeEncodeError out of it (a traceback in
    the deploy's health wait), and one holding a space failed as "a broken HTTP reply".
    Such a path is sent percent-encoded as UTF-8 (RFC 3987 3.1), as requests sends it."""
    from worlds.http_fake import FakeServer, Request

    seen: list[str] = []

    def route(request: Request) -> tuple[int, object]:
        seen.append(request.path)
        return 200, {"status": "ok"}

    with FakeServer(route) as server:
        for path in ("/sant\u00e9", "/health check"):
            result = HealthProber().probe(server.url + path, timeout_s=5)
            assert (result.ok, result.status, result.error) == (True, 200, None), result
            assert result.url == server.url + path  # reported as configured
    assert seen == ["/sant%C3%A9", "/health%20check"]


# ---------------------------------------------------------------- logs


def _entry(service: str, severity: str, minutes_ago: int, text: str) -> dict[str, object]:
    return {
        "resource": {
            "type": "cloud_run_revision",
            "labels": {
                "service_name": service,
                "revision_name": f"{service}-00002-abc",
                "location": "us-west2",
                "project_id": "nbaops-local",
            },
        },
        "severity": severity,
        "timestamp": STANDIN_NOW - dt.timedelta(minutes=minutes_ago),
        "textPayload": text,
    }


@pytest.fixture
def logs(standin: StandIn, nbaops_home: Path, local_profile: ProfileConfig) -> LogReader:
    append_entries(
        nbaops_home,
        [
            _entry("grading-service", "ERROR", 5, "grading failed"),
            _entry("grading-service", "INFO", 6, "graded 120 predictions"),
            _entry("grading-service", "CRITICAL", 90, "old crash"),
            _entry("prediction-worker", "ERROR", 10, "model load failed"),
            {
                **{
                    k: v
                    for k, v in _entry("prediction-worker", "WARNING", 1, "").items()
                    if k != "textPayload"
                },
                "jsonPayload": {"message": "slow batch", "batch": 7},
            },
        ],
    )
    return LogReader(local_profile, standin.url, timeout_s=2)


def test_build_filter_always_has_a_time_window() -> None:
    text = build_filter(since=STANDIN_NOW, service="grading-service")
    assert 'timestamp >= "2024-11-25T15:00:00.000000Z"' in text
    assert 'resource.labels.service_name = "grading-service"' in text
    assert "severity >= ERROR" in text
    with pytest.raises(ValueError, match="unknown severity"):
        build_filter(since=STANDIN_NOW, min_severity="LOUD")


def test_logs_filter_by_service_severity_and_time(logs: LogReader) -> None:
    since = STANDIN_NOW - dt.timedelta(hours=1)
    errors = logs.entries(build_filter(since=since, service="grading-service"))
    assert [e.message for e in errors] == ["grading failed"]
    assert errors[0].severity == "ERROR" and errors[0].revision == "grading-service-00002-abc"

    all_errors = logs.entries(build_filter(since=since))
    assert [e.service for e in all_errors] == ["grading-service", "prediction-worker"]

    wide = logs.entries(
        build_filter(
            since=STANDIN_NOW - dt.timedelta(hours=3), until=STANDIN_NOW, min_severity="DEFAULT"
        )
    )
    assert [e.message for e in wide][:2] == ["slow batch", "grading failed"]  # newest first
    assert len(wide) == 5
    assert len(logs.entries(build_filter(since=since, min_severity="DEFAULT"), max_entries=2)) == 2


def test_logging_errors_become_logging_error(logs: LogReader, nbaops_home: Path) -> None:
    from nbaops.adapters.logs import TRANSIENT_RETRIES

    # a 500 is asked again TRANSIENT_RETRIES times: one answered to each of them
    set_api_fault(nbaops_home, "logging-error", count=1 + TRANSIENT_RETRIES)
    with pytest.raises(LoggingError, match="HTTP 500"):
        logs.entries(build_filter(since=STANDIN_NOW))
    with pytest.raises(LoggingError, match="invalid filter"):
        logs.entries('jsonPayload.message : "x" AND timestamp >= "2024-11-25T00:00:00Z"')


def test_logs_session_transport_reads_the_same_entries(
    logs: LogReader, local_profile: ProfileConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prod transport (google.auth AuthorizedSession) parses and pages like the local one."""
    session = LogReader(local_profile, logs.endpoint, timeout_s=2, transport="session")
    since = STANDIN_NOW - dt.timedelta(hours=3)
    wide = build_filter(since=since, until=STANDIN_NOW, min_severity="DEFAULT")
    assert session.entries(wide) == logs.entries(wide)
    # Paging: five entries read two per page come back whole and in order.
    everything = logs.entries(wide)
    monkeypatch.setattr("nbaops.adapters.logs.PAGE_LIMIT", 2)
    assert logs.entries(wide) == everything and len(everything) == 5
    assert [e.message for e in logs.entries(wide, max_entries=3)] == [
        e.message for e in logs.entries(wide)[:3]
    ]


def test_log_pages_continue_after_a_cursor_and_bad_paging_is_400(
    logs: LogReader, standin: StandIn, nbaops_home: Path
) -> None:
    """logging.v2 entries:list: default page 50, negative pageSize / other orderBy / a
    foreign token rejected, and an entry ingested between two newest-first pages is not
    returned twice (an offset token shifted by it and repeated the page's last entry)."""
    import requests

    url = standin.url + "/v2/entries:list"
    wide = build_filter(since=STANDIN_NOW - dt.timedelta(hours=3), min_severity="DEFAULT")
    body: dict[str, object] = {
        "resourceNames": [f"projects/{STANDIN_PROJECT}"],
        "filter": wide,
        "orderBy": "timestamp desc",
        "pageSize": 2,
    }

    def post(**changes: object) -> requests.Response:
        return requests.post(url, json={**body, **changes}, timeout=5)

    first = post().json()
    assert len(first["entries"]) == 2 and first["nextPageToken"]
    append_entries(nbaops_home, [_entry("grading-service", "ERROR", 0, "arrived meanwhile")])
    seen = [e["insertId"] for e in first["entries"]]
    token = first["nextPageToken"]
    while token:
        page = post(pageToken=token).json()
        seen += [e["insertId"] for e in page["entries"]]
        token = page.get("nextPageToken")
    assert len(seen) == len(set(seen)) == 5  # the new entry sorts before the cursor
    # equal timestamps: ordered by insertId, each returned once across pages of one
    twins = [{**_entry("grading-service", "ERROR", 30, t), "insertId": t} for t in ("b", "a")]
    append_entries(nbaops_home, twins)
    ids, token = [], None
    while True:
        page = post(pageSize=1, **({"pageToken": token} if token else {})).json()
        ids += [e["insertId"] for e in page["entries"]]
        if not (token := page.get("nextPageToken")):
            break
    assert len(ids) == len(set(ids)) == 8 and ids.index("a") + 1 == ids.index("b")
    append_entries(nbaops_home, [_entry("grading-service", "INFO", 40, "x")] * 60)
    no_size = {k: v for k, v in body.items() if k != "pageSize"}
    default = requests.post(url, json=no_size, timeout=5).json()
    assert len(default["entries"]) == 50 and default["nextPageToken"]  # "Default is 50"
    for bad in (
        {"pageSize": -1},  # "If the value is negative, the request is rejected"
        {"orderBy": "severity desc"},  # only "timestamp asc" and "timestamp desc"
        {"pageToken": "2"},
        {"pageToken": "not a token"},
        {"pageToken": first["nextPageToken"], "orderBy": "timestamp asc"},
        {"pageToken": first["nextPageToken"], "filter": build_filter(since=STANDIN_NOW)},
    ):
        reply = post(**bad)
        assert reply.status_code == 400, bad
        assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    asc = post(orderBy="timestamp asc", pageSize=1000).json()["entries"]
    assert asc == sorted(asc, key=lambda e: (e["timestamp"], e["insertId"]))


def test_logs_timestamps_keep_nanosecond_precision_parsing() -> None:
    from nbaops.adapters.logs import parse_timestamp, to_record

    when = parse_timestamp("2024-11-25T14:55:00.123456789Z")
    assert when == dt.datetime(2024, 11, 25, 14, 55, 0, 123456, tzinfo=dt.UTC)
    assert parse_timestamp("2024-11-25T09:55:00-05:00") == dt.datetime(
        2024, 11, 25, 14, 55, tzinfo=dt.UTC
    )
    record = to_record({"timestamp": "2024-11-25T14:55:00Z", "protoPayload": {"a": 1}})
    assert record.severity == "DEFAULT" and record.message == '{"a": 1}'
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_timestamp("yesterday")


def test_logs_unreachable_endpoint_is_a_logging_error(local_profile: ProfileConfig) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reader = LogReader(local_profile, f"http://127.0.0.1:{port}", timeout_s=1)
    with pytest.raises(LoggingError, match="cannot reach the API"):
        reader.entries(build_filter(since=STANDIN_NOW))


def test_a_latest_traffic_status_without_its_revision_resolves_to_the_latest_ready(
    local_profile: ProfileConfig,
) -> None:
    """A LATEST target's status may carry no revision (the v2 type says only "the
    Service's latest ready Revision"): it was read as revision '' — no serving revision,
    and the canary's current traffic dropped it."""
    from worlds.http_fake import FakeServer

    base = f"projects/{local_profile.project}/locations/{local_profile.region}/services/svc"
    service = {
        "name": base,
        "uri": "https://svc-abc-uc.a.run.app",
        "latestReadyRevision": f"{base}/revisions/svc-00002-new",
        "latestCreatedRevision": f"{base}/revisions/svc-00002-new",
        "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED"},
        "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 90}],
        "trafficStatuses": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 90},
            {
                "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                "revision": "svc-00001-old",
                "percent": 10,
            },
        ],
        "template": {"containers": [{"image": "img:v2"}]},
        "etag": '"e1"',
    }
    with FakeServer(lambda _request: (200, service)) as server:
        cloudrun = CloudRun(local_profile, server.url, timeout_s=2.0, retries=False)
        info = cloudrun.get_service("svc")
    assert info.serving_revision == "svc-00002-new"
    assert info.traffic_by_revision == {"svc-00002-new": 90, "svc-00001-old": 10}


def test_an_html_page_answered_200_is_a_one_line_cloudrun_error(
    local_profile: ProfileConfig,
) -> None:
    """A proxy or captive portal that answers "200 OK" with its own HTML page: the REST
    transport parses the reply with protobuf's json_format, which raised its ParseError
    out of the adapter (not a CloudRunError: a traceback for every caller)."""
    from worlds.http_fake import FakeServer

    page = b"<html><body>Sign in to the hotel network</body></html>"
    with FakeServer(lambda _request: (200, page)) as server:
        cloudrun = CloudRun(local_profile, server.url, timeout_s=2.0, retries=False)
        with pytest.raises(CloudRunError, match="the reply could not be read") as err:
            cloudrun.get_service("svc")
        with pytest.raises(CloudRunError, match="not the API's answer"):
            cloudrun.list_revisions("svc")
    assert "\n" not in str(err.value)
