"""Cloud Run resources as the stand-in answers them: a stored service or operation with its
private fields stripped and the fields the API computes added (``uri``/``urls`` of the real
shape, ``trafficStatuses`` with tag URLs; a finished operation's ``response`` Service)."""

from __future__ import annotations

from typing import Any

from nbaops.local import cloudrun_state, run_urls
from nbaops.local.cloudrun_state import strip_private

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"


def render_service(state: dict[str, Any], svc: dict[str, Any]) -> dict[str, Any]:
    """The service ``svc`` of ``state`` as ``services.get`` answers it."""
    out = strip_private(svc)
    _, project, _, region, _, service = svc["name"].split("/")[:6]
    out["uri"] = run_urls.service_url(project, region, service)
    out["urls"] = [out["uri"]]
    statuses = cloudrun_state.resolve_traffic(state, svc)
    for entry in statuses:
        if entry.get("tag"):
            entry["uri"] = run_urls.tag_url(project, region, service, entry["tag"])
    out["trafficStatuses"] = statuses
    return out


def render_operation(state: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """The operation ``op``; once done without an error, with its Service as ``response``."""
    out = strip_private(op)
    svc = state["services"].get(op["_service"])
    if op.get("done") and "error" not in op and svc is not None:
        out["response"] = {"@type": SERVICE_TYPE, **render_service(state, svc)}
    return out
