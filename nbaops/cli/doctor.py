"""``inv doctor``: the read-only preflight of a profile (nbaops.doctor)."""

from __future__ import annotations

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP


@task(help={**COMMON_HELP})
def doctor(c: object, json: bool = False, profile: str | None = None, debug: bool = False) -> None:
    """Read-only preflight: credentials, access, ID tokens, datasets, schemas, integrations."""
    from nbaops.cli.runner import finish
    from nbaops.doctor import run_doctor

    finish(run_doctor, profile=profile, json_output=json, debug=debug)


TASKS = [doctor]
