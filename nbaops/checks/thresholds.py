"""The ``checks:`` config section: defaults from the specs < config < call-site overrides.

Every check declares its keys once, in its ``SPEC`` (:mod:`nbaops.checks.spec`). The
``checks:`` section of ``nbaops.yaml`` (merged with ``profiles.<p>.overrides.checks``)
states only what differs from those defaults, and a call site (a ``post_deploy`` entry,
``--date``, a revision) overrides both. Unknown keys and values of the wrong kind raise
:class:`~nbaops.errors.ConfigError` (exit 2) naming the key, so a typo never silently
falls back to a default. :func:`section_schema` is the JSON schema of the section, derived
from the same specs (``schemas/config.schema.json`` holds it; a test keeps them equal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.checks.registry import ALL_SPECS
from nbaops.checks.spec import CheckParams, Key, resolve
from nbaops.errors import ConfigError

if TYPE_CHECKING:
    from nbaops.config import Config

# Keys of the section itself (not of one check).
RUNNER_KEYS: dict[str, Key] = {
    "timeout_s": Key(
        "number",
        60.0,
        "Per-check timeout in seconds; a check that runs longer is ERROR.",
        maximum=3600,
        minimum=0.001,  # 0 would time every check out
    ),
    "max_workers": Key(
        "integer",
        8,
        "How many checks system-health runs at the same time.",
        maximum=64,
        minimum=1,
    ),
}


@dataclass(frozen=True)
class Thresholds:
    """The ``checks:`` section, validated, for one profile."""

    section: Mapping[str, Any]
    timeout_s: float
    max_workers: int

    def params(
        self,
        check: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        revision: str | None = None,
        where: str = "override",
    ) -> CheckParams:
        """Defaults < ``checks.<check>`` < ``overrides``; raises ConfigError on unknown keys."""
        if check not in ALL_SPECS:
            known = ", ".join(ALL_SPECS)
            raise ConfigError(f"checks: unknown check {check!r}; known checks: {known}")
        layers = [("config", self.section.get(check) or {}), (where, overrides or {})]
        spec = ALL_SPECS[check]
        values = resolve(spec.keys, check, layers)
        for low, high in spec.ordered:
            if values[low] > values[high]:
                raise ConfigError(
                    f"checks: {check}: {low} ({_shown(values[low])}) is greater than {high} "
                    f"({_shown(values[high])}): the WARN tier could never be reached"
                )
        return CheckParams(check, values, service, revision, self.timeout_s)


def _shown(value: Any) -> str:
    from nbaops.checks.measure import duration_text

    return duration_text(value) if isinstance(value, dt.timedelta) else f"{value:g}"


def load_thresholds(config: Config) -> Thresholds:
    """Read and validate the ``checks:`` section of the config (profile overrides merged).

    Raises:
        ConfigError: a bad value; the line names the config file.
    """
    try:
        return thresholds_from_section(config.section("checks"))
    except ConfigError as exc:
        raise config.located(exc) from None


def thresholds_from_section(section: Mapping[str, Any]) -> Thresholds:
    for name, value in section.items():
        if name in RUNNER_KEYS:
            continue
        if name not in ALL_SPECS:
            known = ", ".join([*RUNNER_KEYS, *ALL_SPECS])
            raise ConfigError(f"checks: {name}: unknown key; known keys: {known}")
        if not isinstance(value, Mapping):
            raise ConfigError(f"checks: {name}: must be a mapping of thresholds")
    runner = resolve(
        RUNNER_KEYS, "", [("config", {k: section[k] for k in RUNNER_KEYS if k in section})]
    )
    thresholds = Thresholds(dict(section), runner["timeout_s"], runner["max_workers"])
    for check in ALL_SPECS:  # validate every configured key up front
        thresholds.params(check)
    return thresholds


_DURATION = r"^[1-9][0-9]*[smhd]$"
_DATE = r"^(today|yesterday|[0-9]{4}-[0-9]{2}-[0-9]{2})$"


def key_schema(key: Key) -> dict[str, Any]:
    """The JSON schema of one key (same bounds as :func:`nbaops.checks.spec.coerce`)."""
    described: dict[str, Any] = {"description": key.help}
    if key.kind == "fraction":
        least = int(key.minimum) if float(key.minimum).is_integer() else key.minimum
        top = {"exclusiveMaximum": key.below} if key.below is not None else {"maximum": 1}
        return {**described, "type": "number", "minimum": least, **top}
    if key.kind in ("number", "integer"):
        upper = key.upper_bound
        bound = int(upper) if upper is not None and float(upper).is_integer() else upper
        lower = int(key.minimum) if float(key.minimum).is_integer() else key.minimum
        return {**described, "type": key.kind, "minimum": lower, "maximum": bound}
    if key.kind == "duration":
        return {**described, "type": "string", "pattern": _DURATION}
    if key.kind == "date":
        return {**described, "type": "string", "pattern": _DATE}
    if key.kind == "texts":
        item = {"type": "string", "pattern": key.pattern} if key.pattern else None
        return {**described, "type": "array", "items": item or {"type": "string", "minLength": 1}}
    if key.pattern:
        return {**described, "type": "string", "pattern": key.pattern}
    return {**described, "type": "string", "minLength": 1}


def section_schema() -> dict[str, Any]:
    """The JSON schema of the ``checks:`` section, from :data:`RUNNER_KEYS` and the specs."""
    properties: dict[str, Any] = {name: key_schema(key) for name, key in RUNNER_KEYS.items()}
    for check, spec in ALL_SPECS.items():
        properties[check] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: key_schema(key) for name, key in spec.keys.items()},
        }
    return {
        "type": "object",
        "description": "Data-check thresholds and windows (nbaops.checks.thresholds); a key "
        "may be overridden per profile and per post_deploy entry.",
        "additionalProperties": False,
        "properties": properties,
    }
