"""What every pre-deploy check shares: the page it points at and how its result is built."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from nbaops.verdict import CheckResult

# The page a failing checklist item points at (every report names the doc to open).
PREDEPLOY_DOC = "docs/deploy.md#the-pre-deploy-checklist"


# A pre-deploy check's result: CheckResult's own fields, pointing at the checklist's page.
result = functools.partial(CheckResult, doc=PREDEPLOY_DOC)


def timed(name: str, service: str, fn: Callable[[], CheckResult]) -> CheckResult:
    started = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:  # a check that could not measure is ERROR, never PASS
        out = CheckResult.error(name, service, exc)
    out.duration_s = round(time.perf_counter() - started, 3)
    return out
