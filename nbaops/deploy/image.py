"""The container image a deploy ships: ``--image`` as given, or built from the commit.

- ``--image REF`` is validated (a registry path with a tag or a digest; an untagged
  reference would silently mean ``:latest``) and used as is.
- Otherwise the image is ``IMAGE_REPO/<service>:<commit>``. In prod ``IMAGE_REPO`` is the
  profile's ``image_repository`` and the image is built by Cloud Build through its API
  (:mod:`nbaops.adapters.cloudbuild`) from the commit of the connected repository
  named in ``deploy.build.repository``. On the local profile nothing is built: the
  reference is registered as the new revision's image in the stand-in, with
  ``IMAGE_REPO`` taken from the profile or from the image the service runs now.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.environment import typed
from nbaops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from nbaops.context import Context

# A registry host is recognised like docker does: it has a dot or a port, or is localhost.
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:(?:{_HOST}(?:\.{_HOST})+|localhost)(?::[0-9]{{1,5}})?|{_HOST}:[0-9]{{1,5}})"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# re.ASCII: a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} (OCI distribution spec; Go's \w in
# distribution/reference's grammar is ASCII), Python's \w any script's letters and digits
_IMAGE_RE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?\Z",
    re.ASCII,
)
LOCAL_IMAGE_REPO = "local.nbaops.dev/nbaops-local/services"
# A Cloud Build endpoint (a local test server, anonymous credentials), like
# NBAOPS_SECRETMANAGER_ENDPOINT for the webhook store. Unset: Google's endpoint with ADC.
CLOUDBUILD_ENDPOINT = "NBAOPS_CLOUDBUILD_ENDPOINT"


@dataclass(frozen=True)
class ImagePlan:
    ref: str
    source: str  # "given", "cloud-build", "local-registry"
    build: dict[str, Any] | None = None  # the Cloud Build request when one is needed

    def describe(self) -> str:
        if self.source == "given":
            return f"use the given image {self.ref}"
        if self.source == "cloud-build":
            return f"build {self.ref} with Cloud Build from the commit"
        return f"register {self.ref} in the local stand-in (no build on the local profile)"


def validate_image(ref: str) -> str:
    """The reference, or UsageError (exit 2) when it is not a pinned image reference."""
    match = _IMAGE_RE.match(ref.strip()) if len(ref) <= 512 else None
    if match is None:
        raise UsageError(
            f"--image: {ref!r} is not a valid image reference "
            "(REGISTRY/PATH/NAME:TAG or ...@sha256:DIGEST)"
        )
    if not match.group("tag") and not match.group("digest"):
        raise UsageError(f"--image: {ref!r} has no tag or digest; pin one (e.g. NAME:COMMIT)")
    return ref.strip()


def image_repository(ctx: Context, current_image: str | None) -> str:
    """Where built images go: the profile's ``image_repository``; locally it falls back to
    the repository of the image running now, then to :data:`LOCAL_IMAGE_REPO`.

    Raises:
        ConfigError: prod profile without ``image_repository``.
    """
    configured = ctx.config.profile.image_repository
    if configured:
        return configured.rstrip("/")
    if not ctx.is_local:
        raise ConfigError(
            f"profiles.{ctx.profile}.image_repository: required to build images (or pass --image)"
        )
    if current_image:
        match = _IMAGE_RE.match(current_image)
        if match and "/" in match.group("name"):
            return match.group("name").rsplit("/", 1)[0]
    return LOCAL_IMAGE_REPO


def build_request(ctx: Context, service: str, commit: str, ref: str) -> dict[str, Any]:
    """The Cloud Build request (as plain data, printed by ``--dry-run``).

    Raises:
        ConfigError: ``deploy.build.repository`` is not configured.
    """
    from nbaops.deploy.settings import DeploySettings

    build = ctx.config.settings("deploy", DeploySettings).build
    repository = build.repository
    if not repository:
        raise ConfigError(
            "deploy.build.repository: required to build images with Cloud Build "
            "(a connected repository resource name), or pass --image"
        )
    dockerfile = ctx.config.service(service).dockerfile
    return {
        "parent": f"projects/{ctx.config.profile.project}/locations/{ctx.config.profile.region}",
        "source": {"connected_repository": {"repository": repository, "revision": commit}},
        "steps": [
            {
                "name": "gcr.io/cloud-builders/docker",
                "args": ["build", "-t", ref, "-f", dockerfile, "."],
            }
        ],
        "images": [ref],
        "timeout_s": build.timeout_s,
        "queue_ttl_s": build.queue_ttl_s,
        "tags": [f"nbaops-{service}", f"commit-{commit[:12]}"],
    }


def plan_image(
    ctx: Context, service: str, commit: str, *, given: str | None, current_image: str | None
) -> ImagePlan:
    """Decide the image without building anything.

    Raises:
        UsageError: ``--image`` is not a valid reference.
        ConfigError: prod build settings missing.
    """
    if given:
        return ImagePlan(validate_image(given), "given")
    ref = f"{image_repository(ctx, current_image)}/{service}:{commit}"
    validate_image(ref)
    if ctx.is_local:
        return ImagePlan(ref, "local-registry")
    return ImagePlan(ref, "cloud-build", build_request(ctx, service, commit, ref))


def realize(
    ctx: Context,
    plan: ImagePlan,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> str:
    """Make the planned image exist; returns its reference.

    The local stand-in registers whatever image a revision names, so only prod builds:
    through Cloud Build's API with the context's credentials, or at
    ``NBAOPS_CLOUDBUILD_ENDPOINT`` (a local fake, anonymous credentials) when that is set.
    ``sleep`` and ``monotonic`` are the deploy's clock, for the wait.

    Raises:
        CloudBuildError: the build failed, expired in the queue, timed out or could not be
            followed (then it was cancelled).
        CredentialsError: no usable Application Default Credentials.
    """
    if plan.source != "cloud-build" or plan.build is None:
        return plan.ref
    from nbaops.adapters.cloudbuild import run_build

    endpoint = typed(CLOUDBUILD_ENDPOINT)
    return run_build(
        plan.build,
        endpoint=endpoint,
        credentials=None if endpoint else ctx.credentials,
        sleep=sleep,
        monotonic=monotonic,
    )
