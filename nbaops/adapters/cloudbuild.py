"""Cloud Build adapter (``google.cloud.devtools.cloudbuild_v1``): build an image from a commit.

``run_build`` takes the plain-data request ``nbaops.deploy.image.build_request`` plans
(and ``--dry-run`` prints), creates the build from the connected repository at the commit
and waits for it. Every failure is one :class:`CloudBuildError` line (exit 3).
"""

from __future__ import annotations

from typing import Any

from nbaops.errors import AdapterError


class CloudBuildError(AdapterError):
    """Cloud Build failed or timed out (exit 3)."""


def run_build(request: dict[str, Any]) -> str:  # pragma: no cover - needs a real project
    from google.cloud.devtools import cloudbuild_v1
    from google.protobuf import duration_pb2

    client: Any = cloudbuild_v1.CloudBuildClient()
    repo = request["source"]["connected_repository"]
    build = cloudbuild_v1.Build(
        source=cloudbuild_v1.Source(
            connected_repository=cloudbuild_v1.ConnectedRepository(
                repository=repo["repository"], revision=repo["revision"]
            )
        ),
        steps=[cloudbuild_v1.BuildStep(name=s["name"], args=s["args"]) for s in request["steps"]],
        images=request["images"],
        tags=request["tags"],
        timeout=duration_pb2.Duration(seconds=request["timeout_s"]),
        queue_ttl=duration_pb2.Duration(seconds=request["queue_ttl_s"]),
    )
    project = request["parent"].split("/")[1]
    try:
        operation: Any = client.create_build(
            project_id=project, build=build, parent=request["parent"]
        )
        from nbaops.heartbeat import heartbeat

        with heartbeat(f"Cloud Build of {request['images'][0]}", request["timeout_s"] + 60):
            result = operation.result(timeout=request["timeout_s"] + 60)
    except Exception as exc:
        raise CloudBuildError(f"Cloud Build failed: {type(exc).__name__}: {exc}") from exc
    status = cloudbuild_v1.Build.Status(result.status)
    if status != cloudbuild_v1.Build.Status.SUCCESS:
        raise CloudBuildError(f"Cloud Build {result.id} ended {status.name}: {result.log_url}")
    return str(request["images"][0])
