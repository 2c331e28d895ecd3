"""Cloud Run stand-in mutations: updates, creations and their long-running operations.

The semantics follow the Cloud Run Admin API v2 where nbaops' correctness depends on them:
``updateMask`` (AIP-134), ``etag`` (AIP-154), a revision name reused with a different
template or for a forced new revision (409 ``ALREADY_EXISTS``), a traffic target naming a
missing revision (the *operation* fails), operations that finish only when polled
(:func:`poll_operation`).
docs/standin.md, "Cloud Run behaviour nbaops depends on", gives each one's source and its
test in ``tests/integration/test_standin_contract.py``.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from nbaops.local.cloudrun_state import (
    CONDITION_RECONCILING,
    INGRESS_ALL,
    SETTABLE_SERVICE_FIELDS,
    StandInApiError,
    generate_revision_name,
    invalid_argument,
    make_revision,
    new_etag,
    not_found_service,
    ready_condition,
    revision_failed,
    revision_index,
    revision_targets,
    revisions_of,
    service_conditions,
    short,
    template_changed,
    unready_targets,
    validate_metadata,
    validate_traffic,
)
from nbaops.local.discovery import camel

NewRevisionHook = Callable[[str, str], bool]


def missing_revisions(traffic: list[dict[str, Any]], known: set[str]) -> list[str]:
    """REVISION targets naming a revision the service does not have."""
    return [revision for revision in revision_targets(traffic) if revision not in known]


def mask_paths(update_mask: str | None) -> list[str] | None:
    """The camelCase paths of an ``updateMask`` query value; None: no mask or ``*``.

    AIP-134: the mask names the fields to replace; ``*`` means a full replacement.
    Without a mask Cloud Run v2 replaces every client-settable field (what the pinned
    client did before it sent masks).
    """
    if not update_mask:
        return None
    paths = [
        ".".join(camel(part) for part in p.strip().split("."))
        for p in update_mask.split(",")
        if p.strip()
    ]
    return None if "*" in paths else paths


def masked_body(svc: dict[str, Any], body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The full settable body an update with ``paths`` amounts to.

    Start from the service's current settable fields and copy only the masked paths from
    ``body`` (a masked path absent from ``body`` is cleared): every other field, including
    ones the caller's client does not know, stays as the server has it.
    """
    out = {k: json.loads(json.dumps(svc[k])) for k in SETTABLE_SERVICE_FIELDS if k in svc}
    for path in paths:
        parts = path.split(".")
        if parts[0] not in SETTABLE_SERVICE_FIELDS:
            raise invalid_argument(
                f"update_mask path {path!r} does not name a settable field of Service"
            )
        source: Any = body
        for part in parts:
            source = source.get(part) if isinstance(source, dict) else None
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if source is None:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = json.loads(json.dumps(source))
    if "etag" in body:
        out["etag"] = body["etag"]
    return out


def update_service(
    state: dict[str, Any],
    full_name: str,
    body: dict[str, Any],
    *,
    when: str,
    on_new_revision: NewRevisionHook | None = None,
    fail_new_revision: str | None = None,
    update_mask: str | None = None,
    force_new_revision: bool = False,
) -> tuple[dict[str, Any], str | None, str | None]:
    """Apply a PATCH to ``state`` in place (Cloud Run Admin API v2 semantics).

    ``update_mask`` (the ``updateMask`` query value) limits the change to the named
    fields; without one every client-settable field is replaced (see :func:`mask_paths`).
    ``force_new_revision`` (``forceNewRevision``) creates a revision from the template
    even when it did not change (run.v2: "a new revision will be created from the
    template even if the system doesn't detect any changes").
    An ``etag`` in the body must equal the service's (AIP-154: mismatch → 409 ABORTED);
    no etag → last write wins.

    Returns ``(service, new_revision_short_name_or_None, operation_error_or_None)``.
    The operation error covers what the real API accepts but cannot carry out: a traffic
    target naming a missing revision, or ``fail_new_revision`` (``lro-fail`` fault: the
    new revision fails to become ready). The ``traffic`` spec is then stored, but what
    serves (``trafficStatuses``) stays as it was (:func:`cloudrun_state.resolve_traffic`).

    Raises:
        StandInApiError: 404 unknown service, 409 ABORTED stale etag, 409 ALREADY_EXISTS
            revision name reused with a different template or for a forced new
            revision, 400 invalid labels,
            annotations, traffic or mask.
    """
    svc = state["services"].get(full_name)
    service = short(full_name)
    if svc is None:
        raise not_found_service(full_name)
    etag = body.get("etag")
    if etag and etag != svc.get("etag"):
        raise StandInApiError(
            409,
            "ABORTED",
            f"etag mismatch for service '{service}': the service was "
            "modified concurrently; read it again and retry",
        )
    paths = mask_paths(update_mask)
    if paths is not None:
        body = masked_body(svc, body, paths)
    template = dict(body.get("template") or {})
    validate_metadata("label", body.get("labels"), labels=True)
    validate_metadata("annotation", body.get("annotations"), labels=False)
    validate_metadata("template label", template.get("labels"), labels=True)
    validate_metadata("template annotation", template.get("annotations"), labels=False)

    revisions = {short(r["name"]): r for r in revisions_of(state, full_name)}
    known = set(revisions)
    new_rev: str | None = None
    # run.v2 RevisionTemplate.revision: "The unique name for the revision. If this field is
    # omitted, it will be automatically generated". A given name is never replaced.
    requested = template.get("revision") or ""
    changed = template_changed(svc.get("template", {}), template)
    if requested in known and changed and not force_new_revision:
        # the named revision itself (Knative's CheckNameAvailability: an existing name is
        # fine when its configuration matches): no new revision; another one is a conflict
        if template_changed(revisions[requested].get("_template", {}), template):
            raise StandInApiError(
                409,
                "ALREADY_EXISTS",
                f"Revision named '{requested}' with different configuration already exists.",
            )
    elif changed or force_new_revision:
        if requested:
            if not requested.startswith(service + "-"):
                raise invalid_argument(f"revision name {requested!r} must start with '{service}-'")
            if requested in known:  # forced: a new revision cannot take a name in use
                raise StandInApiError(
                    409,
                    "ALREADY_EXISTS",
                    f"Revision named '{requested}' already exists: name the new revision "
                    "anew, or omit template.revision for a generated name.",
                )
            new_rev = requested
        else:
            index = max((revision_index(n) for n in known), default=0) + 1
            new_rev = generate_revision_name(service, index, when)
        template["revision"] = new_rev
    traffic = validate_traffic(list(body.get("traffic") or []), service, None)
    missing = missing_revisions(traffic, known | ({new_rev} if new_rev else set()))

    generation = int(svc.get("generation", "0")) + 1
    error: str | None = None
    if new_rev:
        degraded = False
        ready = fail_new_revision is None
        if ready and on_new_revision is not None:
            degraded = bool(on_new_revision(service, new_rev))
        rev = make_revision(
            full_name,
            new_rev,
            template,
            when=when,
            ready=ready,
            degraded=degraded,
            message=fail_new_revision or "",
        )
        state["revisions"][rev["name"]] = rev
        svc["latestCreatedRevision"] = rev["name"]
        if ready:
            svc["latestReadyRevision"] = rev["name"]
        else:
            error = fail_new_revision
    elif fail_new_revision is not None:
        # A failed operation without a new revision changes nothing.
        return svc, None, fail_new_revision
    if error is None and missing:
        # Cloud Run's words, as a Terraform create waiting on the operation quoted them
        # (terraform-google-modules/terraform-docs-samples#269)
        error = (
            f"Revision '{missing[0]}' does not exist or is deleted. "
            "Update all traffic to route to currently available revisions."
        )
    # a target naming a failed revision: the route cannot assign its traffic, the rollout
    # fails and the service keeps serving what it served (Knative's MarkRevisionFailed;
    # run.v2 Service.reconciling: a failed reconciliation leaves trafficStatuses "the
    # state of the last serving revision"). Whether Cloud Run refuses it at once instead
    # is not published.
    unready = unready_targets(state, full_name, traffic)
    if error is None and unready:
        error = revision_failed(unready[0])

    for key in SETTABLE_SERVICE_FIELDS:
        if key == "template":
            svc["template"] = template
        elif key == "traffic":
            # the spec is stored whatever the rollout's outcome; what serves stays as it was
            # until one succeeds (resolve_traffic): run.v2 Service.reconciling, "If
            # reconciliation succeeded, the following fields will match: traffic and
            # traffic_statuses ... If reconciliation failed, traffic_statuses ... will have
            # the state of the last serving revision" (a created service's first: none)
            if error is None:
                svc.pop("_served_traffic", None)
            else:
                svc.setdefault("_served_traffic", svc.get("traffic") or [])
            svc["traffic"] = traffic
        elif key in body:
            svc[key] = body[key]
        elif key in ("labels", "annotations"):
            svc[key] = {}
        else:
            svc.pop(key, None)
    svc["generation"] = str(generation)
    # observedGeneration moves on when the rollout finishes, and only if it succeeded
    # (finish_operation): run.v2 Service.reconciling, "If reconciliation failed,
    # trafficStatuses, observedGeneration, and latest_ready_revision will have the state
    # of the last serving revision, or empty for newly created Services".
    svc.setdefault("observedGeneration", "0")
    svc["updateTime"] = when
    svc["lastModifier"] = "nbaops@local"
    svc["terminalCondition"], svc["conditions"] = service_conditions(state, svc, error, when)
    svc["etag"] = new_etag()
    return svc, new_rev, error


def check_write(
    state: dict[str, Any], full_name: str, body: dict[str, Any], *, create: bool, **options: Any
) -> None:
    """Raise the refusal (:class:`StandInApiError`) that writing ``body`` to ``full_name``
    would answer, changing nothing: a create with ``create`` (``options``:
    :func:`create_service`'s), else an update (:func:`update_service`'s). The stand-in checks
    a write before it takes the ``lro-fail`` and ``slow-lro`` faults, which are for the next
    write that starts an operation: one refused with 409 (a stale etag, a name in use) or
    400 took them, and the deploy retried after a lease write's etag race succeeded."""
    trial = copy.deepcopy(state)
    if create:
        parent, service_id = full_name.rsplit("/services/", 1)
        create_service(trial, parent, service_id, body, when="check", **options)
    else:
        update_service(trial, full_name, body, when="check", **options)


def create_service(
    state: dict[str, Any],
    parent: str,
    service_id: str,
    body: dict[str, Any],
    *,
    when: str,
    on_new_revision: NewRevisionHook | None = None,
) -> tuple[dict[str, Any], str | None, str | None]:
    """Create a service from a POST body (``?serviceId=``); its first revision too.

    Returns ``(service, new_revision, operation_error)`` as :func:`update_service`: a
    first rollout that fails (traffic naming a missing revision) leaves the service
    serving nothing (:func:`cloudrun_state.resolve_traffic`).
    """
    full = f"{parent}/services/{service_id}"
    if full in state["services"]:
        raise StandInApiError(409, "ALREADY_EXISTS", f"Resource '{service_id}' already exists.")
    if not re.match(r"^[a-z]([-a-z0-9]{0,47}[a-z0-9])?\Z", service_id):
        raise invalid_argument(f"invalid service id {service_id!r}")
    state["services"][full] = {
        "name": full,
        "uid": str(uuid.uuid4()),
        "generation": "0",
        "createTime": when,
        "creator": "nbaops@local",
        "ingress": INGRESS_ALL,
        "template": {},
        "traffic": [],
        "latestReadyRevision": "",
        "latestCreatedRevision": "",
        "reconciling": False,
        "etag": "",
    }
    try:
        return update_service(
            state, full, {**body, "etag": ""}, when=when, on_new_revision=on_new_revision
        )
    except StandInApiError:
        del state["services"][full]
        raise


# ---------------------------------------------------------------- operations

OPERATION_ERROR_CODE = 9  # google.rpc.Code FAILED_PRECONDITION


def start_operation(
    state: dict[str, Any],
    parent: str,
    full: str,
    error: str | None,
    *,
    when: str,
    polls: int = 0,
) -> dict[str, Any]:
    """Record the operation of a mutation of ``full``: not done until polled.

    The service shows ``reconciling: true`` and a ``CONDITION_RECONCILING`` terminal
    condition meanwhile, as the real service does while a revision rolls out. The
    operation answers ``done: false`` to its creation reply and to the next ``polls``
    reads (``operations.get`` or a GET of the service), then finishes (see
    :func:`poll_operation`).
    """
    svc = state["services"][full]
    final = svc.get("terminalCondition") or ready_condition(error is None, when, error or "")
    op: dict[str, Any] = {
        "name": f"{parent}/operations/{uuid.uuid4()}",
        "done": False,
        "_service": full,
        "_time": when,
        "_polls_left": max(0, polls),
        "_error": error,
        "_final": final,
        "_conditions": svc.get("conditions") or [final],
        "_generation": svc.get("generation"),
    }
    svc["reconciling"] = True
    svc["terminalCondition"] = {**final, "state": CONDITION_RECONCILING}
    svc["terminalCondition"].pop("message", None)
    svc["conditions"] = [svc["terminalCondition"]]
    state["operations"][op["name"]] = op
    return op


def pending_operations(state: dict[str, Any], full: str) -> list[str]:
    """Names of the unfinished operations on service ``full``."""
    return [
        name
        for name, op in state["operations"].items()
        if op.get("_service") == full and not op.get("done")
    ]


def poll_operation(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    """One ``operations.get``: count the poll down, or finish the operation.

    Finishing sets ``done`` (with ``error`` when the mutation failed) and, unless a later
    write superseded it, ends the service's reconciliation with the final condition.
    Returns the operation record, None when unknown.
    """
    op: dict[str, Any] | None = state["operations"].get(name)
    if op is None or op.get("done"):
        return op
    if op.get("_polls_left", 0) > 0:
        op["_polls_left"] -= 1
        return op
    finish_operation(state, op)
    return op


def finish_operation(state: dict[str, Any], op: dict[str, Any]) -> None:
    op["done"] = True
    if op.get("_error"):
        op["error"] = {"code": OPERATION_ERROR_CODE, "message": op["_error"]}
    svc = state["services"].get(op["_service"])
    if svc is not None and svc.get("generation") == op.get("_generation"):
        svc["reconciling"] = False
        svc["terminalCondition"] = op["_final"]
        svc["conditions"] = op.get("_conditions") or [op["_final"]]
        if not op.get("_error"):  # a failed rollout leaves the last serving generation
            svc["observedGeneration"] = svc["generation"]
