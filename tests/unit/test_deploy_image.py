"""Image references: validation (exit 2 on bad input) and the planned image per profile."""

from __future__ import annotations

import pytest

from nbaops.config import load_config
from nbaops.context import Context
from nbaops.deploy.image import LOCAL_IMAGE_REPO, plan_image, realize, validate_image
from nbaops.errors import ConfigError, UsageError

COMMIT = "a" * 40


@pytest.mark.parametrize(
    "ref",
    [
        "us-west2-docker.pkg.dev/nba-props-platform/services/phase4-processors:abc123",
        "gcr.io/p/img@sha256:" + "0" * 64,
        "localhost:5000/team/img:v1.2",
        "img:latest",
    ],
)
def test_valid_references(ref: str) -> None:
    assert validate_image(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "UPPER/img:tag",
        "img",
        "gcr.io/p/img:",
        "gcr.io/p/img:tag with space",
        "gcr.io/p/img@sha256:short",
        "-bad/img:tag",
        "a" * 600 + ":t",
    ],
)
def test_invalid_references_are_usage_errors(ref: str) -> None:
    with pytest.raises(UsageError, match="--image"):
        validate_image(ref)


@pytest.mark.parametrize("tag", ["v1\u00e9", "\u00e9t\u00e9", "v\u0661", "\uff56\uff11"])
def test_a_tag_with_non_ascii_letters_or_digits_is_a_usage_error(tag: str) -> None:
    """A tag is ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`` (OCI distribution spec; the ``\\w``
    of distribution/reference's grammar is Go's, ASCII only). Python's ``\\w`` also matched
    letters and digits of any script, so ``--image x:v1é`` passed validation: the deploy
    took the lease and sent the reference to Cloud Run instead of refusing it up front
    (exit 2, nothing changed, no audit row)."""
    with pytest.raises(UsageError, match="--image"):
        validate_image(f"gcr.io/p/img:{tag}")


def test_local_plan_reuses_the_repository_of_the_running_image() -> None:
    ctx = Context(config=load_config(profile="local"))
    plan = plan_image(
        ctx,
        "phase4-processors",
        COMMIT,
        given=None,
        current_image="local.reg/nba/services/phase4-processors:old",
    )
    assert plan.ref == f"local.reg/nba/services/phase4-processors:{COMMIT}"
    assert plan.source == "local-registry" and plan.build is None
    assert realize(ctx, plan) == plan.ref
    fallback = plan_image(ctx, "phase4-processors", COMMIT, given=None, current_image=None)
    assert fallback.ref == f"{LOCAL_IMAGE_REPO}/phase4-processors:{COMMIT}"


def test_prod_plan_is_a_cloud_build_request_from_the_commit() -> None:
    ctx = Context(config=load_config(profile="prod"))
    plan = plan_image(ctx, "phase4-processors", COMMIT, given=None, current_image=None)
    assert plan.source == "cloud-build"
    assert plan.ref.startswith(ctx.config.profile.image_repository or "x")
    assert plan.build is not None
    assert plan.build["source"]["connected_repository"]["revision"] == COMMIT
    assert plan.build["images"] == [plan.ref]
    assert "services/phase4_processors/Dockerfile" in plan.build["steps"][0]["args"]
    # the build may wait in the queue this long, then run this long (Build.queue_ttl, .timeout)
    assert (plan.build["queue_ttl_s"], plan.build["timeout_s"]) == (600, 1200)


def test_given_image_is_used_as_is() -> None:
    ctx = Context(config=load_config(profile="prod"))
    plan = plan_image(ctx, "s", COMMIT, given="gcr.io/p/s:v1", current_image=None)
    assert (plan.ref, plan.source) == ("gcr.io/p/s:v1", "given")
    assert "given image" in plan.describe()


def test_prod_without_image_repository_is_a_config_error(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    ctx = Context(config=load_config(profile="prod"))
    ctx.config.profile = dataclasses.replace(ctx.config.profile, image_repository=None)
    with pytest.raises(ConfigError, match="image_repository"):
        plan_image(ctx, "s", COMMIT, given=None, current_image=None)


def test_a_deploy_that_would_build_without_image_repository_is_refused_with_the_input() -> None:
    """The missing build setting is bad input like the others: refused when the request is
    validated (exit 2, no audit row), not after the recovery and the checklist's tests
    (the deploy wrote a 'failed' row for it)."""
    import dataclasses

    from nbaops.deploy.request import DeployRequest, validate_request

    ctx = Context(config=load_config(profile="prod"))
    ctx.config.profile = dataclasses.replace(ctx.config.profile, image_repository=None)
    with pytest.raises(ConfigError, match="image_repository"):
        validate_request(ctx, DeployRequest(service="phase4-processors"))
    given = DeployRequest(service="phase4-processors", image="gcr.io/p/s:v1")
    assert validate_request(ctx, given)[0].name == "phase4-processors"  # nothing to build
