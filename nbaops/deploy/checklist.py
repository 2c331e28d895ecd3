"""What every pre-deploy check shares: the page it points at and how its result is built."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nbaops.verdict import CheckResult, Verdict

# The page a failing checklist item points at (every report names the doc to open).
PREDEPLOY_DOC = "docs/deploy.md#the-pre-deploy-checklist"


def result(
    name: str,
    service: str,
    verdict: Verdict,
    value: float | int | str | None,
    threshold: str,
    message: str,
    query: str,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    return CheckResult(
        name=name,
        service=service,
        verdict=verdict,
        value=value,
        threshold=threshold,
        message=message,
        query=query,
        details=details or {},
        doc=PREDEPLOY_DOC,
    )


def timed(name: str, service: str, fn: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # a check that could not measure is ERROR, never PASS
        result = CheckResult.error(name, service, exc)
    result.duration_s = round(time.perf_counter() - started, 3)
    return result
