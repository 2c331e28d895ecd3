"""``inv doctor``: the read-only preflight of a profile (nbaops.doctor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


@nbaops_task("nbaops.doctor.run_doctor")
def doctor(ctx: Context) -> Report:
    """Read-only preflight: credentials, access, ID tokens, datasets, schemas, integrations."""
    from nbaops.doctor import run_doctor

    return run_doctor(ctx)


ns = Collection(doctor)
