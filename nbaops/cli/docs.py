"""Docs task: regenerate the generated reference (`nox -s docs` builds the site)."""

from __future__ import annotations

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task


@nbaops_task(
    "nbaops.docs_reference.main",
    context=False,
    help={"check": "Change nothing; exit 1 and name the stale files (what CI checks)."},
)
def reference(check: bool = False) -> int:
    """Regenerate docs/reference/*.md and the generated blocks of runbooks and playbooks."""
    from nbaops.docs_reference import main

    return main(["--check"] if check else [])


ns = Collection("docs", reference)
