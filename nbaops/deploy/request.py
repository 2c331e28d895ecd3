"""What ``inv deploy`` was asked: the request, its validation, and label values.

Every input is checked here before anything is read or changed (exit 2, no audit row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbaops.deploy.image import plan_image, validate_image
from nbaops.deploy.settings import DeploySettings
from nbaops.errors import UsageError

if TYPE_CHECKING:
    from nbaops.config import ServiceConfig
    from nbaops.context import Context

MODEL_VERSION_RE = re.compile(r"^v[0-9]{1,4}(?:[._-][0-9a-z]{1,20})?\Z")
_LABEL_BAD = re.compile(r"[^a-z0-9_-]+")
MODEL_LABEL = "model-version"


def sanitize_label(value: str) -> str:
    """A Cloud Run label value: lowercase ``[a-z0-9_-]``, at most 63 characters."""
    cleaned = _LABEL_BAD.sub("_", value.lower()).strip("_")
    return cleaned[:63] or "unknown"


@dataclass(frozen=True)
class DeployRequest:
    """What the user asked for (the ``inv deploy`` flags)."""

    service: str
    image: str | None = None
    canary: int | None = None
    model_version: str | None = None
    dry_run: bool = False
    no_rollback: bool = False
    skip_tests: bool = False
    force_unlock: bool = False


def validate_request(ctx: Context, req: DeployRequest) -> tuple[ServiceConfig, DeploySettings]:
    """Check every input before anything is read or changed.

    Raises:
        UsageError: unknown service, bad ``--canary``/``--model-version``/``--image``.
        ConfigError: an invalid ``deploy:`` or ``alerts:`` section (without ``--image``
            in prod: no ``image_repository`` or ``deploy.build.repository``), or a
            ``post_deploy`` entry of the service naming an unknown check or a bad override
            (found before the new revision exists, not as an ERROR of every observation
            round after it took traffic).
    """
    from nbaops.checks import plan_post_deploy

    cfg = ctx.config.service(req.service)
    plan_post_deploy(ctx, cfg, revision="<new revision>")  # with the alerts section
    if req.canary is not None and not 1 <= req.canary <= 99:
        raise UsageError(f"--canary: {req.canary} is not a percentage from 1 to 99")
    if req.model_version is not None:
        if not cfg.model_env:
            raise UsageError(
                f"--model-version: {req.service} has no model (only services with model_env, "
                f"e.g. {', '.join(n for n, s in ctx.config.services.items() if s.model_env)})"
            )
        if not MODEL_VERSION_RE.match(req.model_version):
            raise UsageError(
                f"--model-version: {req.model_version!r} is not a model version like v9 or v10"
            )
    if req.image is not None:
        validate_image(req.image)
    else:
        # built from the commit: prod's image_repository and build.repository are checked
        # now, not after the recovery and the checklist (nothing is built; any commit does)
        plan_image(ctx, cfg.name, "0" * 40, given=None, current_image=None)
    # an invalid deploy section (deploy.canary_analysis included) is exit 2 before any change
    return cfg, ctx.config.settings("deploy", DeploySettings)
