"""What every pre-deploy check shares: the page it points at and how its result is built."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbaops.verdict import CheckResult, Verdict

# The page a failing checklist item points at (every report names the doc to open).
PREDEPLOY_DOC = "docs/deploy.md#the-pre-deploy-checklist"


@dataclass
class Item:
    """One pre-deploy check being judged: what stays the same whatever it finds.

    ``query`` (the git command or API call behind it) may be refined as the check goes;
    :meth:`result` adds what was measured and points the result at the checklist's page.
    """

    name: str
    service: str
    threshold: str
    query: str = ""

    def result(
        self,
        verdict: Verdict,
        value: float | int | str | None,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        threshold: str | None = None,
        query: str | None = None,
    ) -> CheckResult:
        return CheckResult(
            self.name,
            self.service,
            verdict,
            value,
            self.threshold if threshold is None else threshold,
            message,
            self.query if query is None else query,
            details=details or {},
            doc=PREDEPLOY_DOC,
        )


def timed(name: str, service: str, fn: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:  # a check that could not measure is ERROR, never PASS
        out = CheckResult.error(name, service, exc)
    out.duration_s = round(time.perf_counter() - started, 3)
    return out
