"""Where the page for a problem lives: the playbook of a check, as a path and a link.

Every report names the page to open next to a problem: ``docs/playbooks/<check>.md``
(relative to the repository), and the same page as a URL when ``alerts.runbook_base_url``
is configured (the prefix that already turns runbook paths into links in Slack alerts).
The generated reference (:mod:`nbaops.docs_reference`) uses the same function, so a
report can never point at a page the docs do not have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbaops.config import Config

DAILY_VALIDATION = "daily_validation"


def playbook_page(check_id: str) -> str:
    """The playbook of a check, relative to ``docs/``."""
    if check_id == DAILY_VALIDATION:
        return "playbooks/validate-daily.md"
    return f"playbooks/{check_id.replace('_', '-')}.md"


def playbook_doc(check_id: str) -> str:
    """The playbook of a check, relative to the repository (what a report prints)."""
    return f"docs/{playbook_page(check_id)}"


def base_url(config: Config | None) -> str | None:
    """``alerts.runbook_base_url`` (e.g. ``https://github.com/ORG/REPO/blob/main/``) or None."""
    if config is None:
        return None
    section: dict[str, Any] = config.section("alerts")
    base = section.get("runbook_base_url")
    return str(base) if base else None


def doc_url(doc: str, base: str | None) -> str | None:
    """``doc`` (a repository path) as a link under ``base``, or None without a base URL."""
    if not base or not doc:
        return None
    return base.rstrip("/") + "/" + doc.lstrip("/")
