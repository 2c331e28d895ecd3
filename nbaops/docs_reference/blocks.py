"""Generated blocks inside hand-written pages, between markers::

    <!-- BEGIN generated:post-deploy prediction-worker -->
    ...
    <!-- END generated -->

Kinds: ``post-deploy SERVICE`` (runbooks), ``thresholds CHECK`` and ``sql CHECK``
(playbooks: the check's declared queries or Cloud Logging filter, never retyped).
Other tools' markers are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nbaops.docs_reference.checks_page import sql_block, thresholds_block
from nbaops.docs_reference.services_page import post_deploy_block

if TYPE_CHECKING:
    from nbaops.config import Config

BLOCK_KINDS = ("post-deploy", "thresholds", "sql")
BEGIN_RE = re.compile(
    r"<!-- BEGIN generated:(?P<kind>" + "|".join(BLOCK_KINDS) + r") (?P<arg>[A-Za-z0-9_.-]+) -->"
)
END_MARK = "<!-- END generated -->"


def render_block(kind: str, arg: str, configs: Mapping[str, Config]) -> str:
    """The content of one marked block."""
    from nbaops.checks.registry import ALL_SPECS

    if kind == "post-deploy":
        next(iter(configs.values())).service(arg)
        return post_deploy_block(arg, configs)
    if kind in ("thresholds", "sql"):
        if arg not in ALL_SPECS:
            raise ValueError(f"unknown check {arg!r}; known: {', '.join(ALL_SPECS)}")
        if kind == "sql":
            return sql_block(ALL_SPECS[arg], configs)
        return thresholds_block(arg, configs)
    raise ValueError(f"unknown generated block kind {kind!r}")


def fill_blocks(text: str, configs: Mapping[str, Config], where: str = "") -> str:
    """Rewrite every marked block of a page with its generated content."""
    out: list[str] = []
    pos = 0
    for match in BEGIN_RE.finditer(text):
        if match.start() < pos:
            continue
        end = text.find(END_MARK, match.end())
        if end < 0:
            raise ValueError(f"{where}: {match.group(0)} has no {END_MARK}")
        body = render_block(match.group("kind"), match.group("arg"), configs)
        out.append(text[pos : match.end()])
        out.append("\n" + body + "\n")
        pos = end
    out.append(text[pos:])
    return "".join(out)
