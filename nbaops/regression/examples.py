"""A tiny example candidate for ``inv regression --golden --model``.

``blend`` is what a real candidate looks like from the suite's side: a function of the
pre-game features (a pandas DataFrame, one row per golden player-game) returning one
predicted points value per row. It is a reference, not a production model::

    inv regression --golden --model nbaops.regression.examples:blend
"""

from __future__ import annotations

from typing import Any


def blend(features: Any) -> list[float]:
    """Half season average, half exponentially weighted mean (pre-game features only)."""
    season = features["season_avg"].astype(float)
    recent = features["ewma"].astype(float)
    return [round(v, 2) for v in (0.5 * season + 0.5 * recent).tolist()]
