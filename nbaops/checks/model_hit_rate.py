"""Model hit rate (prediction-worker): is the serving model still beating the floor?

Between deploys nothing else watches prediction quality. Every day this check takes the
graded picks (``is_correct`` set by the grading service: OVER/UNDER bets that did not push;
one per player-game, the latest prediction made before tip-off)
of the serving model version over the last ``window_game_days`` game days that have grading,
and compares the **Wilson lower bound** of their hit rate (``confidence_level``) with the
floors: below ``fail_below`` is FAIL, below ``warn_below`` WARN. A point estimate would flap
(at n = 500 its standard error is ~2.2 points; docs/regression.md explains); fewer than
``min_bets`` graded picks is INCONCLUSIVE, never PASS.

The serving version is ``model_version``; its default ``champion`` means the
``regression.champion`` setting (the version the worker serves, v8). The query is bounded by
a ``game_date`` range of ``lookback_days``, so its cost tracks the window, not the history.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks.measure import Measurement, below_tiers, pct, pct_value
from nbaops.checks.spec import EXAMPLE_DAY, CheckSpec, Key, Query
from nbaops.regression.stats import wilson_interval
from nbaops.report import format_pct
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

CHAMPION = "champion"

# One pick per player-game: the 07:00 and 11:30 batches re-predict players, and each
# re-prediction is graded too; the pick is the latest made before tip-off (as
# docs/regression.md grades it), not every graded row (a third more "picks", a narrower
# interval, min_bets reached too early).
HIT_RATE = Query(
    "hit_rate",
    """
WITH picks AS (
  SELECT a.game_date, a.is_correct
  FROM `nba_predictions.prediction_accuracy` AS a
  LEFT JOIN (
    SELECT prediction_id, created_at FROM `nba_predictions.player_prop_predictions`
    WHERE game_date BETWEEN @from_date AND @to_date
  ) AS p ON p.prediction_id = a.prediction_id
  LEFT JOIN (
    SELECT game_id, start_time FROM `nba_raw.games`
    WHERE game_date BETWEEN @from_date AND @to_date
  ) AS g ON g.game_id = a.game_id
  WHERE a.game_date BETWEEN @from_date AND @to_date
    AND a.system_id = @model_version
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY a.game_id, a.player_lookup
    ORDER BY IFNULL(p.created_at < g.start_time, FALSE) DESC,
             p.created_at DESC, a.prediction_id DESC) = 1
)
SELECT game_date,
       COUNT(*) AS graded,
       COUNTIF(is_correct IS NOT NULL) AS decided,
       COUNTIF(is_correct) AS hits
FROM picks
GROUP BY game_date
ORDER BY game_date DESC
""",
    {
        "from_date": EXAMPLE_DAY - dt.timedelta(days=45),
        "to_date": EXAMPLE_DAY,
        "model_version": "v8",
    },
)

SPEC = CheckSpec(
    id="model_hit_rate",
    service="prediction-worker",
    title="serving model's graded hit rate",
    unit="% (95% lower bound)",
    keys={
        "model_version": Key(
            "text",
            CHAMPION,
            "Model version (system_id) judged; champion = regression.champion, the serving one.",
        ),
        "window_game_days": Key(
            "integer",
            14,
            "How many of the latest game days with graded picks are pooled.",
            maximum=366,
            minimum=1,
        ),
        "lookback_days": Key(
            "integer",
            45,
            "Calendar days searched for those game days (bounds the query).",
            maximum=366,
            minimum=1,
        ),
        "min_bets": Key(
            "integer",
            500,
            "Fewer graded picks (pushes and PASS excluded) is INCONCLUSIVE.",
            minimum=1,
        ),
        # the interval needs a level strictly between 0 and 1 (stats.z_value): the bounds
        # of regression.confidence_level, so a bad level is a config error, not an ERROR
        "confidence_level": Key(
            "fraction",
            0.95,
            "Level of the Wilson interval (at least 0.5, under 1).",
            minimum=0.5,
            below=1,
        ),
        "fail_below": Key(
            "fraction", 0.45, "Wilson lower bound of the hit rate below this is FAIL."
        ),
        "warn_below": Key("fraction", 0.50, "... below this is WARN."),
    },
    queries=(HIT_RATE,),
    playbook="playbooks/model-hit-rate.md",
    ordered=(("fail_below", "warn_below"),),
)


def serving_version(ctx: Context, configured: str) -> str:
    """``configured``, or the regression section's champion when it says ``champion``."""
    if configured != CHAMPION:
        return configured
    from nbaops.regression.settings import RegressionSettings

    return ctx.config.settings("regression", RegressionSettings).champion


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Wilson lower bound of the serving model's graded hit rate over recent game days."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    version = serving_version(ctx, params.text("model_version"))
    window = params.integer("window_game_days")
    min_bets = params.integer("min_bets")
    level = params.fraction("confidence_level")
    fail_below, warn_below = params.fraction("fail_below"), params.fraction("warn_below")
    to_date = clock.eastern_date(clock.now())
    from_date = to_date - dt.timedelta(days=params.integer("lookback_days"))
    m.threshold = (
        f"Wilson {pct(level)} lower bound FAIL < {pct(fail_below)}, WARN < {pct(warn_below)} "
        f"over {window} game days, >= {min_bets} graded picks"
    )
    args = {"from_date": from_date, "to_date": to_date, "model_version": version}
    # every count read as an int once (a NULL as 0), where the rows are read
    rows = [
        {**r, "decided": int(r["decided"] or 0), "hits": int(r["hits"] or 0)}
        for r in m.query(HIT_RATE, args)
    ]
    days = [r for r in rows if r["decided"] > 0][:window]
    hits = sum(r["hits"] for r in days)
    decided = sum(r["decided"] for r in days)
    details: dict[str, Any] = {
        "model_version": version,
        "lookback": f"{from_date}..{to_date}",
        "game_days": [str(r["game_date"]) for r in days],
        "hits": hits,
        "decided": decided,
        "per_day": [
            {"game_date": str(r["game_date"]), "decided": r["decided"], "hits": r["hits"]}
            for r in days
        ],
    }
    span = f"{days[-1]['game_date']}..{days[0]['game_date']}" if days else f"{from_date}.."
    if decided == 0:
        return m.too_little_data(
            None,
            f"no graded picks of {version} in {from_date}..{to_date} "
            "(grading stalled, or the version is not serving?)",
            details,
        )
    rate = hits / decided
    low, high = wilson_interval(hits, decided, level)
    details.update(hit_rate=round(rate, 4), lower_bound=round(low, 4), upper_bound=round(high, 4))
    summary = (
        f"{version} hit {format_pct(rate)} of {decided} graded picks over {len(days)} game day(s) "
        f"{span}; {pct(level)} interval "
        f"{format_pct(low, fail_below, warn_below)}-{format_pct(high)}"
    )
    if decided < min_bets:
        return m.too_little_data(
            pct_value(low, fail_below, warn_below),
            f"{summary}; fewer than {min_bets} graded picks",
            details,
        )
    verdict = below_tiers(low, fail_below, warn_below)
    floor = fail_below if verdict is Verdict.FAIL else warn_below
    relation = "below" if verdict is not Verdict.PASS else "clears"
    message = f"{summary}; lower bound {relation} {pct(floor)} ({verdict.value})"
    return m.result(verdict, pct_value(low, fail_below, warn_below), message, details)
