"""The ``regression:`` config section, typed and checked.

``config.settings("regression", RegressionSettings)`` reads the top-level section merged with
``profiles.<p>.overrides.regression``: the top level holds the values the local/CI run
uses (it gates the suite's own logic and relative comparisons on reference predictors);
the prod profile overrides them with production floors for the real model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nbaops.errors import ConfigError
from nbaops.regression.scan import Buckets
from nbaops.regression.stats import BREAK_EVEN_MINUS_110
from nbaops.settings import setting


def _probability(default: float) -> Any:
    return setting(default, above=0.0, below=1.0)


@dataclass(frozen=True)
class LeakageSettings:
    """``regression.leakage``: when a model looks as if it saw the outcome."""

    max_exact_share: float = 0.15  # share of |predicted - actual| < 0.5
    max_corr_gain: float = 0.10  # corr(pred, actual) - corr(line, actual)


@dataclass(frozen=True)
class GoldenSettings:
    """``regression.golden``: the committed golden set's versions and PASS rule."""

    champion: str = "v8"  # stored versions of the golden set (golden/manifest.json)
    challenger: str = "v9"  # replaced by ``candidate`` with --model/--predictions
    pass_band: float = 1.0  # the worker's rule: |predicted - line| < band -> PASS
    ewma_halflife: float = 5.0


@dataclass(frozen=True)
class RegressionSettings:
    """``regression``: the versions compared, the window and every gate's threshold."""

    champion: str = "v8"
    challenger: str = "v9"
    window_days: int = 28
    break_even: float = _probability(BREAK_EVEN_MINUS_110)
    confidence_level: float = setting(0.95, minimum=0.5, below=1.0)
    min_bets: int = 300
    min_paired_bets: int = 200
    hit_rate_floor: float = _probability(0.45)
    hit_rate_ceiling: float = _probability(0.58)
    alpha: float = _probability(0.05)
    mcnemar: str = setting("exact", choices=("exact", "midp"))
    mae_margin: float = 0.25
    real_lines_only: bool = True
    max_missing_outcomes: float = _probability(0.01)  # share without actual_points: above → FAIL
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

    def check(self, where: str) -> None:
        if self.hit_rate_floor >= self.hit_rate_ceiling:
            raise ConfigError(f"{where}.hit_rate_floor must be below hit_rate_ceiling")
