"""Prediction-quality metrics, computed in DuckDB SQL (one pass per question, no Python loops).

Input: a table of graded predictions with the columns of :data:`REQUIRED_COLUMNS` (and
optionally :data:`OPTIONAL_COLUMNS`). :func:`compute` returns, per model version
(``system_id``) and per segment (line bucket, home/away, minutes bucket, recommendation
side, ISO week, stated confidence, edge):

* bets (OVER/UNDER with a line), hits, pushes (actual == line: counted, excluded from the
  hit rate), hit rate with its Wilson interval, the one-sided exact binomial p-value
  against break-even (52.38% at -110);
* MAE and mean error (bias) of the point prediction; PASS share;
* mean stated confidence and edge (for calibration);

plus the signed-error histogram, leakage signatures (created after tip-off, exact hits,
correlation with the actual vs the line's), sanity counts (duplicates, missing real lines)
and paired champion/challenger comparisons on the same bets.

The SQL aggregates; only the per-group statistics (a few hundred groups) run in Python.
One million rows take about a second (see :func:`synthetic_table` for the benchmark).
"""

from __future__ import annotations

# SQL text here interpolates only table names chosen by this module or validated as
# identifiers, and bucket edges validated as numbers; values are bound parameters ($name).
# Hence the "noqa: S608" markers.
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.errors import UsageError
from nbaops.regression import stats

if TYPE_CHECKING:
    import duckdb

REQUIRED_COLUMNS = (
    "game_id",
    "game_date",
    "player_lookup",
    "system_id",
    "predicted_points",
    "line_value",
    "recommendation",
    "actual_points",
)
# Optional columns and their SQL type; missing ones are NULL (checks needing them say so).
OPTIONAL_COLUMNS: dict[str, str] = {
    "prediction_id": "VARCHAR",
    "batch_id": "VARCHAR",
    "line_source": "VARCHAR",
    "confidence": "DOUBLE",
    "created_at": "TIMESTAMPTZ",
    "game_start": "TIMESTAMPTZ",
    "is_home": "BOOLEAN",
    "minutes": "DOUBLE",
}
PREPARED = "_regression_graded"
SEGMENTS = ("all", "line", "venue", "minutes", "side", "week", "confidence", "edge")


@dataclass(frozen=True)
class Buckets:
    """Bucket edges for the segments (points, minutes, stated confidence, edge in points)."""

    line: tuple[float, ...] = (10.0, 15.0, 20.0, 25.0)
    minutes: tuple[float, ...] = (20.0, 30.0, 36.0)
    confidence: tuple[float, ...] = (0.55, 0.6, 0.65, 0.7, 0.8)
    edge: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)

    def __post_init__(self) -> None:
        for name in ("line", "minutes", "confidence", "edge"):
            edges = getattr(self, name)
            if (
                not edges
                or any(not math.isfinite(e) for e in edges)
                or list(edges) != sorted(set(edges))
            ):
                raise UsageError(f"regression.buckets.{name}: edges must be increasing numbers")


@dataclass(frozen=True)
class GroupMetrics:
    system_id: str
    segment: str
    bucket: str
    predictions: int
    bets: int
    pushes: int
    decided: int  # bets that were not pushes
    hits: int
    passes: int
    hit_rate: float | None
    hit_low: float
    hit_high: float
    p_vs_break_even: float  # one-sided exact binomial, H1: hit rate > break-even
    mae: float | None
    bias: float | None  # mean(predicted - actual)
    pass_share: float | None
    mean_confidence: float | None
    mean_edge: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LeakStats:
    """Signatures of a prediction that knew the answer."""

    system_id: str
    rows: int
    created_after_start: int  # created_at >= game start (the answer may have been known)
    with_timestamps: int  # rows where both timestamps are known
    exact_share: float | None  # share with |predicted - actual| < 0.5
    corr_prediction: float | None  # corr(predicted, actual)
    corr_line: float | None  # corr(line, actual): what a line-based model can hope for

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SanityStats:
    system_id: str
    rows: int
    duplicate_rows: int  # rows beyond the first per (system, game, player[, batch])
    duplicate_ids: int  # rows beyond the first per prediction_id
    repredictions: int  # rows beyond the first per (system, game, player): later batches
    missing_real_line: int  # no line or line_source other than REAL
    ungraded_bets: int  # OVER/UNDER without a line (cannot be graded)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairedComparison:
    """Champion vs challenger on the same player-games (McNemar on the same bets)."""

    champion: str
    challenger: str
    shared: int  # player-games both versions predicted
    paired_bets: int  # both bet and neither pushed
    both_hit: int
    both_miss: int
    champion_only: int  # b: champion right, challenger wrong
    challenger_only: int  # c: champion wrong, challenger right
    champion_hit_rate: float | None
    challenger_hit_rate: float | None
    mcnemar: stats.McNemarResult
    mae_champion: float | None
    mae_challenger: float | None
    mae_diff: float | None  # challenger - champion on shared rows (> 0: challenger worse)
    mae_diff_low: float
    mae_diff_high: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["mcnemar"] = asdict(self.mcnemar)
        for key in ("mae_diff_low", "mae_diff_high"):
            if not math.isfinite(data[key]):
                data[key] = None
        return data


@dataclass
class Metrics:
    rows: int
    systems: list[str]
    groups: list[GroupMetrics]
    histogram: dict[str, list[tuple[float, int]]]  # system -> (bin lower edge, count)
    leak: dict[str, LeakStats]
    sanity: dict[str, SanityStats]
    comparisons: list[PairedComparison] = field(default_factory=list)
    break_even: float = stats.BREAK_EVEN_MINUS_110
    confidence_level: float = 0.95

    def overall(self, system_id: str) -> GroupMetrics | None:
        for g in self.groups:
            if g.system_id == system_id and g.segment == "all":
                return g
        return None

    def segment(self, name: str, system_id: str | None = None) -> list[GroupMetrics]:
        return [
            g
            for g in self.groups
            if g.segment == name and (system_id is None or g.system_id == system_id)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "systems": self.systems,
            "break_even": self.break_even,
            "confidence_level": self.confidence_level,
            "groups": [g.to_json() for g in self.groups],
            "histogram": {k: [list(b) for b in v] for k, v in self.histogram.items()},
            "leak": {k: v.to_json() for k, v in self.leak.items()},
            "sanity": {k: v.to_json() for k, v in self.sanity.items()},
            "comparisons": [c.to_json() for c in self.comparisons],
        }


# --------------------------------------------------------------------------- SQL


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,127}", name):
        raise UsageError(f"not a table name: {name!r}")
    return name


def _num(value: float) -> str:
    return repr(float(value))


def _bucket_case(expr: str, edges: Sequence[float], fmt: str, missing: str) -> str:
    """``CASE`` labelling ``expr`` into ``[edge_i, edge_i+1)`` ranges, labels sort as text."""
    parts = [f"CASE WHEN {expr} IS NULL THEN '{missing}'"]
    labels = _bucket_labels(edges, fmt)
    for edge, label in zip(edges, labels, strict=False):
        parts.append(f"WHEN {expr} < {_num(edge)} THEN '{label}'")
    parts.append(f"ELSE '{labels[-1]}' END")
    return " ".join(parts)


def _bucket_labels(edges: Sequence[float], fmt: str) -> list[str]:
    labels = [f"<{format(edges[0], fmt)}"]
    labels += [
        f"{format(lo, fmt)}-{format(hi, fmt)}" for lo, hi in zip(edges, edges[1:], strict=False)
    ]
    labels.append(f">={format(edges[-1], fmt)}")
    return labels


def bucket_order(edges: Sequence[float], fmt: str) -> list[str]:
    """Labels of :func:`_bucket_case` in ascending order (for tables and plots)."""
    return _bucket_labels(edges, fmt)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {_ident(table)}").fetchall()
    return {str(r[0]).lower(): str(r[1]) for r in rows}


def prepare(con: duckdb.DuckDBPyConnection, table: str, buckets: Buckets | None = None) -> None:
    """Create the deduplicated, derived working table :data:`PREPARED` from ``table``.

    Duplicates (same system, game, player) keep the latest ``created_at``; the sanity
    gate reports them separately from the raw table.

    Raises:
        UsageError: ``table`` lacks a required column.
    """
    b = buckets or Buckets()
    columns = table_columns(con, table)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UsageError(
            f"graded predictions lack column(s) {', '.join(missing)}; required: "
            + ", ".join(REQUIRED_COLUMNS)
        )
    optional = ", ".join(
        (f"CAST({c} AS {t}) AS {c}" if c in columns else f"CAST(NULL AS {t}) AS {c}")
        for c, t in OPTIONAL_COLUMNS.items()
    )
    edge = "abs(predicted_points - line_value)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PREPARED} AS
        WITH src AS (
          SELECT CAST(game_id AS VARCHAR) AS game_id, CAST(game_date AS DATE) AS game_date,
                 CAST(player_lookup AS VARCHAR) AS player_lookup,
                 CAST(system_id AS VARCHAR) AS system_id,
                 CAST(predicted_points AS DOUBLE) AS predicted_points,
                 CAST(line_value AS DOUBLE) AS line_value,
                 upper(CAST(recommendation AS VARCHAR)) AS recommendation,
                 CAST(actual_points AS DOUBLE) AS actual_points,
                 {optional}
          FROM {_ident(table)}
          WHERE actual_points IS NOT NULL AND predicted_points IS NOT NULL
        ),
        dedup AS (
          SELECT * FROM src
          QUALIFY row_number() OVER (
            PARTITION BY system_id, game_id, player_lookup
            ORDER BY created_at DESC NULLS LAST, prediction_id DESC NULLS LAST) = 1
        )
        SELECT *,
          recommendation IN ('OVER', 'UNDER') AND line_value IS NOT NULL AS is_bet,
          recommendation IN ('OVER', 'UNDER') AND line_value IS NOT NULL
            AND actual_points = line_value AS is_push,
          (recommendation = 'OVER' AND actual_points > line_value)
            OR (recommendation = 'UNDER' AND actual_points < line_value) AS is_hit,
          predicted_points - actual_points AS err,
          {_bucket_case("line_value", b.line, "g", "no line")} AS line_bucket,
          CASE WHEN is_home IS NULL THEN 'unknown' WHEN is_home THEN 'home' ELSE 'away' END
            AS venue,
          {_bucket_case("minutes", b.minutes, "g", "unknown")} AS minutes_bucket,
          recommendation AS side,
          strftime(date_trunc('week', game_date), '%Y-%m-%d') AS week,
          {_bucket_case("confidence", b.confidence, ".2f", "none")} AS confidence_bucket,
          {_bucket_case(edge, b.edge, "g", "no line")} AS edge_bucket
        FROM dedup
        """  # noqa: S608
    )


_SEGMENT_COLUMNS = {
    "line": "line_bucket",
    "venue": "venue",
    "minutes": "minutes_bucket",
    "side": "side",
    "week": "week",
    "confidence": "confidence_bucket",
    "edge": "edge_bucket",
}


def _group_sql() -> str:
    sets = ["(system_id)"] + [f"(system_id, {c})" for c in _SEGMENT_COLUMNS.values()]
    segment = (
        "CASE "
        + " ".join(f"WHEN GROUPING({c}) = 0 THEN '{name}'" for name, c in _SEGMENT_COLUMNS.items())
        + " ELSE 'all' END"
    )
    bucket = (
        "COALESCE("
        + ", ".join(f"CASE WHEN GROUPING({c}) = 0 THEN {c} END" for c in _SEGMENT_COLUMNS.values())
        + ", 'all')"
    )
    return f"""
        SELECT system_id, {segment} AS segment, {bucket} AS bucket,
          count(*) AS predictions,
          count(*) FILTER (WHERE is_bet) AS bets,
          count(*) FILTER (WHERE is_push) AS pushes,
          count(*) FILTER (WHERE is_bet AND NOT is_push AND is_hit) AS hits,
          count(*) FILTER (WHERE recommendation = 'PASS') AS passes,
          avg(abs(err)) AS mae,
          avg(err) AS bias,
          avg(confidence) FILTER (WHERE is_bet AND NOT is_push) AS mean_confidence,
          avg(abs(predicted_points - line_value)) FILTER (WHERE is_bet) AS mean_edge
        FROM {PREPARED}
        GROUP BY GROUPING SETS ({", ".join(sets)})
        ORDER BY system_id, segment, bucket
    """  # noqa: S608


def compute(
    con: duckdb.DuckDBPyConnection,
    table: str = "graded",
    *,
    pairs: Sequence[tuple[str, str]] = (),
    buckets: Buckets | None = None,
    break_even: float = stats.BREAK_EVEN_MINUS_110,
    confidence_level: float = 0.95,
    histogram_width: float = 2.0,
    histogram_clip: float = 20.0,
) -> Metrics:
    """All metrics of a graded-predictions table.

    Args:
        con: DuckDB connection holding ``table``.
        table: graded predictions (see :data:`REQUIRED_COLUMNS`).
        pairs: (champion, challenger) system ids to compare on the same bets.
        buckets: segment bucket edges.
        break_even: hit rate that breaks even (52.38% at -110).
        confidence_level: level of the Wilson intervals.
        histogram_width, histogram_clip: signed-error histogram bins (points).

    Raises:
        UsageError: missing columns.
    """
    prepare(con, table, buckets)
    groups = [_group(r, break_even, confidence_level) for r in con.execute(_group_sql()).fetchall()]
    systems = sorted({g.system_id for g in groups})
    rows = sum(g.predictions for g in groups if g.segment == "all")
    return Metrics(
        rows=rows,
        systems=systems,
        groups=groups,
        histogram=_histogram(con, histogram_width, histogram_clip),
        leak=_leak(con),
        sanity=_sanity(con, table),
        comparisons=[compare(con, champ, chall, confidence_level) for champ, chall in pairs],
        break_even=break_even,
        confidence_level=confidence_level,
    )


def _group(row: tuple[Any, ...], break_even: float, level: float) -> GroupMetrics:
    (system, segment, bucket, predictions, bets, pushes, hits, passes, mae, bias, conf, edge) = row
    decided = int(bets) - int(pushes)
    low, high = stats.wilson_interval(int(hits), decided, level)
    return GroupMetrics(
        system_id=str(system),
        segment=str(segment),
        bucket=str(bucket),
        predictions=int(predictions),
        bets=int(bets),
        pushes=int(pushes),
        decided=decided,
        hits=int(hits),
        passes=int(passes),
        hit_rate=hits / decided if decided else None,
        hit_low=low,
        hit_high=high,
        p_vs_break_even=stats.binom_test_greater(int(hits), decided, break_even),
        mae=_opt(mae),
        bias=_opt(bias),
        pass_share=passes / predictions if predictions else None,
        mean_confidence=_opt(conf),
        mean_edge=_opt(edge),
    )


def _histogram(
    con: duckdb.DuckDBPyConnection, width: float, clip: float
) -> dict[str, list[tuple[float, int]]]:
    rows = con.execute(
        f"""
        SELECT system_id, greatest(-$clip, least($clip - $width, floor(err / $width) * $width))
                 AS bin, count(*)
        FROM {PREPARED} GROUP BY ALL ORDER BY system_id, bin
        """,  # noqa: S608
        {"clip": clip, "width": width},
    ).fetchall()
    out: dict[str, list[tuple[float, int]]] = {}
    for system, lower, n in rows:
        out.setdefault(str(system), []).append((float(lower), int(n)))
    return out


def _leak(con: duckdb.DuckDBPyConnection) -> dict[str, LeakStats]:
    rows = con.execute(
        f"""
        SELECT system_id, count(*),
          count(*) FILTER (WHERE created_at >= game_start),
          count(*) FILTER (WHERE created_at IS NOT NULL AND game_start IS NOT NULL),
          avg(CASE WHEN abs(err) < 0.5 THEN 1.0 ELSE 0.0 END),
          corr(predicted_points, actual_points),
          corr(line_value, actual_points)
        FROM {PREPARED} GROUP BY system_id ORDER BY system_id
        """  # noqa: S608
    ).fetchall()
    return {
        str(r[0]): LeakStats(
            system_id=str(r[0]),
            rows=int(r[1]),
            created_after_start=int(r[2]),
            with_timestamps=int(r[3]),
            exact_share=_opt(r[4]),
            corr_prediction=_opt(r[5]),
            corr_line=_opt(r[6]),
        )
        for r in rows
    }


def _sanity(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, SanityStats]:
    columns = table_columns(con, table)
    pid = "prediction_id" if "prediction_id" in columns else "NULL"
    # A coordinator batch may re-predict a player (lines move): one row per batch is not a
    # duplicate; the metrics grade the latest prediction before tip-off.
    batch = "coalesce(CAST(batch_id AS VARCHAR), '')" if "batch_id" in columns else "''"
    source = "upper(CAST(line_source AS VARCHAR))" if "line_source" in columns else "NULL"
    rows = con.execute(
        f"""
        SELECT CAST(system_id AS VARCHAR) AS system_id, count(*),
          count(*) - count(DISTINCT (game_id, player_lookup, {batch})),
          count({pid}) - count(DISTINCT {pid}),
          count(*) - count(DISTINCT (game_id, player_lookup)),
          count(*) FILTER (WHERE line_value IS NULL OR coalesce({source}, '') <> 'REAL'),
          count(*) FILTER (WHERE upper(CAST(recommendation AS VARCHAR)) IN ('OVER', 'UNDER')
                                 AND line_value IS NULL)
        FROM {_ident(table)} GROUP BY 1 ORDER BY 1
        """  # noqa: S608
    ).fetchall()
    return {
        str(r[0]): SanityStats(
            system_id=str(r[0]),
            rows=int(r[1]),
            duplicate_rows=int(r[2]),
            duplicate_ids=int(r[3]),
            repredictions=int(r[4]),
            missing_real_line=int(r[5]),
            ungraded_bets=int(r[6]),
        )
        for r in rows
    }


def compare(
    con: duckdb.DuckDBPyConnection, champion: str, challenger: str, confidence_level: float = 0.95
) -> PairedComparison:
    """Paired comparison on the player-games both versions predicted (after :func:`prepare`)."""
    row = con.execute(
        f"""
        WITH a AS (SELECT * FROM {PREPARED} WHERE system_id = $champion),
             b AS (SELECT * FROM {PREPARED} WHERE system_id = $challenger),
             j AS (
               SELECT a.is_bet AND b.is_bet AND NOT a.is_push AND NOT b.is_push AS paired,
                      a.is_hit AS a_hit, b.is_hit AS b_hit,
                      abs(b.err) - abs(a.err) AS d, abs(a.err) AS ae, abs(b.err) AS be
               FROM a JOIN b USING (game_id, player_lookup))
        SELECT count(*),
          count(*) FILTER (WHERE paired),
          count(*) FILTER (WHERE paired AND a_hit AND b_hit),
          count(*) FILTER (WHERE paired AND NOT a_hit AND NOT b_hit),
          count(*) FILTER (WHERE paired AND a_hit AND NOT b_hit),
          count(*) FILTER (WHERE paired AND NOT a_hit AND b_hit),
          avg(ae), avg(be), sum(d), sum(d * d)
        FROM j
        """,  # noqa: S608
        {"champion": champion, "challenger": challenger},
    ).fetchone()
    assert row is not None
    shared, paired, both_hit, both_miss, b, c = (int(v) for v in row[:6])
    d_sum = float(row[8] or 0.0)
    d_sq = float(row[9] or 0.0)
    low, high = stats.mean_ci(d_sum, d_sq, shared, confidence_level)
    return PairedComparison(
        champion=champion,
        challenger=challenger,
        shared=shared,
        paired_bets=paired,
        both_hit=both_hit,
        both_miss=both_miss,
        champion_only=b,
        challenger_only=c,
        champion_hit_rate=(both_hit + b) / paired if paired else None,
        challenger_hit_rate=(both_hit + c) / paired if paired else None,
        mcnemar=stats.mcnemar(b, c),
        mae_champion=_opt(row[6]),
        mae_challenger=_opt(row[7]),
        mae_diff=d_sum / shared if shared else None,
        mae_diff_low=low,
        mae_diff_high=high,
    )


def _opt(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- benchmark data


def synthetic_table(
    con: duckdb.DuckDBPyConnection,
    rows: int,
    *,
    table: str = "graded",
    seed: int = 7,
    systems: Sequence[str] = ("v8", "v9"),
) -> None:
    """A deterministic table of ``rows`` graded predictions (hash-based noise, no RNG state).

    Each player-game is predicted by every system in ``systems`` (so ``rows`` is rounded
    down to a multiple of their count); points ~ N(line, 7); the predictions carry a small
    real signal, so hit rates land near 52-55%. For benchmarks and scale tests.
    """
    n_systems = len(systems)
    if n_systems == 0 or rows < n_systems:
        raise UsageError("synthetic_table: need at least one row per system")
    games = rows // n_systems
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {_ident(table)} AS
        WITH base AS (
          SELECT i,
            (hash(i, $seed, 1) % 1000003) / 1000003.0 * 0.999 + 0.0005 AS u1,
            (hash(i, $seed, 2) % 1000003) / 1000003.0 AS u2,
            (hash(i, $seed, 3) % 1000003) / 1000003.0 AS u3,
            (hash(i, $seed, 4) % 1000003) / 1000003.0 AS u4
          FROM range($games) t(i)
        ),
        g AS (
          SELECT i, u4, 5.0 + floor(u3 * 50) / 2.0 AS line,
                 sqrt(-2 * ln(u1)) * cos(2 * pi() * u2) AS z
          FROM base
        ),
        s AS (SELECT unnest($systems) AS system_id, generate_subscripts($systems, 1) AS k),
        p AS (
          SELECT g.*, s.system_id,
            (hash(i, $seed, 10 + s.k) % 1000003) / 1000003.0 * 0.999 + 0.0005 AS v1,
            (hash(i, $seed, 20 + s.k) % 1000003) / 1000003.0 AS v2
          FROM g CROSS JOIN s
        ),
        q AS (
          -- dev = the prediction's deviation from the line: a weak real signal (0.32 z)
          -- plus the system's own noise, so hit rates land near 54%.
          SELECT *, 0.32 * z + 2.5 * sqrt(-2 * ln(v1)) * cos(2 * pi() * v2) AS dev FROM p
        )
        SELECT
          'p' || CAST(i AS VARCHAR) || '-' || system_id AS prediction_id,
          'g' || CAST(i // 20 AS VARCHAR) AS game_id,
          DATE '2024-10-22' + CAST(i // 1000 % 170 AS INTEGER) AS game_date,
          'player' || CAST(i % 20 AS VARCHAR) || '_' || CAST(i // 20 AS VARCHAR) AS player_lookup,
          system_id,
          line + dev AS predicted_points,
          line AS line_value,
          'REAL' AS line_source,
          CASE WHEN abs(dev) < 1 THEN 'PASS' WHEN dev > 0 THEN 'OVER' ELSE 'UNDER' END
            AS recommendation,
          0.5 + least(0.45, abs(dev) / 20) AS confidence,
          greatest(0, round(line + 7 * z)) AS actual_points,
          TIMESTAMPTZ '2024-10-22 15:30:00+00'
            + to_days(CAST(i // 1000 % 170 AS INTEGER)) AS created_at,
          TIMESTAMPTZ '2024-10-22 23:30:00+00'
            + to_days(CAST(i // 1000 % 170 AS INTEGER)) AS game_start,
          u4 < 0.5 AS is_home,
          10 + floor(u4 * 30) AS minutes
        FROM q
        """,  # noqa: S608
        {"seed": seed, "games": games, "systems": list(systems)},
    )
