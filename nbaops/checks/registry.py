"""Every check, by id: the ``SPEC`` of each module listed here, nothing else.

Adding a check is one module (``nbaops/checks/<id>.py`` with ``SPEC`` and ``run``) and
one line in :data:`_MODULES`; the thresholds, the config schema of the ``checks:``
section, the docs reference, the deploy dry-run plan and the SQL tests follow from it.
"""

from __future__ import annotations

from nbaops.checks import (
    batch_errors,
    daily_validation,
    error_logs,
    grading_completeness,
    lines_coverage,
    model_hit_rate,
    processor_heartbeats,
    recent_predictions,
    shot_zones,
)
from nbaops.checks.spec import CheckSpec
from nbaops.errors import ConfigError

ALL_SERVICES = "*"

# In system-health order (a per-service check last: it runs once per service).
_MODULES = (
    lines_coverage,
    grading_completeness,
    recent_predictions,
    batch_errors,
    processor_heartbeats,
    shot_zones,
    model_hit_rate,
    error_logs,
)

# The checks system-health and post-deploy validation run.
REGISTRY: dict[str, CheckSpec] = {m.SPEC.id: m.SPEC for m in _MODULES}

# Every spec with a ``checks:`` section of its own: validate-daily is declared the same way
# (keys, queries, playbook) but is its own task.
ALL_SPECS: dict[str, CheckSpec] = {**REGISTRY, daily_validation.SPEC.id: daily_validation.SPEC}


def get_spec(check_id: str, where: str | None = None) -> CheckSpec:
    """The registered check, or ConfigError listing the known ids (after ``where``, the
    config location that named it, when given)."""
    try:
        return REGISTRY[check_id]
    except KeyError:
        raise ConfigError(
            f"{where + ': ' if where else ''}unknown check {check_id!r}; "
            f"known checks: {', '.join(REGISTRY)}"
        ) from None
