"""The golden data set: graded predictions built deterministically from the real NBA data.

For every points line matched to a game log (``nbaops.nba_data``; one line per player-game,
PrizePicks preferred over Underdog), simple reference predictors stand in for model
versions. Each uses only the player's games strictly before the game date (no leakage):

* ``season_avg`` -- mean points this season, shrunk toward last season's mean while the
  season is younger than 5 games;
* ``last10_avg`` -- mean of the last 10 games (across seasons);
* ``ewma`` -- exponentially weighted mean, half-life ``ewma_halflife`` games.

A predictor recommends OVER/UNDER when its prediction is more than ``pass_band`` points
from the line, PASS otherwise; its stated confidence is a logistic approximation of
P(right side) = Phi(|edge| / sd of the player's last 20 games). ``created_at`` is the last
coordinator batch of the day (11:30 ET) or 30 minutes before tip-off, whichever is earlier.

The set is built by the suite on each run and never committed as data. These predictors are
not the production model: they exist to exercise the suite's logic and relative comparisons
on real lines and real outcomes.
"""

from __future__ import annotations

# SQL text here interpolates only table names chosen by this module or validated as
# identifiers, and bucket edges validated as numbers; values are bound parameters ($name).
# Hence the "noqa: S608" markers.
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import nba_data
from nbaops.errors import UsageError

if TYPE_CHECKING:
    import duckdb

REFERENCE_PREDICTORS = ("season_avg", "last10_avg", "ewma")
GOLDEN_TABLE = "golden"
_MIN_PRIOR_GAMES = 3


@dataclass(frozen=True)
class GoldenSummary:
    """What went into the golden set."""

    match: nba_data.MatchStats
    targets: int  # player-games with a line, a game log and >= 3 prior games
    rows: int  # targets x predictors
    predictors: tuple[str, ...]
    first_date: str
    last_date: str


def build_golden(
    con: duckdb.DuckDBPyConnection,
    *,
    root: Path | None = None,
    predictors: Sequence[str] = REFERENCE_PREDICTORS,
    pass_band: float = 1.0,
    ewma_halflife: float = 5.0,
    table: str = GOLDEN_TABLE,
) -> GoldenSummary:
    """Load the real data into ``con`` and create the golden graded-predictions ``table``.

    Raises:
        nbaops.nba_data.NbaDataUnavailable: the data folder is missing.
        UsageError: unknown predictor or a non-positive band/half-life.
    """
    unknown = [p for p in predictors if p not in REFERENCE_PREDICTORS]
    if unknown or not predictors:
        raise UsageError(
            f"unknown reference predictor(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(REFERENCE_PREDICTORS)}"
        )
    if pass_band < 0 or ewma_halflife <= 0:
        raise UsageError("golden: pass_band must be >= 0 and ewma_halflife > 0")
    if table != GOLDEN_TABLE and not table.isidentifier():
        raise UsageError(f"not a table name: {table!r}")
    match = nba_data.load_real_data(con, root)
    _targets(con)
    _features(con, ewma_halflife)
    _predictions(con, table, list(predictors), pass_band)
    row = con.execute(
        f"""SELECT count(DISTINCT (game_id, player_lookup)), count(*), min(game_date),
        max(game_date) FROM {table}"""  # noqa: S608
    ).fetchone()
    assert row is not None
    return GoldenSummary(
        match=match,
        targets=int(row[0]),
        rows=int(row[1]),
        predictors=tuple(predictors),
        first_date=str(row[2]),
        last_date=str(row[3]),
    )


def _targets(con: duckdb.DuckDBPyConnection) -> None:
    # One line per player-game; a fixed bookmaker order keeps the choice deterministic
    # and always a real posted line (never an average of two books).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _golden_targets AS
        SELECT * FROM matched_lines
        QUALIFY row_number() OVER (
          PARTITION BY player_id, game_id
          ORDER BY CASE bookmaker WHEN 'PrizePicks' THEN 0 WHEN 'Underdog' THEN 1 ELSE 2 END,
                   bookmaker, line) = 1
        """
    )


def _features(con: duckdb.DuckDBPyConnection, halflife: float) -> None:
    # Only games strictly before the target date enter the features.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _golden_features AS
        WITH hist AS (
          SELECT t.player_id, t.game_id, t.season AS target_season,
                 g.points, g.season,
                 row_number() OVER (PARTITION BY t.player_id, t.game_id
                                    ORDER BY g.game_date DESC, g.game_id DESC) AS k
          FROM _golden_targets t
          JOIN game_logs g ON g.player_id = t.player_id AND g.game_date < t.game_date
        ),
        agg AS (
          SELECT player_id, game_id,
            count(*) AS prior_games,
            count(*) FILTER (WHERE season = target_season) AS season_games,
            sum(points) FILTER (WHERE season = target_season) AS season_sum,
            avg(points) FILTER (WHERE season = target_season) AS season_mean,
            avg(points) FILTER (WHERE k <= 10) AS last10_avg,
            sum(points * pow(0.5, (k - 1) / $halflife)) FILTER (WHERE k <= 40)
              / sum(pow(0.5, (k - 1) / $halflife)) FILTER (WHERE k <= 40) AS ewma,
            stddev_samp(points) FILTER (WHERE k <= 20) AS sd20
          FROM hist GROUP BY player_id, game_id
        ),
        prev AS (
          -- Last season's mean: the 82 games before this season's first game.
          SELECT h.player_id, h.game_id, avg(h.points) AS prev_avg
          FROM hist h JOIN agg a USING (player_id, game_id)
          WHERE h.season <> h.target_season AND h.k <= a.season_games + 82
          GROUP BY h.player_id, h.game_id
        )
        SELECT a.player_id, a.game_id, a.prior_games, a.season_games, a.last10_avg, a.ewma,
          CASE
            WHEN a.season_games >= 5 OR p.prev_avg IS NULL THEN a.season_mean
            ELSE (coalesce(a.season_sum, 0) + p.prev_avg * (5 - a.season_games)) / 5.0
          END AS season_avg,
          greatest(3.0, coalesce(a.sd20, 6.0)) AS sd
        FROM agg a LEFT JOIN prev p USING (player_id, game_id)
        WHERE a.prior_games >= $min_prior
        """,
        {"halflife": float(halflife), "min_prior": _MIN_PRIOR_GAMES},
    )


def _predictions(
    con: duckdb.DuckDBPyConnection, table: str, predictors: list[str], pass_band: float
) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH preds AS (
          SELECT t.*, f.sd, p.system_id,
            round(CASE p.system_id WHEN 'season_avg' THEN f.season_avg
                                   WHEN 'last10_avg' THEN f.last10_avg
                                   ELSE f.ewma END, 4) AS predicted_points
          FROM _golden_targets t
          JOIN _golden_features f USING (player_id, game_id)
          CROSS JOIN (SELECT unnest($predictors) AS system_id) p
        )
        SELECT
          system_id || ':' || game_id || ':' || CAST(player_id AS VARCHAR) AS prediction_id,
          game_id, game_date, player_lookup, player_name, team, opponent, bookmaker,
          system_id, predicted_points,
          line AS line_value, 'REAL' AS line_source,
          CASE WHEN abs(predicted_points - line) <= $band THEN 'PASS'
               WHEN predicted_points > line THEN 'OVER' ELSE 'UNDER' END AS recommendation,
          -- Logistic approximation of Phi(|edge| / sd): the stated P(right side).
          round(1.0 / (1.0 + exp(-1.702 * abs(predicted_points - line) / sd)), 4) AS confidence,
          CAST(actual_points AS DOUBLE) AS actual_points,
          least(timezone('America/New_York', game_date + TIME '11:30:00'),
                commence_time - INTERVAL 30 MINUTE) AS created_at,
          commence_time AS game_start,
          is_home, minutes
        FROM preds
        WHERE predicted_points IS NOT NULL
        ORDER BY game_date, game_id, player_lookup, system_id
        """,  # noqa: S608
        {"predictors": predictors, "band": float(pass_band)},
    )


def export(con: duckdb.DuckDBPyConnection, path: Path, table: str = GOLDEN_TABLE) -> Path:
    """Write the golden table to CSV or Parquet (by suffix) for ``inv regression --from``."""
    fmt = "PARQUET" if path.suffix.lower() == ".parquet" else "CSV, HEADER"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY {table} TO '{_quote(str(path))}' (FORMAT {fmt})")
    return path


def _quote(text: str) -> str:
    return text.replace("'", "''")
