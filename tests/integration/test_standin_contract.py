"""The stand-in held to Google's published contracts, and nbaops' Cloud Run writes held to them.

- every request is validated against the discovery documents (route, method, query, body);
- Cloud Run semantics nbaops depends on: slow operations, a traffic target naming a missing
  revision failing the operation, 409 ALREADY_EXISTS for a reused revision name, 409
  ABORTED for a stale etag, ``updateMask`` honoured (unknown server fields survive);
- a local deploy rehearsal (canary + model version, and a plain deploy) sends only
  requests the documents accept, every PATCH with ``updateMask``, secret refs intact.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from worlds.deploy_world import NOW_DT, PROJECT, REGION, DeployWorld
from worlds.fake_clock import FakeClock
from worlds.standin import STANDIN_PROJECT, STANDIN_REGION

from nbaops.adapters.cloudrun import CloudRun, ConcurrentModificationError, TrafficSplit
from nbaops.config import ProfileConfig
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.errors import CloudRunError
from nbaops.local import cloudrun_state, request_log
from nbaops.local.api_faults import set_api_fault
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.discovery import Contract, ContractError, standin_contract
from nbaops.local.standin import StandIn
from nbaops.local.world import WorldHooks

SERVICE = "grading-service"
SECRET_REF = {"secretKeyRef": {"secret": "nbaops-data-api-key", "version": "latest"}}


def realistic(name: str, commit: str, *, image_tag: str = "v1") -> SeedService:
    """A service whose template looks like production's, plus a field the client lacks."""
    return SeedService(
        name=name,
        revisions=[
            SeedRevision(
                image=f"local.nbaops.dev/services/{name}:{image_tag}",
                labels={"commit-sha": commit},
                env={"MODEL_VERSION": "v8", "LOG_LEVEL": "INFO"},
                secret_env={"DATA_API_KEY": ("nbaops-data-api-key", "latest")},
                template_extra={
                    "serviceAccount": f"{name}@{PROJECT}.iam.gserviceaccount.com",
                    "scaling": {"minInstanceCount": 1, "maxInstanceCount": 10},
                    "timeout": "300s",
                },
                container_extra={"resources": {"limits": {"cpu": "1", "memory": "512Mi"}}},
                create_time=dt.datetime(2025, 1, 14, tzinfo=dt.UTC),
            )
        ],
        # sshEnabled is in run.v2.json but not in google-cloud-run 0.16.2's Service
        extra={"sshEnabled": True},
    )


def raw(url: str, method: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def state_service(home: Path, name: str, project: str = STANDIN_PROJECT) -> dict[str, Any]:
    region = STANDIN_REGION if project == STANDIN_PROJECT else REGION
    full = cloudrun_state.service_name(project, region, name)
    svc: dict[str, Any] = cloudrun_state.load_state(home)["services"][full]
    return svc


@pytest.fixture
def cloudrun(standin: StandIn, local_profile: ProfileConfig) -> CloudRun:
    return CloudRun(local_profile, standin.url, timeout_s=2.0, lro_timeout_s=10.0, retries=False)


@pytest.fixture
def service_url(standin: StandIn) -> str:
    return (
        f"{standin.url}/v2/projects/{STANDIN_PROJECT}/locations/{STANDIN_REGION}/services/{SERVICE}"
    )


# ---------------------------------------------------------------- the validator


def test_contract_rejects_unknown_field_wrong_type_and_unknown_enum_like_google(
    standin: StandIn, service_url: str, nbaops_home: Path
) -> None:
    before = state_service(nbaops_home, SERVICE)
    status, reply = raw(
        service_url + "?updateMask=traffic",
        "PATCH",
        {
            "bogusField": 1,
            "template": {"containers": [{"image": 5}]},
            "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_NOPE", "percent": 100}],
        },
    )
    assert status == 400
    error = reply["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    violations = error["details"][0]["fieldViolations"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    described = [v["description"] for v in violations]
    assert 'Invalid JSON payload received. Unknown name "bogusField": Cannot find field.' in (
        described
    )
    assert "Invalid value at 'template.containers[0].image' (TYPE_STRING), 5" in described
    assert any(
        v.get("field") == "traffic[0].type" and "TYPE_ENUM" in v["description"] for v in violations
    )
    assert error["message"] == "\n".join(described)
    # rejected before anything changed, and logged as rejected
    assert state_service(nbaops_home, SERVICE)["etag"] == before["etag"]
    assert StandIn.requests(nbaops_home)[-1]["contract"] == "rejected"


def test_contract_rejects_unknown_query_parameter_route_and_method(
    standin: StandIn, service_url: str
) -> None:
    status, reply = raw(service_url + "?updateMsk=traffic", "PATCH", {})
    assert status == 400
    assert "Cannot bind query parameter. Field 'updateMsk'" in reply["error"]["message"]
    status, reply = raw(service_url + "?updateMask=notAField", "PATCH", {})
    assert status == 400 and reply["error"]["details"][0]["fieldViolations"][0]["field"] == (
        "update_mask"
    )
    status, reply = raw(service_url + "?validateOnly=maybe", "PATCH", {})
    assert status == 400 and "(TYPE_BOOL)" in reply["error"]["message"]
    status, reply = raw(service_url.replace("/services/", "/servicez/"), "GET")
    assert (status, reply["error"]["status"]) == (404, "NOT_FOUND")
    status, reply = raw(service_url, "POST", {})
    assert status == 404 and "allows only DELETE, GET, PATCH" in reply["error"]["message"]


def test_validator_accepts_what_the_official_clients_send() -> None:
    contract = Contract(("run.v2", "logging.v2"))
    method = contract.validate(
        "PATCH",
        "/v2/projects/p/locations/l/services/s",
        "updateMask=template%2Clabels%2Ctraffic&%24alt=json%3Benum-encoding%3Dint",
        {
            "etag": '"x"',
            "labels": {"commit-sha": "a"},
            "template": {
                "revision": "s-00002-abc",
                "scaling": {"maxInstanceCount": 10},
                "timeout": "300s",
                "containers": [{"image": "i", "env": [{"name": "K", "valueSource": SECRET_REF}]}],
            },
            "traffic": [{"type": 2, "revision": "s-00001-xyz", "percent": 100, "tag": "c"}],
        },
    )
    assert method.id == "run.projects.locations.services.patch"
    listed = contract.validate(
        "POST", "/v2/entries:list", "", {"resourceNames": ["projects/p"], "pageSize": 10}
    )
    assert listed.id == "logging.entries.list"
    # the operations route exists in both documents: the first API listed wins
    assert contract.match("GET", "/v2/projects/p/locations/l/operations/1").api == "run.v2"
    with pytest.raises(ContractError, match=r"Invalid value at 'page_size' \(TYPE_INT32\)"):
        contract.validate(
            "POST", "/v2/entries:list", "", {"resourceNames": ["projects/p"], "pageSize": "x"}
        )


def test_documents_are_installed_for_the_tests() -> None:
    # google-api-python-client is a dev dependency: every test run validates.
    assert standin_contract() is not None


def test_request_log_redacts_secrets_keeps_secret_refs_and_stays_bounded(tmp_path: Path) -> None:
    body = {
        "template": {
            "containers": [
                {
                    "env": [
                        {"name": "SLACK_TOKEN", "value": "xoxb-secret"},
                        {"name": "LOG_LEVEL", "value": "INFO"},
                        {"name": "DATA_API_KEY", "valueSource": SECRET_REF},
                    ]
                }
            ]
        },
        "accessToken": "ya29.x",
        "payload": {"data": "c2VjcmV0"},
    }
    clean = request_log.redact(body)
    env = clean["template"]["containers"][0]["env"]
    assert env[0]["value"] == request_log.REDACTED
    assert env[1]["value"] == "INFO"
    assert env[2]["valueSource"] == SECRET_REF
    assert clean["accessToken"] == request_log.REDACTED
    assert clean["payload"]["data"] == request_log.REDACTED
    assert "ya29" not in request_log.redact_query("access_token=ya29.x&pageSize=1")
    assert request_log.bounded_body({"x": "y" * 20_000}) == {"_truncated": True, "chars": 20_009}
    for index in range(300):
        request_log.record(tmp_path, {"index": index, "pad": "p" * 100})
    request_log.trim(tmp_path, max_bytes=10_000)
    kept = request_log.read(tmp_path)
    assert kept and kept[-1]["index"] == 299 and len(kept) < 60
    assert request_log.log_path(tmp_path).stat().st_size <= 5_000


# ---------------------------------------------------------------- Cloud Run semantics


def test_slow_operation_stays_not_done_and_reconciling_until_polled(
    standin: StandIn, local_profile: ProfileConfig, nbaops_home: Path, service_url: str
) -> None:
    set_api_fault(nbaops_home, "slow-lro", service=SERVICE, count=1, polls=3)
    status, op = raw(
        service_url + "?updateMask=annotations", "PATCH", {"annotations": {"owner": "ada"}}
    )
    assert status == 200 and op["done"] is False and "response" not in op
    assert state_service(nbaops_home, SERVICE)["reconciling"] is True
    op_url = f"{standin.url}/v2/{op['name']}"
    answers = [raw(op_url, "GET")[1]["done"] for _ in range(4)]
    assert answers == [False, False, False, True]
    done = raw(op_url, "GET")[1]
    assert done["response"]["annotations"] == {"owner": "ada"}
    assert done["response"]["reconciling"] is False
    assert done["response"]["terminalCondition"]["state"] == cloudrun_state.CONDITION_SUCCEEDED


def test_the_adapter_waits_for_a_slow_rollout_with_injected_sleeps(
    standin: StandIn, local_profile: ProfileConfig, nbaops_home: Path
) -> None:
    sleeps: list[float] = []
    cloudrun = CloudRun(
        local_profile, standin.url, lro_timeout_s=1.0, retries=False, sleep=sleeps.append
    )
    etag = cloudrun.get_service(SERVICE).etag
    set_api_fault(nbaops_home, "slow-lro", service=SERVICE, count=1, polls=5)
    locked = cloudrun.set_annotations(SERVICE, {"lock": "x"}, etag=etag)
    assert locked.ready and locked.annotations == {"lock": "x"}
    assert len(sleeps) == 5 and sleeps[0] == 0.01 and sleeps == sorted(sleeps)
    assert max(sleeps) <= cloudrun.poll_max_s
    # a rollout that outlasts lro_timeout_s is an error naming the wait, never a hang
    sleeps.clear()
    set_api_fault(nbaops_home, "slow-lro", service=SERVICE, count=1, polls=10_000)
    with pytest.raises(CloudRunError, match="still reconciling after 1s"):
        cloudrun.set_annotations(SERVICE, {"lock": None}, etag=locked.etag)
    assert sum(sleeps[:-1]) < 1.0 <= sum(sleeps)


def test_traffic_to_a_missing_revision_fails_the_operation_not_the_request(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    before = cloudrun.get_service(SERVICE)
    body = {"traffic": [{"type": 2, "revision": f"{SERVICE}-00042-abc", "percent": 100}]}
    status, op = raw(service_url + "?updateMask=traffic", "PATCH", body)
    assert status == 200  # accepted
    done = raw(f"{standin.url}/v2/{op['name']}", "GET")[1]
    assert done["done"] is True
    assert "does not exist or is deleted" in done["error"]["message"]
    after = cloudrun.get_service(SERVICE)
    assert after.traffic == before.traffic
    assert after.ready is False and "does not exist" in after.message
    with pytest.raises(CloudRunError, match="operation failed"):
        cloudrun.set_traffic(SERVICE, [TrafficSplit(f"{SERVICE}-00042-abc", 100)])


def test_a_failed_traffic_rollout_keeps_the_spec_and_serves_what_it_served(
    standin: StandIn, cloudrun: CloudRun, service_url: str
) -> None:
    """The stand-in dropped the requested traffic when its rollout failed. run.v2
    Service.reconciling: "If reconciliation succeeded, the following fields will match:
    traffic and traffic_statuses ... If reconciliation failed, traffic_statuses ... will
    have the state of the last serving revision" (googleapis google/cloud/run/v2/
    service.proto): the spec is stored, only the statuses stay. A later write that keeps
    the spec fails again (Lore-Hex/quill-router#782: "desired traffic retained a 90/10
    split ... The next deploy ... still returned the old revision's failure"), yet applies
    its own fields; one that routes to existing revisions serves them."""
    served = raw(service_url, "GET")[1]["trafficStatuses"]
    missing = {"type": 2, "revision": f"{SERVICE}-00042-abc", "percent": 100}
    op = raw(service_url + "?updateMask=traffic", "PATCH", {"traffic": [missing]})[1]
    assert "error" in raw(f"{standin.url}/v2/{op['name']}", "GET")[1]
    svc = raw(service_url, "GET")[1]
    assert svc["traffic"] == [missing] and svc["trafficStatuses"] == served
    assert int(svc["observedGeneration"]) < int(svc["generation"])
    body = {"annotations": {"owner": "ada"}}
    op = raw(service_url + "?updateMask=annotations", "PATCH", body)[1]
    assert (
        "does not exist or is deleted"
        in raw(f"{standin.url}/v2/{op['name']}", "GET")[1]["error"]["message"]
    )
    svc = raw(service_url, "GET")[1]
    assert svc["annotations"] == {"owner": "ada"} and svc["trafficStatuses"] == served
    serving = served[0]["revision"]
    info = cloudrun.set_traffic(SERVICE, [TrafficSplit(serving, 100)])
    assert info.ready and info.traffic_by_revision == {serving: 100}
    svc = raw(service_url, "GET")[1]
    assert [(t["revision"], t["percent"]) for t in svc["traffic"]] == [(serving, 100)]
    assert svc["observedGeneration"] == svc["generation"]


def test_traffic_types_may_be_named_as_proto3_json_allows(
    standin: StandIn, service_url: str
) -> None:
    """proto3 JSON takes an enum as its name or its number; the contract accepted
    "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION" and the stand-in then answered 500 INTERNAL
    (int() of the name). Only the REST clients asking $alt=json;enum-encoding=int send
    numbers."""
    served = raw(service_url, "GET")[1]["trafficStatuses"][0]["revision"]
    named = {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": served, "percent": 90}
    latest = {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 10}
    status, op = raw(service_url + "?updateMask=traffic", "PATCH", {"traffic": [named, latest]})
    assert status == 200, op
    assert "error" not in raw(f"{standin.url}/v2/{op['name']}", "GET")[1]
    svc = raw(service_url, "GET")[1]
    assert [(t["type"], t["percent"]) for t in svc["trafficStatuses"]] == [(2, 90), (1, 10)]
    bad = {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_NOPE", "percent": 100}
    status, reply = raw(service_url + "?updateMask=traffic", "PATCH", {"traffic": [bad]})
    assert status == 400, reply


def test_a_created_service_whose_first_rollout_fails_serves_nothing(
    standin: StandIn, service_url: str
) -> None:
    """A create whose traffic names a missing revision: its operation finished without an
    error (the create dropped it) and trafficStatuses resolved to 100% of the new
    revision. run.v2 Service.reconciling: "If reconciliation failed,
    traffic_statuses, observed_generation, and latest_ready_revision will have the state of
    the last serving revision, or empty for newly created Services" (googleapis
    google/cloud/run/v2/service.proto)."""
    parent = service_url.rsplit("/services/", 1)[0]
    missing = {"type": 2, "revision": "fresh-00042-abc", "percent": 100}
    body = {"template": {"containers": [{"image": "img/x:1"}]}, "traffic": [missing]}
    status, op = raw(parent + "/services?serviceId=fresh", "POST", body)
    assert status == 200, op
    done = raw(f"{standin.url}/v2/{op['name']}", "GET")[1]
    assert "does not exist or is deleted" in done["error"]["message"], done
    svc = raw(parent + "/services/fresh", "GET")[1]
    assert svc["traffic"] == [missing]
    assert svc.get("trafficStatuses", []) == []
    assert int(svc.get("observedGeneration") or 0) == 0


def test_reused_revision_name_with_a_different_template_is_409_already_exists(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    svc = state_service(nbaops_home, SERVICE)
    current = svc["template"]["revision"]
    template = json.loads(json.dumps(svc["template"]))
    template["containers"][0]["image"] = "local.nbaops.dev/services/other:1"
    status, reply = raw(service_url + "?updateMask=template", "PATCH", {"template": template})
    assert status == 409 and reply["error"]["status"] == "ALREADY_EXISTS"
    assert f"Revision named '{current}' with different configuration" in reply["error"]["message"]
    # the same name with the same template is no change (no new revision)
    status, _op = raw(service_url + "?updateMask=template", "PATCH", {"template": svc["template"]})
    assert status == 200
    assert len(cloudrun.list_revisions(SERVICE)) == 2
    # through the adapter: a deploy naming an existing revision is a CloudRunError
    with pytest.raises(CloudRunError, match="already exists"):
        cloudrun.deploy_revision(SERVICE, image="x:1", labels={}, revision_name=current)


def test_a_template_naming_an_older_revision_with_its_configuration_is_no_conflict(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    """Naming an older revision whose configuration matches answered 409 "different
    configuration"; run.v2 RevisionTemplate.revision is "the unique name for the revision",
    and an existing name is refused only with a different configuration (Knative's
    CheckNameAvailability, whose message Cloud Run answers): no new revision is made."""
    older = state_service(nbaops_home, SERVICE)["template"]
    cloudrun.deploy_revision(SERVICE, image="img/other:2", labels={})
    count = len(cloudrun.list_revisions(SERVICE))
    status, reply = raw(service_url + "?updateMask=template", "PATCH", {"template": older})
    assert status == 200, reply
    assert len(cloudrun.list_revisions(SERVICE)) == count
    assert state_service(nbaops_home, SERVICE)["template"]["revision"] == older["revision"]


def test_a_forced_update_never_replaces_the_revision_name_it_was_given(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """forceNewRevision with a template naming the current revision created a revision
    under a generated name, dropping the given one; run.v2 generates a name only "if this
    field is omitted", and a unique name in use cannot name a new revision: 409."""
    template = state_service(nbaops_home, SERVICE)["template"]
    forced = service_url + "?updateMask=template&forceNewRevision=true"
    status, reply = raw(forced, "PATCH", {"template": template})
    assert status == 409, reply
    assert reply["error"]["status"] == "ALREADY_EXISTS"
    assert f"Revision named '{template['revision']}' already exists" in reply["error"]["message"]
    status, op = raw(forced, "PATCH", {"template": {**template, "revision": SERVICE + "-forced"}})
    assert status == 200, op
    assert state_service(nbaops_home, SERVICE)["latestCreatedRevision"].endswith("-forced")


def test_stale_etag_is_409_aborted_and_a_missing_etag_means_last_write_wins(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    stale = cloudrun.get_service(SERVICE).etag
    cloudrun.set_annotations(SERVICE, {"a": "1"}, etag=stale)
    status, reply = raw(
        service_url + "?updateMask=annotations", "PATCH", {"etag": stale, "annotations": {}}
    )
    assert (status, reply["error"]["status"]) == (409, "ABORTED")
    with pytest.raises(ConcurrentModificationError):
        cloudrun.set_annotations(SERVICE, {"b": "2"}, etag=stale)
    status, _ = raw(service_url + "?updateMask=annotations", "PATCH", {"annotations": {"c": "3"}})
    assert status == 200
    assert cloudrun.get_service(SERVICE).annotations == {"c": "3"}


def test_update_mask_changes_only_masked_fields_and_unknown_server_fields_survive(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    seed_services(nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [realistic(SERVICE, "a" * 40)])
    first = cloudrun.list_revisions(SERVICE)[0].name
    info = cloudrun.set_annotations(SERVICE, {"lock": "x"}, etag=cloudrun.get_service(SERVICE).etag)
    info = cloudrun.deploy_revision(SERVICE, image="img:2", labels={"commit-sha": "b" * 40})
    cloudrun.set_traffic(SERVICE, [TrafficSplit(first, 100)])
    svc = state_service(nbaops_home, SERVICE)
    assert svc["sshEnabled"] is True  # unknown to the client, survived three writes
    assert svc["annotations"] == {"lock": "x"}  # the deploy and traffic writes left them
    assert svc["labels"]["commit-sha"] == "b" * 40
    env = svc["template"]["containers"][0]["env"]
    assert {"name": "DATA_API_KEY", "valueSource": SECRET_REF} in env
    assert svc["template"]["serviceAccount"].startswith(SERVICE)
    assert svc["template"]["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 10}
    assert info.latest_created_revision != first
    # the same write without a mask replaces every settable field: the field is lost
    status, _ = raw(service_url, "PATCH", {"annotations": {"lock": "y"}})
    assert status == 200
    after = state_service(nbaops_home, SERVICE)
    assert "sshEnabled" not in after and after["labels"] == {}
    patches = [r for r in StandIn.requests(nbaops_home) if r["method"] == "PATCH"]
    assert [parse_mask(r["query"]) for r in patches[:3]] == [
        "annotations",
        "template,labels,traffic",
        "traffic",
    ]


def parse_mask(query: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query).get("updateMask")
    return values[0] if values else None


# ---------------------------------------------------------------- the deploy rehearsal


def test_deploy_rehearsal_sends_only_requests_the_discovery_documents_accept(
    dworld: DeployWorld,
) -> None:
    seed_services(
        dworld.home,
        PROJECT,
        REGION,
        [realistic(name, dworld.first) for name in ("prediction-worker", "phase4-processors")],
    )
    ctx = dworld.context()
    clock = FakeClock(wall=NOW_DT)  # moves NBAOPS_NOW: the canary's metrics become visible
    canary = run_deploy(
        ctx,
        DeployRequest(service="prediction-worker", canary=20, model_version="v9", skip_tests=True),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    assert canary.outcome == "success", canary.final_line()
    plain = run_deploy(dworld.context(), DeployRequest(service="phase4-processors"))
    assert plain.outcome == "success", plain.final_line()

    requests = dworld.requests()
    api = [r for r in requests if r["path"].startswith(("/v1/", "/v2/", "/v3/"))]
    assert api and all(r["contract"] == "ok" for r in api), [
        r for r in api if r["contract"] != "ok"
    ]
    contract = standin_contract()
    assert contract is not None
    for entry in api:  # re-checked from the log, independently of the stand-in's verdict
        contract.validate(entry["method"], entry["path"], entry["query"], entry["body"])
    patches = [r for r in requests if r["method"] == "PATCH"]
    assert len(patches) >= 6  # lock, deploy, canary shift, promote, unlock per service
    assert all(parse_mask(r["query"]) for r in patches)
    for entry in patches:
        mask = set((parse_mask(entry["query"]) or "").split(","))
        sent = set(entry["body"]) - {"name", "etag"}
        assert sent <= mask, (mask, sent)
        assert "template" not in entry["body"] or mask == {"template", "labels", "traffic"}
    deploys = [p for p in patches if "template" in p["body"]]
    worker = next(p for p in deploys if "prediction-worker" in p["path"])
    sent_env = worker["body"]["template"]["containers"][0]["env"]
    assert {"name": "DATA_API_KEY", "valueSource": SECRET_REF} in sent_env
    assert {"name": "MODEL_VERSION", "value": "v9"} in sent_env
    for name in ("prediction-worker", "phase4-processors"):
        svc = state_service(dworld.home, name, project=PROJECT)
        env = svc["template"]["containers"][0]["env"]
        assert {"name": "DATA_API_KEY", "valueSource": SECRET_REF} in env, name
        assert svc["sshEnabled"] is True
        assert svc["template"]["serviceAccount"] == f"{name}@{PROJECT}.iam.gserviceaccount.com"
    worker_env = state_service(dworld.home, "prediction-worker", project=PROJECT)["template"][
        "containers"
    ][0]["env"]
    assert {"name": "MODEL_VERSION", "value": "v9"} in worker_env


def test_validate_only_answers_the_result_without_changing_anything(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    before = state_service(nbaops_home, SERVICE)
    status, op = raw(
        service_url + "?updateMask=labels&validateOnly=true", "PATCH", {"labels": {"team": "ops"}}
    )
    assert status == 200 and op["done"] is True
    assert op["response"]["labels"] == {"team": "ops"}
    assert state_service(nbaops_home, SERVICE) == before


def test_a_validate_only_request_leaves_the_rollout_faults_to_the_real_one(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """A dry run starts no rollout, yet it took the ``lro-fail`` and ``slow-lro`` faults
    set for the next update, which then succeeded at once."""
    set_api_fault(nbaops_home, "lro-fail", count=1)
    set_api_fault(nbaops_home, "slow-lro", count=1, polls=1)
    body = {"template": {"containers": [{"image": "img/x:2"}]}}
    status, dry = raw(service_url + "?validateOnly=true", "PATCH", body)
    assert status == 200 and dry["done"] is True and "error" not in dry, dry
    status, real = raw(service_url, "PATCH", body)
    assert status == 200 and real["done"] is False, real  # slow-lro: pending
    polls = [raw(standin.url + "/v2/" + real["name"], "GET")[1] for _ in range(2)]
    assert [p["done"] for p in polls] == [False, True] and "error" in polls[1], polls  # lro-fail


def test_a_validate_only_request_does_not_tell_the_world_of_a_revision(
    standin: StandIn, service_url: str
) -> None:
    """A dry run makes no revision ("validated and default values populated, without
    persisting the request"), yet it called the world's new-revision hook: the sandbox's
    hook consumed its armed next-revision-degraded fault and degraded the service's data,
    and the real deploy after it got a healthy revision. A create's dry run likewise."""
    calls: list[tuple[str, str]] = []

    def on_new_revision(home: Path, service: str, revision: str) -> bool:
        calls.append((service, revision))
        return True

    StandIn.start(standin.home, WorldHooks(on_new_revision=on_new_revision))
    body = {"template": {"containers": [{"image": "img/x:2"}]}}
    status, dry = raw(service_url + "?validateOnly=true", "PATCH", body)
    assert status == 200 and dry["done"] is True, dry
    parent = service_url.rsplit("/services/", 1)[0]
    status, _ = raw(parent + "/services?serviceId=dry-service&validateOnly=true", "POST", body)
    assert status == 200 and calls == []
    status, _ = raw(service_url, "PATCH", body)
    assert status == 200 and [service for service, _ in calls] == [SERVICE]


def test_test_iam_permissions_refuses_a_wildcard(service_url: str) -> None:
    """run.v2 TestIamPermissionsRequest.permissions: "Permissions with wildcards (such as *
    or storage.*) are not allowed." The stand-in answered "run.*" as held, so a check of
    one could never fail locally."""
    url = service_url + ":testIamPermissions"
    status, reply = raw(url, "POST", {"permissions": ["run.services.get"]})
    assert status == 200 and reply == {"permissions": ["run.services.get"]}
    for wildcard in ("run.*", "run.services.*"):
        status, reply = raw(url, "POST", {"permissions": [wildcard]})
        assert status == 400 and "wildcards" in reply["error"]["message"], reply


def test_published_write_parameters_are_honoured_not_silently_ignored(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """The contract accepts ``allowMissing``, ``forceNewRevision`` and a create's
    ``validateOnly`` (run.v2.json), and the stand-in ignored them: a PATCH with
    allowMissing answered 404 where Google creates the service (AIP-134: every field
    applied, whatever the mask), forceNewRevision made no revision, and a validate-only
    create created the service. A create without ``serviceId`` (Google generates one) was a
    400 Google never answers."""
    parent = service_url.rsplit("/services/", 1)[0]
    new_body = {"labels": {"team": "ops"}, "template": {"containers": [{"image": "img/x:1"}]}}
    missing = parent + "/services/new-service"
    status, _ = raw(missing + "?updateMask=labels", "PATCH", new_body)
    assert status == 404
    status, op = raw(missing + "?updateMask=labels&allowMissing=true", "PATCH", new_body)
    assert status == 200, op
    created = state_service(nbaops_home, "new-service")
    assert created["labels"] == {"team": "ops"}  # the mask did not limit the create
    assert created["template"]["containers"][0]["image"] == "img/x:1"

    status, op = raw(parent + "/services?serviceId=dry-service&validateOnly=true", "POST", new_body)
    assert status == 200 and op["done"] is True and op["response"]["name"].endswith("/dry-service")
    assert (
        f"{parent.split('/v2/', 1)[1]}/services/dry-service"
        not in (cloudrun_state.load_state(nbaops_home)["services"])
    )
    status, reply = raw(parent + "/services", "POST", new_body)
    assert (status, reply["error"]["status"]) == (501, "UNIMPLEMENTED")

    def revisions() -> list[dict[str, Any]]:
        full = cloudrun_state.service_name(STANDIN_PROJECT, STANDIN_REGION, SERVICE)
        return cloudrun_state.revisions_of(cloudrun_state.load_state(nbaops_home), full)

    before = revisions()
    unnamed = dict(state_service(nbaops_home, SERVICE)["template"])
    unnamed.pop("revision")  # omitted: Google generates the new revision's name
    status, op = raw(
        service_url + "?updateMask=template&forceNewRevision=true", "PATCH", {"template": unnamed}
    )
    assert status == 200, op
    after = revisions()
    assert len(after) == len(before) + 1
    assert after[0]["containers"] == before[0]["containers"]  # the same template, anew


def test_two_upserts_of_a_missing_service_at_once_create_it_then_update_it(
    standin: StandIn, nbaops_home: Path, service_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ``services.patch`` with ``allowMissing=true`` of a missing service at once: the
    stand-in decided "missing" outside the lock its write takes, so the second, decided
    while the first was creating, answered 409 ALREADY_EXISTS. Google updates an existing
    service (AIP-134 "Create or update": on a resource that already exists, "only fields
    declared in the field mask are updated"). The second request is held until it waits
    for the state lock, while the first is creating (inside its new-revision hook)."""
    import threading

    from nbaops.local import standin as standin_module

    parent = service_url.rsplit("/services/", 1)[0]
    upsert = parent + "/services/upserted?updateMask=labels&allowMissing=true"
    first_body = {"labels": {"team": "a"}, "template": {"containers": [{"image": "img/a:1"}]}}
    creating: list[int] = []  # the first request's thread, inside its create
    second_waits = threading.Event()
    replies: list[tuple[int, dict[str, Any]]] = []
    threads: list[threading.Thread] = []
    real_locked = standin_module.locked

    def spied_locked(home: Path) -> Any:
        if creating and threading.get_ident() != creating[0]:
            second_waits.set()  # the second request is about to wait for the state lock
        return real_locked(home)

    def second() -> None:
        replies.append(raw(upsert, "PATCH", {"labels": {"team": "b"}}))

    def on_new_revision(home: Path, service: str, revision: str) -> bool:
        if service == "upserted" and not creating:
            creating.append(threading.get_ident())
            threads.append(threading.Thread(target=second, daemon=True))
            threads[0].start()
            assert second_waits.wait(30), "the second upsert never reached the state lock"
        return False

    monkeypatch.setattr(standin_module, "locked", spied_locked)
    StandIn.start(nbaops_home, WorldHooks(on_new_revision=on_new_revision))
    status, op = raw(upsert, "PATCH", first_body)
    assert status == 200, op
    # the second's reply is read by its own thread: joined, not inferred from the server
    # going idle (it is idle once it wrote the reply, before the thread has read it)
    threads[0].join(30)
    assert not threads[0].is_alive() and len(replies) == 1
    status, op = replies[0]
    assert status == 200, op  # was 409 ALREADY_EXISTS
    updated = state_service(nbaops_home, "upserted")
    assert updated["labels"] == {"team": "b"}  # the mask's field, updated
    assert updated["template"]["containers"][0]["image"] == "img/a:1"  # the rest as created


def test_the_stand_ins_replies_hold_only_published_fields(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path, service_url: str
) -> None:
    seed_services(nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [realistic(SERVICE, "a" * 40)])
    cloudrun.deploy_revision(SERVICE, image="img:2", labels={}, tag="candidate", no_traffic=True)
    contract = standin_contract()
    assert contract is not None
    set_api_fault(nbaops_home, "slow-lro", service=SERVICE, count=1, polls=1)
    _, pending = raw(service_url + "?updateMask=annotations", "PATCH", {"annotations": {}})
    revision = cloudrun.list_revisions(SERVICE)[0].name
    calls = [
        ("GET", service_url, None),
        ("GET", service_url.rsplit("/", 1)[0], None),
        ("GET", f"{service_url}/revisions", None),
        ("GET", f"{service_url}/revisions/{revision}", None),
        ("GET", f"{standin.url}/v2/{pending['name']}", None),  # not done yet
        ("GET", f"{standin.url}/v2/{pending['name']}", None),  # done, with the Service
        ("POST", f"{standin.url}/v2/entries:list", {"resourceNames": ["projects/x"]}),
    ]
    for method, url, body in calls:
        status, payload = raw(url, method, body)
        assert status == 200, (url, payload)
        path = url.split(standin.url, 1)[1]
        spec = contract.match(method, path)
        assert contract.response_violations(spec, payload) == [], (spec.id, payload)
    # and the check can fail: a field the API does not publish is named
    extra = contract.response_violations(contract.match("POST", path), {"entries": [{"x": 1}]})
    assert extra and 'Unknown name "x"' in extra[0][1]


def test_deploy_env_sets_literals_and_keeps_every_other_variable(
    standin: StandIn, cloudrun: CloudRun, nbaops_home: Path
) -> None:
    seed_services(nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [realistic(SERVICE, "a" * 40)])
    cloudrun.deploy_revision(
        SERVICE, image="img:2", labels={}, env={"MODEL_VERSION": "v9", "NEW_FLAG": "1"}
    )
    env = state_service(nbaops_home, SERVICE)["template"]["containers"][0]["env"]
    assert env == [
        {"name": "MODEL_VERSION", "value": "v9"},
        {"name": "LOG_LEVEL", "value": "INFO"},
        {"name": "DATA_API_KEY", "valueSource": SECRET_REF},
        {"name": "NEW_FLAG", "value": "1"},
    ]
    # the adapter reports literal values only; a secret's value is not in the API
    assert cloudrun.list_revisions(SERVICE)[0].env == {
        "MODEL_VERSION": "v9",
        "LOG_LEVEL": "INFO",
        "NEW_FLAG": "1",
    }
    # overriding a secret-backed variable with a literal replaces the reference (oneof)
    cloudrun.deploy_revision(SERVICE, image="img:3", labels={}, env={"DATA_API_KEY": "plain"})
    env = state_service(nbaops_home, SERVICE)["template"]["containers"][0]["env"]
    assert {"name": "DATA_API_KEY", "value": "plain"} in env
    assert not any("valueSource" in e for e in env)


def test_form_encoded_sts_exchange_is_checked_like_json(standin: StandIn) -> None:
    # what google-auth's external_account credentials send (google/oauth2/sts.py)
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p",
        "subject_token": "eyJ.x.y",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "https://www.googleapis.com/auth/cloud-platform",
    }
    contract = standin_contract()
    assert contract is not None
    assert contract.validate("POST", "/v1/token", "", form).id == "sts.token"
    with pytest.raises(ContractError, match='Unknown name "grant_typo"'):
        contract.validate("POST", "/v1/token", "", {"grant_typo": "x"})
    request = urllib.request.Request(
        f"{standin.url}/v1/token",
        data=b"grant_typo=x",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400
    assert 'Unknown name \\"grant_typo\\"' in info.value.read().decode()


def test_a_refused_update_leaves_the_rollout_faults_to_the_next_accepted_one(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """A PATCH refused before it starts an operation (a stale etag: 409 ABORTED, a lease
    write racing the deploy) took the ``lro-fail`` and ``slow-lro`` faults set for the next
    update, so the retried deploy succeeded at once: the faults wait for an update that
    starts a rollout, as they wait for the real update after a ``validateOnly`` dry run."""
    set_api_fault(nbaops_home, "lro-fail", count=1)
    set_api_fault(nbaops_home, "slow-lro", count=1, polls=1)
    body = {"template": {"containers": [{"image": "img/x:2"}]}}
    status, refused = raw(service_url, "PATCH", {**body, "etag": "stale"})
    assert (status, refused["error"]["status"]) == (409, "ABORTED"), refused
    status, real = raw(service_url, "PATCH", body)
    assert status == 200 and real["done"] is False, real  # slow-lro: pending
    polls = [raw(standin.url + "/v2/" + real["name"], "GET")[1] for _ in range(2)]
    assert [p["done"] for p in polls] == [False, True] and "error" in polls[1], polls  # lro-fail


def test_a_refused_create_leaves_the_slow_rollout_fault_to_the_next_accepted_one(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """A create refused with 409 ALREADY_EXISTS starts no operation, yet it took the
    ``slow-lro`` fault set for the next one."""
    set_api_fault(nbaops_home, "slow-lro", count=1, polls=1)
    parent = service_url.rsplit("/services/", 1)[0] + "/services"
    body = {"template": {"containers": [{"image": "img/x:1"}]}}
    status, refused = raw(f"{parent}?serviceId={SERVICE}", "POST", body)
    assert (status, refused["error"]["status"]) == (409, "ALREADY_EXISTS"), refused
    status, created = raw(f"{parent}?serviceId=brand-new", "POST", body)
    assert status == 200 and created["done"] is False, created
    polls = [raw(standin.url + "/v2/" + created["name"], "GET")[1] for _ in range(2)]
    assert [p["done"] for p in polls] == [False, True], polls  # slow-lro: one more poll


def test_query_parameters_spelled_with_their_proto_names_are_honoured(
    standin: StandIn, nbaops_home: Path, service_url: str
) -> None:
    """Google's HTTP transcoding binds a query parameter by its JSON name or its proto
    field name (``updateMask`` or ``update_mask``), and the contract check accepts both;
    the stand-in then read only the JSON spelling: ``?update_mask=annotations`` was
    served as an update without a mask, which replaces every settable field (the
    template and traffic sent as absent were cleared), and ``page_size`` was ignored."""
    before = state_service(nbaops_home, SERVICE)
    status, op = raw(service_url + "?update_mask=annotations", "PATCH", {"annotations": {"a": "1"}})
    assert status == 200, op
    after = state_service(nbaops_home, SERVICE)
    assert after["annotations"] == {"a": "1"}
    assert after["template"] == before["template"] and after["traffic"] == before["traffic"]
    assert after["latestCreatedRevision"] == before["latestCreatedRevision"]
    parent = service_url.rsplit("/services/", 1)[0] + "/services"
    status, page = raw(parent + "?page_size=1", "GET")
    assert status == 200 and len(page["services"]) == 1 and page["nextPageToken"], page


def test_request_log_masks_secrets_nbaops_knows_whatever_the_key_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request log redacted a value by the name of its key or env var only: a Slack
    incoming-webhook URL set as ``NOTIFY_URL``, or the ``GITHUB_TOKEN`` value under any
    name, was written to ``standin-requests.jsonl`` in clear. Every other output of
    nbaops masks them, and fragments of them, through :func:`nbaops.redact.redact`."""
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
    monkeypatch.setenv("GITHUB_TOKEN", token)
    hook = "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx"
    body = {
        "template": {
            "containers": [
                {
                    "env": [
                        {"name": "NOTIFY_URL", "value": hook},
                        {"name": "BUILD_NOTE", "value": f"made with {token[:20]}"},
                        {"name": "LOG_LEVEL", "value": "INFO"},
                    ]
                }
            ]
        }
    }
    text = json.dumps(request_log.bounded_body(body))
    assert "abcdefghijklmnopqrstuvwx" not in text and token[4:20] not in text, text
    assert '"INFO"' in text
    query = request_log.redact_query(f"note={token}&pageSize=1")
    assert token[4:20] not in query and "pageSize=1" in query
