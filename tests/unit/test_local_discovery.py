"""The discovery-document validator: routes, query parameters and body fields, as Google checks."""

from __future__ import annotations

from typing import Any

import pytest

from nbaops.local import discovery
from nbaops.local.discovery import Contract, ContractError

SERVICE = "/v2/projects/p/locations/l/services/s"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(discovery.STANDIN_APIS)


def rejection(contract: Contract, *args: Any) -> ContractError:
    with pytest.raises(ContractError) as info:
        contract.validate(*args)
    return info.value


def test_routes_resolve_to_published_methods_of_each_api(contract: Contract) -> None:
    cases = {
        ("GET", SERVICE): "run.projects.locations.services.get",
        ("GET", SERVICE + "/revisions"): "run.projects.locations.services.revisions.list",
        (
            "POST",
            SERVICE + ":testIamPermissions",
        ): "run.projects.locations.services.testIamPermissions",
        ("POST", "/v2/entries:list"): "logging.entries.list",
        (
            "POST",
            "/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com:generateIdToken",
        ): "iamcredentials.projects.serviceAccounts.generateIdToken",
        ("GET", "/v3/projects/p/timeSeries"): "monitoring.projects.timeSeries.list",
        (
            "GET",
            "/v1/projects/p/secrets/s/versions/latest:access",
        ): "secretmanager.projects.secrets.versions.access",
        ("GET", "/v1/projects/p/locations/l/jobs/j"): "cloudscheduler.projects.locations.jobs.get",
    }
    for (method, path), method_id in cases.items():
        assert contract.match(method, path).id == method_id, path


def test_route_matching_agrees_with_each_routes_full_regex(contract: Contract) -> None:
    """The literal pre-checks of ``ApiMethod.matches`` only skip regexes that cannot match:
    each published route, against its own path filled in (and variants one segment off)
    and a sample of every other route's, agrees with its whole-route regex (``{param}`` =
    one or more non-``/`` characters)."""
    import re

    def full_regex(flat: str) -> re.Pattern[str]:
        parts = re.split(r"\{[^}]+\}", flat)
        return re.compile("/" + "[^/]+".join(re.escape(p) for p in parts))

    def filled(flat: str, value: str = "x") -> str:
        return "/" + re.sub(r"\{[^}]+\}", value, flat)

    sample = sorted({filled(m.flat_path) for m in contract.methods})[::8]
    sample += ["/", "/v2", "/v2/entries:list:x"]
    for method in contract.methods:
        own = filled(method.flat_path)
        paths = [own, own + "/x", own + ":x", filled(method.flat_path, ""), *sample]
        expected = full_regex(method.flat_path)
        assert method.matches(own), method.id
        for path in paths:
            assert method.matches(path) is bool(expected.fullmatch(path)), (method.id, path)
    assert max(m.specificity for m in contract.methods if m.id == "logging.entries.list") == len(
        "v2/entries:list"
    )


def test_unknown_route_and_wrong_method_are_404(contract: Contract) -> None:
    error = rejection(contract, "GET", "/v2/projects/p/nothing", "", None)
    assert (error.code, error.status) == (404, "NOT_FOUND")
    error = rejection(contract, "PUT", SERVICE, "", None)
    assert error.code == 404 and "allows only DELETE, GET, PATCH" in error.message
    assert error.to_json() == {
        "error": {"code": 404, "message": error.message, "status": "NOT_FOUND"}
    }


def test_query_parameters_are_typed_and_system_parameters_accepted(contract: Contract) -> None:
    ok = "updateMask=template.containers,traffic&validateOnly=true&$alt=json;enum-encoding=int"
    assert contract.validate("PATCH", SERVICE, ok, {}).id.endswith("services.patch")
    assert contract.validate("GET", SERVICE, "alt=json&prettyPrint=false&fields=name", None)
    # snake_case mask paths resolve like camelCase ones
    assert contract.validate("PATCH", SERVICE, "update_mask=latest_ready_revision", {}) is not None
    bad = {
        "validateOnly=yes": "(TYPE_BOOL)",
        "allowMissing=true&allowMissing=false": "Repeated values for field 'allowMissing'",
        "updateMask=template.nope": "no field 'template.nope'",
        "$alt=xml": "(TYPE_ENUM)",
    }
    for query, expected in bad.items():
        error = rejection(contract, "PATCH", SERVICE, query, {})
        assert error.code == 400 and expected in error.message, query
    listing = rejection(
        contract, "GET", "/v2/projects/p/locations/l/services", "pageSize=ten", None
    )
    assert listing.message == "Invalid value at 'page_size' (TYPE_INT32), \"ten\""
    ts = "/v3/projects/p/timeSeries"
    assert contract.validate(
        "GET",
        ts,
        "filter=x&interval.endTime=2025-01-15T17:00:00Z&aggregation.alignmentPeriod=60s"
        "&view=FULL&aggregation.groupByFields=a&aggregation.groupByFields=b",
        None,
    )
    for query, expected in {
        "interval.endTime=yesterday": "Timestamp",
        "aggregation.alignmentPeriod=60": "Duration",
        "view=EVERYTHING": "TYPE_ENUM",
    }.items():
        assert expected in rejection(contract, "GET", ts, f"filter=x&{query}", None).message


def test_body_unknown_fields_types_and_enums_match_googles_wording(contract: Contract) -> None:
    body = {
        "nope": 1,
        "generation": "12x",
        "labels": {"a": 1},
        "template": {
            "containers": [{"image": "i", "ports": [{"containerPort": "80"}], "extra": True}],
            "maxInstanceRequestConcurrency": 1.5,
            "timeout": "5 minutes",
            "executionEnvironment": 2**31,
            "scaling": "lots",
        },
        "traffic": {"type": 1},
        "invokerIamDisabled": "yes",
        "ingress": "INGRESS_TRAFFIC_ALL",
    }
    error = rejection(contract, "PATCH", SERVICE, "", body)
    by_field = {v[0]: v[1] for v in error.violations}
    assert by_field[""] == 'Invalid JSON payload received. Unknown name "nope": Cannot find field.'
    assert by_field["generation"] == "Invalid value at 'generation' (TYPE_INT64), \"12x\""
    assert by_field["labels['a']"] == "Invalid value at 'labels['a']' (TYPE_STRING), 1"
    assert by_field["template.containers[0]"].endswith(
        "Unknown name \"extra\" at 'template.containers[0]': Cannot find field."
    )
    assert "template.containers[0].ports[0].container_port" not in by_field  # "80" is valid
    assert "(TYPE_INT32), 1.5" in by_field["template.max_instance_request_concurrency"]
    assert "Duration" in by_field["template.timeout"]
    assert "(TYPE_ENUM), 2147483648" in by_field["template.execution_environment"]
    assert "(TYPE_MESSAGE)" in by_field["template.scaling"]
    assert "(repeated field)" in by_field["traffic"]
    assert "(TYPE_BOOL)" in by_field["invoker_iam_disabled"]
    assert "ingress" not in by_field  # enum by name
    assert error.message == "\n".join(v[1] for v in error.violations)
    details = error.to_json()["error"]["details"][0]
    assert details["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert {"description": by_field[""]} in details["fieldViolations"]


def test_a_numeric_enum_is_any_int32_as_proto3_enums_are_open(contract: Contract) -> None:
    """The discovery document lists enum names, not their numbers: judging a number by its
    position in the list refused VPC_NETWORK_NOT_FOUND (17 of Condition.CommonReason, whose
    16 names skip 2 and 5) and ALIGN_PERCENT_CHANGE (23). Proto3 JSON parsers accept any
    number (conformance: Required.Proto3.JsonInput.EnumFieldUnknownValue)."""
    method = contract.match("GET", SERVICE)
    reply = {"name": "s", "terminalCondition": {"type": "Ready", "reason": 17}}
    assert contract.response_violations(method, reply) == []
    body = {"template": {"executionEnvironment": 9}}
    assert contract.validate("PATCH", SERVICE, "", body)
    # ALIGN_PERCENT_CHANGE is 23 of Aggregation.Aligner's 19 names
    query = "filter=x&$alt=json;enum-encoding=int&aggregation.perSeriesAligner=23"
    assert contract.validate("GET", "/v3/projects/p/timeSeries", query, None)


def test_scalars_follow_the_proto3_json_mapping(contract: Contract) -> None:
    ok: dict[str, Any] = {
        "generation": 7,  # int64 as a number is accepted too
        "template": {
            "maxInstanceRequestConcurrency": "80",
            "timeout": "1.5s",
            "containers": [{"env": None, "image": "i"}],  # null = default
        },
        "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100.0}],
        "createTime": "2025-01-15T17:00:00.123Z",
    }
    assert contract.validate("PATCH", SERVICE, "", ok)
    entry = {
        "logName": "projects/p/logs/x",
        "resource": {"type": "global"},
        "jsonPayload": {"any": [1, {"x": None}]},
    }
    write = "/v2/entries:write"
    assert contract.validate("POST", write, "", {"entries": [entry]})
    secret = "/v1/projects/p/secrets/s:addVersion"
    assert contract.validate("POST", secret, "", {"payload": {"data": "aGVsbG8="}})
    bad = rejection(contract, "POST", secret, "", {"payload": {"data": "***"}})
    assert "(TYPE_BYTES)" in bad.message
    bad = rejection(contract, "PATCH", SERVICE, "", {"traffic": [{"percent": True}]})
    assert "(TYPE_INT32), true" in bad.message
    for when in ("noon", "2025-01-15", "2025-13-15T17:00:00Z", "2025-01-15T17:00:00"):
        bad = rejection(contract, "PATCH", SERVICE, "", {"createTime": when})
        assert "Timestamp" in bad.message, when


def test_an_integer_outside_its_types_range_is_invalid(contract: Contract) -> None:
    """Any integer passed for an int32 or int64: a pageSize of 2**31 was served (coerced to
    the maximum), a generation of 2**64 accepted, and an enum number of 5000 digits in a
    query was a 500 INTERNAL (int() refuses over 4300 digits). Proto3 JSON parsers reject
    out-of-bound integers (protobuf conformance Int32FieldTooLarge, Int64FieldTooLarge)."""
    services = "/v2/projects/p/locations/l/services"
    for query in (f"pageSize={2**31}", f"pageSize={-(2**31) - 1}", "pageSize=" + "9" * 5000):
        error = rejection(contract, "GET", services, query, None)
        assert error.code == 400 and "(TYPE_INT32)" in error.message, query[:30]
    assert contract.validate("GET", services, f"pageSize={2**31 - 1}", None)
    for generation in (2**63, str(-(2**63) - 1), "1" + "0" * 30):
        error = rejection(contract, "PATCH", SERVICE, "", {"generation": generation})
        assert "(TYPE_INT64)" in error.message, generation
    assert contract.validate("PATCH", SERVICE, "", {"generation": str(2**63 - 1)})
    percent = rejection(contract, "PATCH", SERVICE, "", {"traffic": [{"percent": 2.0**40}]})
    assert "(TYPE_INT32)" in percent.message
    aligner = "filter=x&aggregation.perSeriesAligner=" + "9" * 5000
    error = rejection(contract, "GET", "/v3/projects/p/timeSeries", aligner, None)
    assert error.code == 400 and "(TYPE_ENUM)" in error.message


def test_a_body_on_a_method_without_one_is_rejected(contract: Contract) -> None:
    assert contract.validate("GET", SERVICE, "", {}) is not None
    error = rejection(contract, "GET", SERVICE, "", {"x": 1})
    assert "takes no request body" in error.message


def test_documents_load_from_the_installed_package_without_importing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "googleapiclient", raising=False)
    discovery._documents_dir.cache_clear()
    assert discovery.documents_available()
    assert "googleapiclient" not in sys.modules  # found by its spec, its __init__ not run
    document = discovery.load_document("run.v2")
    assert document["name"] == "run" and document["version"] == "v2"
    with pytest.raises(FileNotFoundError):
        discovery.load_document("nosuchapi.v0")


def test_requests_arriving_together_share_one_contract_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    builds: list[int] = []
    real_init = Contract.__init__

    def counted(self: Contract, *args: Any) -> None:
        builds.append(1)
        real_init(self, *args)

    monkeypatch.setattr(Contract, "__init__", counted)
    discovery._build_contract.cache_clear()
    start = threading.Barrier(5)
    got: list[Contract | None] = []

    def request() -> None:
        start.wait()
        got.append(discovery.standin_contract())

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    discovery._build_contract.cache_clear()  # later tests build their own, uncounted
    assert len(builds) == 1 and len({id(c) for c in got}) == 1 and got[0] is not None


def test_every_route_of_a_document_starts_with_its_version(contract: Contract) -> None:
    """What lets a request read only the documents of its path's first segment."""
    for method in contract.methods:
        assert method.flat_path.startswith(method.api.rsplit(".", 1)[1] + "/"), method.id


def test_a_request_reads_only_the_documents_of_its_version_once() -> None:
    """The first request read all eight documents (1.6 MB of JSON, ~20 ms more than a
    health run's Logging requests need); requests arriving together read each one once."""
    import threading

    discovery.load_document.cache_clear()
    lazy = Contract(discovery.STANDIN_APIS)
    start = threading.Barrier(5)
    found: list[str] = []

    def request() -> None:
        start.wait()
        found.append(lazy.validate("POST", "/v2/entries:list", "", {"resourceNames": []}).id)

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == ["logging.entries.list"] * 5
    assert discovery.load_document.cache_info().misses == 2  # run.v2 and logging.v2
    assert lazy.match("GET", "/v3/projects/p/timeSeries").api == "monitoring.v3"
    assert discovery.load_document.cache_info().misses == 3
