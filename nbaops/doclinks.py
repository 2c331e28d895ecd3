"""Where the page for a problem lives, as a link.

Every report names the page to open next to a problem (a check's playbook is declared in
its spec, :attr:`nbaops.checks.spec.CheckSpec.playbook`), and the same page as a URL when
``alerts.runbook_base_url`` is configured (the prefix that already turns runbook paths
into links in Slack alerts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbaops.config import Config


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
