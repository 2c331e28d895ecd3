"""Cloud Run stand-in state: services and revisions as Cloud Run Admin API v2 JSON.

File ``home/cloudrun.json`` (written atomically under the stand-in lock)::

    {
      "version": 1,
      "services":   {"projects/P/locations/L/services/S": <Service>},
      "revisions":  {"projects/P/locations/L/services/S/revisions/R": <Revision>},
      "operations": {"projects/P/locations/L/operations/ID": <Operation>}
    }

``<Service>`` and ``<Revision>`` are the camelCase JSON of ``google.cloud.run.v2`` with
enums as integers and int64 as strings, exactly as the REST API returns them, minus the
fields computed per response from the live port (``uri``, ``urls``, ``trafficStatuses``
with tag URIs). Keys starting with ``_`` are private to the stand-in and never returned:
a revision's ``_degraded`` (its health endpoint answers 503) and ``_template`` (the
template it was made from, which a later template naming it must match), a service's
``_served_traffic`` (what serves while a rollout of its ``traffic`` failed). Revision names follow
``{service}-{5 digits}-{3 letters}``.

The sandbox seeds services and revisions with :func:`seed_services`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbaops.clock import rfc3339
from nbaops.local.state_files import damaged, locked, read_json, write_json_atomic

STATE_NAME = "cloudrun.json"
MAX_OPERATIONS = 200  # operations kept in the state file (save_state)

TRAFFIC_LATEST = 1
TRAFFIC_REVISION = 2
# proto3 JSON takes an enum as its name or its number: run.v2 TrafficTargetAllocationType
TRAFFIC_TYPE_NAMES = {
    "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED": 0,
    "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST": TRAFFIC_LATEST,
    "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION": TRAFFIC_REVISION,
}
CONDITION_FAILED = 3
CONDITION_SUCCEEDED = 4
INGRESS_ALL = 1

FORBIDDEN_KEY_PARTS = ("run.googleapis.com", "cloud.googleapis.com", "knative.dev")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}\Z")
TAG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?\Z")
REVISION_INDEX_RE = re.compile(r"-(\d{5})-[a-z]{3}$")

# Fields of a Service a client may set; everything else in a PATCH body is output-only.
SETTABLE_SERVICE_FIELDS = (
    "description",
    "labels",
    "annotations",
    "client",
    "clientVersion",
    "ingress",
    "launchStage",
    "binaryAuthorization",
    "template",
    "scaling",
    "traffic",
    "customAudiences",
    "invokerIamDisabled",
    "defaultUriDisabled",
    # Settable in run.v2.json but unknown to google-cloud-run 0.16.2: a client that
    # re-sends the whole service without an update mask clears them.
    "iapEnabled",
    "sshEnabled",
    "functionalType",
    "multiRegionSettings",
)
CONDITION_RECONCILING = 2


class StandInApiError(Exception):
    """An error the stand-in answers as Google API error JSON (:meth:`to_json`).

    ``violations`` (field, description) become the ``google.rpc.BadRequest`` details
    Google's front end adds to a 400 (see :mod:`nbaops.local.discovery`); ``details`` are
    other ``google.rpc`` details as they are (an ``ErrorInfo``).
    """

    def __init__(
        self,
        code: int,
        status: str,
        message: str,
        violations: Sequence[tuple[str, str]] = (),
        details: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.violations = list(violations)
        self.details = list(details)

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        details = list(self.details)
        if self.violations:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": f, "description": d} if f else {"description": d}
                        for f, d in self.violations
                    ],
                }
            )
        if details:
            error["details"] = details
        return {"error": error}


def invalid_argument(message: str) -> StandInApiError:
    """Google's 400 ``INVALID_ARGUMENT`` reply."""
    return StandInApiError(400, "INVALID_ARGUMENT", message)


def not_found(message: str) -> StandInApiError:
    """Google's 404 ``NOT_FOUND`` reply."""
    return StandInApiError(404, "NOT_FOUND", message)


def not_found_service(full: str) -> StandInApiError:
    """Cloud Run's 404 for the service ``projects/P/locations/L/services/S``."""
    _, project, _, region, _, service = full.split("/")[:6]
    return not_found(
        f"Resource '{service}' of kind 'SERVICE' in region '{region}' "
        f"in project '{project}' does not exist."
    )


@dataclass
class SeedRevision:
    """One revision to seed. ``name`` None: ``{service}-{index:05d}-{xyz}``."""

    image: str
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    create_time: dt.datetime | None = None
    ready: bool = True
    degraded: bool = False
    name: str | None = None
    # env var name -> (Secret Manager secret, version): ``valueSource.secretKeyRef``
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)
    # any other RevisionTemplate fields as v2 JSON (resources live in ``containers``):
    # ``serviceAccount``, ``scaling``, ``timeout``, ``maxInstanceRequestConcurrency``…
    template_extra: dict[str, Any] = field(default_factory=dict)
    # extra fields of the first container (``resources``, ``ports``)
    container_extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SeedService:
    """A service to seed: revisions oldest first; ``traffic`` as (revision, percent, tag).

    ``traffic`` None routes 100% to the latest ready revision (type LATEST).
    """

    name: str
    revisions: list[SeedRevision]
    traffic: list[tuple[str, int, str]] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # more Service fields as v2 JSON, e.g. ``{"sshEnabled": true}`` (a field the pinned
    # client does not know, which an update must not clear) or ``scaling``
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- files


def state_path(home: Path) -> Path:
    return home / STATE_NAME


def load_state(home: Path) -> dict[str, Any]:
    """The current state (fresh from disk)."""
    data = read_json(state_path(home), {"version": 1})
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key, {}), dict) for key in ("services", "revisions", "operations")
    ):  # read as "no services", every call was a 404
        raise damaged(state_path(home), "not the stand-in's services, revisions and operations")
    for key in ("services", "revisions", "operations"):
        data.setdefault(key, {})
    return data


def save_state(home: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically. Call under :func:`locked`."""
    # Keep the operations log bounded: only the most recent finished ones can still be
    # polled. One still running is kept whatever its age: dropped, it would never finish,
    # and its service would stay reconciling for good.
    ops = state.get("operations", {})
    if len(ops) > MAX_OPERATIONS:
        done = sorted((k for k in ops if ops[k].get("done")), key=lambda k: ops[k].get("_time", ""))
        for key in done[: len(ops) - MAX_OPERATIONS]:
            del ops[key]
    write_json_atomic(state_path(home), state)


# ---------------------------------------------------------------- helpers


def service_name(project: str, region: str, service: str) -> str:
    return f"projects/{project}/locations/{region}/services/{service}"


def short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def new_etag() -> str:
    return f'"{uuid.uuid4().hex[:20]}"'


def revision_index(name: str) -> int:
    match = REVISION_INDEX_RE.search(name)
    return int(match.group(1)) if match else 0


def generate_revision_name(service: str, index: int, salt: str) -> str:
    """``{service}-{index:05d}-{3 letters}``, the letters derived from ``salt``."""
    digest = hashlib.sha256(f"{service}/{index}/{salt}".encode()).digest()
    letters = "".join(chr(ord("a") + b % 26) for b in digest[:3])
    return f"{service}-{index:05d}-{letters}"


def revisions_of(state: dict[str, Any], full_service: str) -> list[dict[str, Any]]:
    """The service's revisions, newest first."""
    prefix = full_service + "/revisions/"
    revs = [r for k, r in state["revisions"].items() if k.startswith(prefix)]
    return sorted(
        revs, key=lambda r: (r.get("createTime", ""), revision_index(r["name"])), reverse=True
    )


def is_ready(resource: dict[str, Any]) -> bool:
    for cond in resource.get("conditions", []):
        if cond.get("type") == "Ready":
            return bool(cond.get("state") == CONDITION_SUCCEEDED)
    return False


def ready_condition(ok: bool, when: str, message: str = "") -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": "Ready",
        "state": CONDITION_SUCCEEDED if ok else CONDITION_FAILED,
        "lastTransitionTime": when,
    }
    if message:
        cond["message"] = message
    return cond


def service_conditions(
    state: dict[str, Any], svc: dict[str, Any], error: str | None, when: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Ready (terminal) condition and the ``conditions`` a rollout of ``svc`` ends with,
    and a seeded service has (:func:`seed_services`).

    A write that was carried out still leaves the service not Ready while its latest
    *created* revision is not ready (a failed deploy's), whatever the write: run.v2
    Service.reconciling, "If reconciliation succeeded, the following fields will match:
    traffic and traffic_statuses, observed_generation and generation,
    latest_ready_revision and latest_created_revision"; as Knative's Service, Ready only
    when ConfigurationsReady and RoutesReady are (knative/serving
    pkg/apis/serving/v1/service_lifecycle.go). A traffic restore after a failed deploy
    therefore ends in CONDITION_FAILED naming that revision, its routes ready. Traffic
    naming a revision that is not ready (a seeded one: an update refuses it,
    :func:`unready_targets`) fails RoutesReady, as Knative's Route marks it
    (``MarkRevisionFailed``: "Revision %q failed to become ready.").
    """
    if error is not None:
        failed = ready_condition(False, when, error)
        return failed, [failed]
    created = state["revisions"].get(svc.get("latestCreatedRevision") or "") or {}
    ready = next((c for c in created.get("conditions", []) if c.get("type") == "Ready"), None)
    unready = unready_targets(state, svc["name"], svc.get("traffic") or [])
    routes = ready_condition(not unready, when, revision_failed(unready[0]) if unready else "")
    if ready is not None and ready.get("state") != CONDITION_SUCCEEDED:
        why = f"Revision '{short(created['name'])}' is not ready and cannot serve traffic."
        failed = ready_condition(False, when, f"{why} {ready.get('message', '')}".strip())
        configs = {**failed, "type": "ConfigurationsReady"}
        return failed, [failed, {**routes, "type": "RoutesReady"}, configs]
    if unready:
        configs = {**ready_condition(True, when), "type": "ConfigurationsReady"}
        return routes, [routes, {**routes, "type": "RoutesReady"}, configs]
    ok = ready_condition(True, when)
    return ok, [ok]


def revision_failed(revision: str) -> str:
    """Knative's Route message for traffic naming a failed revision
    (knative/serving pkg/apis/serving/v1/route_lifecycle.go, ``MarkRevisionFailed``)."""
    return f"Revision '{revision}' failed to become ready."


def unready_targets(
    state: dict[str, Any], full_service: str, traffic: list[dict[str, Any]]
) -> list[str]:
    """REVISION targets naming a revision of ``full_service`` that exists and is not
    ready (a failed deploy's): Knative's Route cannot assign their traffic
    (AllTrafficAssigned false, reason RevisionMissing) and keeps serving what it served."""
    revisions = state["revisions"]
    prefix = f"{full_service}/revisions/"
    return [
        revision
        for revision in revision_targets(traffic)
        if prefix + revision in revisions and not is_ready(revisions[prefix + revision])
    ]


def revision_targets(traffic: list[dict[str, Any]]) -> list[str]:
    """The revisions the REVISION targets of ``traffic`` name, in order."""
    return [
        str(t.get("revision")) for t in traffic if int(t.get("type", 0) or 0) == TRAFFIC_REVISION
    ]


def _normalize(value: Any) -> Any:
    """Drop empty values so a template read back and re-sent compares equal."""
    if isinstance(value, dict):
        out = {k: _normalize(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {}, 0, False)}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def template_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when ``new`` would create a revision. No revision name in ``new``: names ignored."""
    if not new.get("revision"):
        old = {k: v for k, v in old.items() if k != "revision"}
    return json.dumps(_normalize(old), sort_keys=True) != json.dumps(
        _normalize(new), sort_keys=True
    )


def validate_metadata(kind: str, values: dict[str, Any] | None, *, labels: bool) -> None:
    """Reject system prefixes; labels also need lowercase keys/values of ≤ 63 chars."""
    for key, value in (values or {}).items():
        if any(part in key for part in FORBIDDEN_KEY_PARTS):
            raise invalid_argument(
                f"{kind} {key!r}: keys under run.googleapis.com, cloud.googleapis.com "
                "and knative.dev are reserved"
            )
        if labels:
            if not LABEL_KEY_RE.match(key):
                raise invalid_argument(
                    f"{kind} key {key!r}: must be 1-63 lowercase letters, digits, '_' or '-'"
                )
            if not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
                raise invalid_argument(
                    f"{kind} {key}={value!r}: value must be at most 63 lowercase letters, "
                    "digits, '_' or '-'"
                )


def _set(**fields: Any) -> dict[str, Any]:
    """The fields that are set: proto3 JSON omits a field holding its default (0, "")."""
    return {k: v for k, v in fields.items() if v}


def resolve_traffic(state: dict[str, Any], svc: dict[str, Any]) -> list[dict[str, Any]]:
    """The traffic that serves, resolved to concrete revisions (the ``trafficStatuses``
    list): the ``traffic`` spec (none: 100% LATEST), or while a rollout of it failed the
    private ``_served_traffic`` it kept (:func:`~nbaops.local.cloudrun_update.update_service`),
    empty for a created service whose first rollout failed: run.v2 Service.reconciling,
    "If reconciliation failed, traffic_statuses ... will have the state of the last serving
    revision, or empty for newly created Services" (googleapis
    google/cloud/run/v2/service.proto)."""
    latest_ready = short(svc.get("latestReadyRevision", "")) or ""
    if "_served_traffic" in svc:
        served = svc["_served_traffic"]
    else:
        served = svc.get("traffic") or [{"type": TRAFFIC_LATEST, "percent": 100}]
    out = []
    for target in served:
        ttype = int(target.get("type", TRAFFIC_LATEST) or TRAFFIC_LATEST)
        revision = latest_ready if ttype == TRAFFIC_LATEST else target.get("revision", "")
        percent = int(target.get("percent") or 0)
        out.append(
            {"type": ttype, "revision": revision, **_set(percent=percent, tag=target.get("tag"))}
        )
    return out


def traffic_shares(state: dict[str, Any], svc: dict[str, Any]) -> dict[str, int]:
    """The percent of the serving traffic each revision receives, its entries summed
    (:func:`resolve_traffic`); only revisions that receive some."""
    shares: dict[str, int] = {}
    for entry in resolve_traffic(state, svc):
        if entry["revision"]:
            shares[entry["revision"]] = shares.get(entry["revision"], 0) + entry.get("percent", 0)
    return {revision: percent for revision, percent in shares.items() if percent > 0}


def serving_revision(state: dict[str, Any], svc: dict[str, Any]) -> str | None:
    """The revision with the largest traffic share, its entries summed (what the service
    URI reaches most often); ties as the adapter's ``ServiceInfo.serving_revision``."""
    shares = traffic_shares(state, svc)
    if not shares:
        return None
    latest = short(str(svc.get("latestReadyRevision") or ""))
    return max(shares, key=lambda r: (shares[r], r == latest, r))


def _traffic_type(value: Any) -> int:
    """A traffic target's ``type`` as its number (a name, a number, or none: 0)."""
    if isinstance(value, str) and value in TRAFFIC_TYPE_NAMES:
        return TRAFFIC_TYPE_NAMES[value]
    try:
        return int(value or 0)
    except ValueError:
        raise invalid_argument(f"traffic target type {value!r} is not a known type") from None


def validate_traffic(
    traffic: list[dict[str, Any]], service: str, known_revisions: set[str] | None
) -> list[dict[str, Any]]:
    """Validate like the real API; return the normalized list (empty → 100% LATEST).

    ``known_revisions`` None skips the existence check: on a PATCH the real API accepts a
    target naming a missing revision and fails the *operation* (see
    :func:`missing_revisions`), so only seeding checks it here.
    """
    if not traffic:
        return [{"type": TRAFFIC_LATEST, "percent": 100}]
    total = 0
    tags: set[str] = set()
    out = []
    for target in traffic:
        ttype = _traffic_type(target.get("type"))
        percent = int(target.get("percent", 0) or 0)
        revision = target.get("revision", "") or ""
        tag = target.get("tag", "") or ""
        if ttype not in (TRAFFIC_LATEST, TRAFFIC_REVISION):
            raise invalid_argument("traffic target type must be LATEST or REVISION")
        if ttype == TRAFFIC_REVISION and not revision:
            raise invalid_argument("traffic target of type REVISION needs a revision")
        if ttype == TRAFFIC_LATEST and revision:
            raise invalid_argument("traffic target of type LATEST must not name a revision")
        if (
            ttype == TRAFFIC_REVISION
            and known_revisions is not None
            and revision not in known_revisions
        ):
            raise invalid_argument(
                f"Revision named '{revision}' does not exist in service '{service}'"
            )
        if not 0 <= percent <= 100:
            raise invalid_argument(f"traffic percent {percent} must be between 0 and 100")
        if tag:
            if not TAG_RE.match(tag):
                raise invalid_argument(
                    f"traffic tag {tag!r} must be lowercase letters, digits "
                    "or '-', start with a letter, at most 46 characters"
                )
            if tag in tags:
                raise invalid_argument(f"traffic tag {tag!r} repeated")
            tags.add(tag)
        total += percent
        out.append({"type": ttype, **_set(revision=revision, percent=percent, tag=tag)})
    if total != 100:
        raise invalid_argument(f"traffic percents must sum to 100, got {total}")
    return out


# ---------------------------------------------------------------- builders


def _container_env(
    env: dict[str, str], secret_env: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in env.items()]
    for name, (secret, version) in secret_env.items():
        out.append(
            {"name": name, "valueSource": {"secretKeyRef": {"secret": secret, "version": version}}}
        )
    return out


def make_revision(
    full_service: str,
    rev_short: str,
    template: dict[str, Any],
    *,
    when: str,
    ready: bool,
    degraded: bool,
    message: str = "",
) -> dict[str, Any]:
    rev: dict[str, Any] = {
        "name": f"{full_service}/revisions/{rev_short}",
        "uid": str(uuid.uuid4()),
        "generation": "1",
        "labels": dict(template.get("labels", {})),
        "annotations": dict(template.get("annotations", {})),
        "createTime": when,
        "updateTime": when,
        "service": short(full_service),
        "containers": json.loads(json.dumps(template.get("containers", []))),
        "conditions": [ready_condition(ready, when, message)],
        "observedGeneration": "1",
        "etag": new_etag(),
        "_degraded": degraded,
        # the template it was made from: a later one naming it must match it (update_service)
        "_template": json.loads(json.dumps(template)),
    }
    for key in (
        "serviceAccount",
        "timeout",
        "scaling",
        "maxInstanceRequestConcurrency",
        "executionEnvironment",
    ):
        if key in template:
            rev[key] = template[key]
    return rev


def seed_services(home: Path, project: str, region: str, services: Sequence[SeedService]) -> None:
    """Create or replace the given services (and their revisions) in the stand-in state.

    Services not named are kept. Revisions are given oldest first; the last one becomes
    the service template (and ``latestCreatedRevision``). Names left None are generated.
    """
    with locked(home):
        state = load_state(home)
        for seed in services:
            if not seed.revisions:
                raise ValueError(f"seed service {seed.name} needs at least one revision")
            full = service_name(project, region, seed.name)
            for key in [k for k in state["revisions"] if k.startswith(full + "/revisions/")]:
                del state["revisions"][key]
            latest_ready = ""
            last_template: dict[str, Any] = {}
            first_time = ""
            last_time = ""
            for index, srev in enumerate(seed.revisions, start=1):
                name = srev.name or generate_revision_name(seed.name, index, srev.image)
                validate_metadata("label", srev.labels, labels=True)
                when = rfc3339(srev.create_time or dt.datetime.now(dt.UTC))
                first_time = first_time or when
                last_time = when
                container = {
                    "image": srev.image,
                    "env": _container_env(srev.env, srev.secret_env),
                    **json.loads(json.dumps(srev.container_extra)),
                }
                template = {
                    "revision": name,
                    "labels": dict(srev.labels),
                    **json.loads(json.dumps(srev.template_extra)),
                    "containers": [container],
                }
                rev = make_revision(
                    full, name, template, when=when, ready=srev.ready, degraded=srev.degraded
                )
                state["revisions"][rev["name"]] = rev
                if srev.ready:
                    latest_ready = rev["name"]
                last_template = template
            known = {short(k) for k in state["revisions"] if k.startswith(full + "/revisions/")}
            targets = [
                {"type": TRAFFIC_REVISION, "revision": r, "percent": p, "tag": t}
                for r, p, t in seed.traffic or []
            ]
            traffic = validate_traffic(targets, seed.name, known)
            labels = dict(seed.labels)
            commit = seed.revisions[-1].labels.get("commit-sha")
            if commit and "commit-sha" not in labels:
                labels["commit-sha"] = commit
            validate_metadata("label", labels, labels=True)
            validate_metadata("annotation", seed.annotations, labels=False)
            created = f"{full}/revisions/{short(last_template['revision'])}"
            # Ready only while the latest created revision is, as after any write
            terminal, conditions = service_conditions(
                state,
                {"name": full, "latestCreatedRevision": created, "traffic": traffic},
                None,
                last_time,
            )
            state["services"][full] = {
                "name": full,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, full)),
                "generation": str(len(seed.revisions)),
                "labels": labels,
                "annotations": dict(seed.annotations),
                "createTime": first_time,
                "updateTime": last_time,
                "creator": "sandbox@nbaops.local",
                "lastModifier": "sandbox@nbaops.local",
                "ingress": INGRESS_ALL,
                "template": last_template,
                "traffic": traffic,
                "observedGeneration": str(len(seed.revisions)),
                "terminalCondition": terminal,
                "conditions": conditions,
                "latestReadyRevision": latest_ready,
                "latestCreatedRevision": created,
                "reconciling": False,
                "etag": new_etag(),
                **json.loads(json.dumps(seed.extra)),
            }
        save_state(home, state)


def strip_private(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if not k.startswith("_")}
