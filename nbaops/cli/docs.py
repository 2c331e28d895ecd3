"""Docs tasks: regenerate the generated reference, build the site."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.tasks import task


@task(help={"check": "Change nothing; exit 1 and name the stale files (what CI checks)."})
def reference(c: object, check: bool = False) -> None:
    """Regenerate docs/reference/*.md and the generated blocks of runbooks and playbooks."""
    from invoke.exceptions import Exit

    from nbaops.docs_reference import main

    code = main(["--check"] if check else [])
    if code:
        raise Exit(code=code)


ns = Collection("docs", reference)
