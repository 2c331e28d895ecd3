"""Where the page for a problem lives, as a link.

Every report names the page to open next to a problem (a check's playbook is declared in
its spec, :attr:`nbaops.checks.spec.CheckSpec.playbook`), and the same page as a URL when
``alerts.runbook_base_url`` is configured (the prefix that already turns runbook paths
into links in Slack alerts; :func:`nbaops.alerts.settings.runbook_base_url` reads it).
"""

from __future__ import annotations


def doc_url(doc: str, base: str | None) -> str | None:
    """``doc`` (a repository path) as a link under ``base``, or None without a base URL."""
    if not base or not doc:
        return None
    return base.rstrip("/") + "/" + doc.lstrip("/")
