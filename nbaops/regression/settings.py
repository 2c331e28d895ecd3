"""The ``regression:`` config section, typed and checked.

``Config.section("regression")`` merges the top-level section with
``profiles.<p>.overrides.regression``: the top level holds the values the local/CI run
uses (it gates the suite's own logic and relative comparisons on reference predictors);
the prod profile overrides them with production floors for the real model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nbaops.errors import ConfigError
from nbaops.regression.metrics import Buckets
from nbaops.regression.stats import BREAK_EVEN_MINUS_110


@dataclass(frozen=True)
class LeakageSettings:
    max_exact_share: float = 0.15  # share of |predicted - actual| < 0.5
    max_corr_gain: float = 0.10  # corr(pred, actual) - corr(line, actual)


@dataclass(frozen=True)
class GoldenSettings:
    champion: str = "v8"  # stored versions of the golden set (golden/manifest.json)
    challenger: str = "v9"  # replaced by ``candidate`` with --model/--predictions
    pass_band: float = 1.0  # the worker's rule: |predicted - line| < band -> PASS
    ewma_halflife: float = 5.0


@dataclass(frozen=True)
class RegressionSettings:
    champion: str = "v8"
    challenger: str = "v9"
    window_days: int = 28
    break_even: float = BREAK_EVEN_MINUS_110
    confidence_level: float = 0.95
    min_bets: int = 300
    min_paired_bets: int = 200
    hit_rate_floor: float = 0.45
    hit_rate_ceiling: float = 0.58
    alpha: float = 0.05
    mcnemar: str = "exact"  # or "midp"
    mae_margin: float = 0.25
    real_lines_only: bool = True
    max_missing_outcomes: float = 0.01  # share of rows without actual_points: above → FAIL
    leakage: LeakageSettings = field(default_factory=LeakageSettings)
    buckets: Buckets = field(default_factory=Buckets)
    golden: GoldenSettings = field(default_factory=GoldenSettings)
    report_dir: str = "reports/regression"

    def with_versions(self, champion: str | None, challenger: str | None) -> RegressionSettings:
        return replace(
            self,
            champion=champion or self.champion,
            challenger=challenger or self.challenger,
        )


def _golden(base: GoldenSettings, raw: dict[str, Any]) -> GoldenSettings:
    return GoldenSettings(
        champion=str(raw.get("champion", base.champion)),
        challenger=str(raw.get("challenger", base.challenger)),
        pass_band=float(raw.get("pass_band", base.pass_band)),
        ewma_halflife=float(raw.get("ewma_halflife", base.ewma_halflife)),
    )


_PROBABILITY_KEYS = (
    "break_even",
    "hit_rate_floor",
    "hit_rate_ceiling",
    "alpha",
    "max_missing_outcomes",
)


def settings_from_section(
    section: Mapping[str, Any], where: str = "regression"
) -> RegressionSettings:
    """Build settings from the merged config section (unknown keys are the schema's job).

    Raises:
        ConfigError: a value out of range (the JSON Schema checks the types).
    """
    base = RegressionSettings()
    values: dict[str, Any] = {}
    for key in (
        "champion",
        "challenger",
        "window_days",
        "break_even",
        "confidence_level",
        "min_bets",
        "min_paired_bets",
        "hit_rate_floor",
        "hit_rate_ceiling",
        "alpha",
        "mcnemar",
        "mae_margin",
        "real_lines_only",
        "max_missing_outcomes",
        "report_dir",
    ):
        if key in section and section[key] is not None:
            values[key] = section[key]
    for key in _PROBABILITY_KEYS:
        if key in values and not 0.0 < float(values[key]) < 1.0:
            raise ConfigError(f"{where}.{key}: must be between 0 and 1, got {values[key]}")
    if "confidence_level" in values and not 0.5 <= float(values["confidence_level"]) < 1.0:
        raise ConfigError(
            f"{where}.confidence_level: must be in [0.5, 1), got {values['confidence_level']}"
        )
    if values.get("mcnemar", "exact") not in ("exact", "midp"):
        raise ConfigError(f"{where}.mcnemar: must be 'exact' or 'midp'")
    leak = section.get("leakage") or {}
    bucket = section.get("buckets") or {}
    gold = section.get("golden") or {}
    settings = replace(
        base,
        **values,
        leakage=replace(base.leakage, **dict(leak)),
        buckets=Buckets(**{k: tuple(float(x) for x in v) for k, v in dict(bucket).items()})
        if bucket
        else base.buckets,
        golden=_golden(base.golden, dict(gold)),
    )
    if settings.hit_rate_floor >= settings.hit_rate_ceiling:
        raise ConfigError(f"{where}.hit_rate_floor must be below hit_rate_ceiling")
    return settings
