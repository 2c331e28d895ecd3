"""The SQL behind :func:`nbaops.regression.metrics.compute`, in as few scans as possible.

Clean input (one row per version, game and player: the common case) takes two passes:

1. *groups*: one ``GROUPING SETS`` query groups the rows two small ways (coded segments;
   week and error bin), from which every segment's buckets, the signed-error histogram
   and the per-version totals roll up (in Python: :func:`roll_up`); the per-version-only
   sums (leakage signatures, sanity counts) come from a plain grouping by version, a
   query of its own (:func:`versions_sql`: its own scan of the input's few columns is
   cheaper than aggregating them per grouping set);
2. *keys*: one pass grouped by (game, player) finds duplicate keys and, in the same pass,
   builds the paired champion/challenger comparison.

Prediction-id uniqueness costs one more narrow pass when the column exists (distinct
hashes first, the exact count only when they fall short: :func:`duplicate_ids`). The
four queries run in two lanes of about equal work, each on its own cursor and its share
of the threads: the groups then the versions; the keys then the ids
(``metrics._first_passes``).
Only when the keys pass finds a key predicted twice (a duplicate, or a re-prediction of a
later batch) is the input materialised once, deduplicated (:func:`dedup`: the latest made
before tip-off wins), and passes 1-2 run on that: the statistics need one row per key.

Values are bound parameters ($name); the SQL interpolates only column names checked
against the table, table names checked as identifiers and bucket edges checked as numbers.
"""

from __future__ import annotations

# Hence the "noqa: S608" markers below.
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    import duckdb

DEDUPED = "_regression_deduped"
SEGMENT_COLUMNS = {
    "line": "line_bucket",
    "venue": "venue",
    "minutes": "minutes_bucket",
    "side": "side",
    "week": "week",
    "confidence": "confidence_bucket",
    "edge": "edge_bucket",
}
HIST = "hist"
# Without a tip-off time, the earliest regular tip-off of the game day (12:00 ET) stands in:
# a prediction created after noon on game day, or any later day, is flagged.
FALLBACK_TIPOFF = "12:00:00"
TIPOFF = f"coalesce(game_start, timezone('America/New_York', game_date + TIME '{FALLBACK_TIPOFF}'))"


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
                raise ConfigError(f"regression.buckets.{name}: edges must be increasing numbers")


def ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,127}", name):
        raise UsageError(f"not a table name: {name!r}")
    return name


def _num(value: float) -> str:
    return repr(float(value))


def bucket_labels(edges: Sequence[float], fmt: str) -> list[str]:
    """A label per bucket of ``edges``, each edge in ``fmt`` (``.2f``, ``g``), with more
    digits when ``fmt`` would show two edges alike: confidence edges 0.551 and 0.552 both
    read ``0.55``, two buckets got one label and their rows one row of the report."""
    kind, digits = fmt[-1], int(fmt[1:-1] or 6)  # "g" is ".6g"
    texts = [repr(float(edge)) for edge in edges]  # distinct for distinct edges
    for more in range(digits, 18):
        shown = [format(edge, f".{more}{kind}") for edge in edges]
        if len(set(shown)) == len(shown):
            texts = shown
            break
    labels = [f"<{texts[0]}"]
    labels += [f"{lo}-{hi}" for lo, hi in zip(texts, texts[1:], strict=False)]
    labels.append(f">={texts[-1]}")
    return labels


def _bucket_code(expr: str, edges: Sequence[float]) -> str:
    """0 when ``expr`` is NULL, then 1.. for ``[edge_i, edge_i+1)`` ranges (small integers
    hash several times faster than labels; :func:`labels` turns codes back into text)."""
    parts = [f"CASE WHEN {expr} IS NULL THEN 0"]
    for i, edge in enumerate(edges):
        parts.append(f"WHEN {expr} < {_num(edge)} THEN {i + 1}")
    parts.append(f"ELSE {len(edges) + 1} END::UTINYINT")
    return " ".join(parts)


def labels(buckets: Buckets) -> dict[str, list[str]]:
    """Per segment, the label of each bucket code (code 0 = value missing)."""
    return {
        "line": ["no line", *bucket_labels(buckets.line, "g")],
        "venue": ["unknown", "home", "away"],
        "minutes": ["unknown", *bucket_labels(buckets.minutes, "g")],
        "side": ["unknown", "OVER", "UNDER", "PASS"],
        "confidence": ["none", *bucket_labels(buckets.confidence, ".2f")],
        "edge": ["no line", *bucket_labels(buckets.edge, "g")],
    }


def source_sql(
    table: str, columns: dict[str, str], required: dict[str, str], optional: dict[str, str]
) -> str:
    """Typed rows of ``table``: required columns cast, missing optional ones NULL.

    ``required`` and ``optional`` map each column to its SQL type. A NaN or infinite
    number (a model emitting NaN; FLOAT64 holds them) becomes NULL, so no statistic is
    poisoned by it, and the row is flagged (``nonfinite``: counted and gated by
    ``finite_values``). The flag is true for such a row and otherwise false or NULL (NULL
    when another number is missing): it is only ever counted (``count_if`` counts true),
    and leaving out a ``coalesce`` per column took ~40% of its cost, ~12 ms of CPU on 1M
    rows.
    """
    parts = [f"CAST({c} AS {t}) AS {c}" for c, t in required.items()]
    parts += [
        f"CAST({c} AS {t}) AS {c}" if c in columns else f"CAST(NULL AS {t}) AS {c}"
        for c, t in optional.items()
    ]
    typed = f"SELECT {', '.join(parts)} FROM {ident(table)}"  # noqa: S608
    numbers = [c for c, t in {**required, **optional}.items() if t == "DOUBLE"]
    cleaned = ", ".join(f"CASE WHEN isfinite({c}) THEN {c} END AS {c}" for c in numbers)
    flag = " OR ".join(f"NOT isfinite({c})" for c in numbers) or "false"
    replace = f" REPLACE ({cleaned})" if cleaned else ""
    return f"SELECT *{replace}, {flag} AS nonfinite FROM ({typed})"  # noqa: S608


# The recommendation as a code (1 OVER, 2 UNDER, 3 PASS, 0 other): compared once per row,
# trimmed and upper-cased only when it is not already exact.
_SIDE = "CASE {r} WHEN 'OVER' THEN 1 WHEN 'UNDER' THEN 2 WHEN 'PASS' THEN 3"


# What :func:`outcome_sql` reads of a row; the keys pass reads these and the key, nothing
# else: binding the whole :func:`derived_sql` for it cost ~8 ms of planning per run,
# whatever the input's size.
OUTCOME_COLUMNS = ("predicted_points", "line_value", "recommendation", "actual_points")
KEY_COLUMNS = ("game_id", "player_lookup", "system_id", *OUTCOME_COLUMNS)


def outcome_sql(source: str) -> str:
    """The source with the side code, the graded flags and the error (what a bet did)."""
    return f"""
        SELECT *,
          actual_points IS NOT NULL AND predicted_points IS NOT NULL AS graded,
          side IN (1, 2) AND line_value IS NOT NULL AS is_bet,
          side IN (1, 2) AND line_value IS NOT NULL AND actual_points = line_value AS is_push,
          (side = 1 AND actual_points > line_value)
            OR (side = 2 AND actual_points < line_value) AS is_hit,
          predicted_points - actual_points AS err
        FROM (SELECT *, {_SIDE.format(r="recommendation")}
          ELSE {_SIDE.format(r="upper(trim(recommendation))")} ELSE 0 END END::UTINYINT AS side
          FROM ({source}))
    """  # noqa: S608


def derived_sql(source: str, buckets: Buckets, width: float, clip: float) -> str:
    """:func:`outcome_sql` with the tip-off, segment codes and histogram bin."""
    b = buckets
    edge = "abs(predicted_points - line_value)"
    return f"""
        SELECT *,
          {TIPOFF} AS tipoff,
          {_bucket_code("line_value", b.line)} AS line_bucket,
          CASE WHEN is_home IS NULL THEN 0 WHEN is_home THEN 1 ELSE 2 END::UTINYINT AS venue,
          {_bucket_code("minutes", b.minutes)} AS minutes_bucket,
          date_trunc('week', game_date)::DATE AS week,
          {_bucket_code("confidence", b.confidence)} AS confidence_bucket,
          {_bucket_code("CASE WHEN line_value IS NULL THEN NULL ELSE " + edge + " END", b.edge)}
            AS edge_bucket,
          -- (greatest/least skip NULLs: a row without an error would land in the last bin)
          CASE WHEN err IS NOT NULL THEN
            greatest({_num(-clip)}, least({_num(clip - width)},
              floor(err / {_num(width)}) * {_num(width)}))
          END AS err_bin
        FROM ({outcome_sql(source)})
    """  # noqa: S608


# Additive aggregates, name -> (aggregate, per-row input): inputs computed once per row
# (GROUPING SETS would evaluate them per grouping); count_if / sum(CASE) are several times
# faster in DuckDB than the same values with FILTER clauses.
_GRADED_BET = "graded AND is_bet"
_DECIDED = "graded AND is_bet AND NOT is_push"


def _when(condition: str, expr: str) -> tuple[str, str]:
    return "sum", f"CASE WHEN {condition} THEN {expr} END"


_BASE: dict[str, tuple[str, str]] = {
    "predictions": ("count_if", "graded"),
    "bets": ("count_if", _GRADED_BET),
    "pushes": ("count_if", "graded AND is_push"),
    "hits": ("count_if", f"{_DECIDED} AND is_hit"),
    "passes": ("count_if", "graded AND side = 3"),
    "sum_abs_err": ("sum", "abs(err)"),
    "sum_err": ("sum", "err"),
    "sum_confidence": _when(_DECIDED, "confidence"),
    "n_confidence": ("count_if", f"{_DECIDED} AND confidence IS NOT NULL"),
    "sum_edge": _when(_GRADED_BET, "abs(predicted_points - line_value)"),
    "raw_rows": ("count_if", "true"),
    "missing_outcomes": ("count_if", "NOT graded"),
    "late": ("count_if", "graded AND created_at >= tipoff"),
    "with_ts": ("count_if", "graded AND created_at IS NOT NULL AND tipoff IS NOT NULL"),
    "ts_fallback": ("count_if", "graded AND created_at IS NOT NULL AND game_start IS NULL"),
    "exact": ("count_if", "graded AND abs(err) < 0.5"),
    "missing_real_line": (
        "count_if",
        "line_value IS NULL OR coalesce(upper(line_source), '') <> 'REAL'",
    ),
    "ungraded_bets": ("count_if", "side IN (1, 2) AND line_value IS NULL"),
    "no_line": ("count_if", "line_value IS NULL"),
    # rows without their game, player or date (a NULL version is a group of its own)
    "missing_keys": (
        "count_if",
        # (= '', not trim: a trim per row cost ~20% of the pass on 1M rows)
        "game_id IS NULL OR game_id = '' OR player_lookup IS NULL OR player_lookup = '' "
        "OR game_date IS NULL",
    ),
    "unknown_recommendations": ("count_if", "side = 0"),
    "nonfinite": ("count_if", "nonfinite"),  # rows with a NaN/infinite number (now NULL)
}
# Per version only: corr(predicted, actual) and corr(line, actual) on graded rows, by
# DuckDB's corr (numerically stable: sums of squares lost the 4th decimal at values ~1e6
# and all of it at ~1e7; corr skips a pair with a NULL side).
_CORRELATIONS = {
    "corr_prediction": ("predicted_points", "actual_points"),
    "corr_line": ("line_value", "actual_points"),
}
# What a segment bucket, a week and the histogram report (GroupMetrics): aggregated in the
# two groupings. The rest (leakage signatures, sanity counts, correlations) is only
# reported per version, so it is aggregated once per version, not once per grouping.
_PER_GROUP = (
    "predictions",
    "bets",
    "pushes",
    "hits",
    "passes",
    "sum_abs_err",
    "sum_err",
    "sum_confidence",
    "n_confidence",
    "sum_edge",
)
_PER_VERSION = (*(name for name in _BASE if name not in _PER_GROUP), *_CORRELATIONS)
# The columns of every pass-1 row (what :func:`run_groups` returns, in order).
GROUP_FIELDS = ("system_id", "segment", "bucket", "err_bin", *_PER_GROUP, *_PER_VERSION)
# The segments whose bucket codes are small integers: grouped together in pass 1.
_CODED = [c for c in SEGMENT_COLUMNS.values() if c != "week"]
_CODED_SEGMENTS = {c: name for name, c in SEGMENT_COLUMNS.items() if c in _CODED}
# What a row of pass 1 holds: a (version, coded segments) group, a (version, week, error
# bin) group (GROUPING(week) tells the two apart), or a version's own sums (versions_sql).
BY_CODES, BY_WEEK_AND_BIN, PER_VERSION = 1, 0, 2


def _inputs(derived: str, keys: str, sums: Sequence[str]) -> str:
    """The grouping columns ``keys`` and the per-row inputs of ``sums`` (names of
    :data:`_BASE` or :data:`_CORRELATIONS`), computed once per row (GROUPING SETS would
    evaluate an aggregate's expression once per grouping). Each query binds only the
    inputs it aggregates: both binding every input cost ~2 ms more planning each."""

    def columns(name: str) -> str:
        if name in _CORRELATIONS:
            x, y = _CORRELATIONS[name]
            return (
                f"CASE WHEN graded THEN {x} END AS _{name}_x, "
                f"CASE WHEN graded THEN {y} END AS _{name}_y"
            )
        return f"{_BASE[name][1]} AS _{name}"

    return f"SELECT {keys}, {', '.join(map(columns, sums))} FROM ({derived})"  # noqa: S608


def groups_sql(derived: str) -> str:
    """Pass 1, one scan into two small groupings (``GROUPING SETS``): by version and the
    coded segments, and by version, week and error bin. Each partitions every version's
    rows, so each segment's buckets, the weeks, the histogram and the version's totals
    roll up from them (:func:`roll_up`; one grouping by every segment and the bin at once
    has ~100x the groups, twice the time).

    Row layout (:func:`versions_sql`'s too): system_id, the coded segments, week,
    err_bin, the kind (:data:`BY_CODES`, :data:`BY_WEEK_AND_BIN`, :data:`PER_VERSION`),
    the per-group sums (NULL in a version's own row), the per-version sums (NULL in a
    group's row).
    """
    coded = ", ".join(_CODED)
    per_group = ", ".join(f"{_BASE[name][0]}(_{name}) AS {name}" for name in _PER_GROUP)
    no_version_sums = ", ".join(["NULL"] * len(_PER_VERSION))
    return f"""
        SELECT system_id, {coded}, week, err_bin, GROUPING(week) AS kind, {per_group},
          {no_version_sums}
        FROM ({_inputs(derived, f"system_id, {coded}, week, err_bin", _PER_GROUP)})
        GROUP BY GROUPING SETS ((system_id, {coded}), (system_id, week, err_bin))
    """  # noqa: S608


def versions_sql(derived: str) -> str:
    """Pass 1's per-version-only sums (:data:`_PER_VERSION`: leakage signatures, sanity
    counts, correlations), in :func:`groups_sql`'s row layout, by a plain grouping by
    version: aggregated in both grouping sets instead, they cost a third more CPU. A
    query of its own (its own scan of the input's few columns), so that it can run in the
    other lane than :func:`groups_sql` (``metrics._first_passes``)."""
    per_version = ", ".join(
        f"corr(_{name}_x, _{name}_y) AS {name}"
        if name in _CORRELATIONS
        else f"{_BASE[name][0]}(_{name}) AS {name}"
        for name in _PER_VERSION
    )
    no_groups = ", ".join(["NULL"] * (len(_CODED) + 2))  # coded segments, week, err_bin
    no_sums = ", ".join(["NULL"] * len(_PER_GROUP))
    return f"""
        SELECT system_id, {no_groups}, {PER_VERSION}, {no_sums}, {per_version}
        FROM ({_inputs(derived, "system_id", _PER_VERSION)}) GROUP BY system_id
    """  # noqa: S608


def run_groups(con: duckdb.DuckDBPyConnection, derived: str) -> list[tuple[Any, ...]]:
    """Pass 1 (:func:`groups_sql` and :func:`versions_sql`, in turn) rolled up: rows of
    :data:`GROUP_FIELDS`."""
    rows = con.execute(groups_sql(derived)).fetchall()
    return roll_up(rows + con.execute(versions_sql(derived)).fetchall())


def roll_up(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of :data:`GROUP_FIELDS` from the few hundred of :func:`groups_sql` and
    :func:`versions_sql`: each version's ``all`` (its coded groups summed, with its
    per-version sums), each segment's buckets (the coded groups with that code), each
    week and each histogram bin (the week-and-bin groups). Sums, as SQL's: NULL only
    when every value is. (Nine more hash aggregates, a union and a join did this in SQL:
    ~20 ms to plan and allocate on a 2-core machine, however few the rows.) Each output
    row's groups are gathered first, then summed a column at a time (a running total
    per value took ~1.6x as long: ~7 ms for 1M rows' 1,650 groups)."""
    coded = len(_CODED)
    kind_at = 1 + coded + 2
    first, last = kind_at + 1, kind_at + 1 + len(_PER_GROUP)
    segments = [_CODED_SEGMENTS[column] for column in _CODED]
    members: defaultdict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
    own: dict[Any, tuple[Any, ...]] = {}
    for row in rows:
        system, kind = row[0], row[kind_at]
        if kind == PER_VERSION:
            own[system] = row[last:]
            continue
        if kind == BY_CODES:
            keys = [(system, "all", "all", None)]
            codes = row[1 : 1 + coded]
            keys += [(system, name, code, None) for name, code in zip(segments, codes, strict=True)]
        else:
            keys = [(system, "week", row[1 + coded], None), (system, HIST, "all", row[2 + coded])]
        values = row[first:last]
        for key in keys:
            members[key].append(values)
    nulls = (None,) * len(_PER_VERSION)
    return [
        (
            *key,
            *map(_sql_sum, zip(*groups, strict=True)),
            *(own.get(key[0], nulls) if key[1] == "all" else nulls),
        )
        for key, groups in members.items()
    ]


def _sql_sum(values: tuple[Any, ...]) -> Any:
    """SQL's sum: the values that are not NULL added in order; NULL when none is."""
    if None not in values:  # (a count never is: most columns)
        return sum(values)
    present = [v for v in values if v is not None]
    return sum(present) if present else None


# A row's outcome for the paired comparison, one more than the bet's result so that 0 can
# mean "a row, but no graded one": 0 not graded, 1 graded without a decided bet (no bet, or
# a push), 2 a decided miss, 3 a decided hit (is_hit is known whenever the bet is decided).
_OUTCOME = (
    "CASE WHEN NOT graded THEN 0 WHEN NOT is_bet OR is_push THEN 1 WHEN is_hit THEN 3 ELSE 2 END"
)


@dataclass(frozen=True)
class KeyStats:
    """Pass 2: the (version, game, player)s that have rows, and the paired comparisons."""

    keyed: int  # (version, game, player)s with at least one row, of the listed versions
    pairs: dict[tuple[str, str], tuple[Any, ...]]

    def extra_rows(self, rows: int) -> int:
        """Rows beyond the first per (version, game, player), given the listed versions'
        rows (pass 1 counts them, ``raw_rows``): each (version, key) present has one first."""
        return rows - self.keyed


def keys_sql(outcomes: str, systems: Sequence[str], pairs: Sequence[tuple[str, str]]) -> str:
    """Pass 2 over (game, player) of :func:`outcome_sql`'s rows: repeated keys per version
    and every pair's counts.

    Per key and version: the outcome code of its row (:data:`_OUTCOME`; NULL: the version
    has no row at this key) and, for a version in a pair, its graded row's absolute error.
    The (version, key)s present are counted (``keyed``); the rows beyond the first per
    (version, key) are then the rows less those (:meth:`KeyStats.extra_rows`, with pass 1's
    count of the rows): exact without a count per key, let alone one per version (on 1M
    rows ~17% less CPU and memory than a count per version, the aggregate's memory being
    touched for the first time a fifth of the pass's time in a new process). A key
    repeated within a version makes the caller deduplicate and run this again, so the
    codes and errors are only read when every version has at most one row per key.
    """
    index = {s: i for i, s in enumerate(systems)}
    paired = {index[v] for pair in pairs for v in pair if v in index}
    per: list[str] = []
    for i in range(len(systems)):
        # si: the version's index (one string comparison per row, not one per aggregate)
        per.append(f"max(CASE WHEN si = {i + 1} THEN {_OUTCOME} END) AS c{i}")
        if i in paired:
            per.append(f"max(CASE WHEN si = {i + 1} AND graded THEN abs(err) END) AS e{i}")
    # (an aggregate even without versions: the query returns its one row whatever the input)
    keyed = " + ".join(f"count(c{i})" for i in range(len(systems))) or "count(*) * 0"
    outer = [f"{keyed} AS keyed"]
    for k, (a, b) in enumerate(pairs):
        ia, ib = index.get(a), index.get(b)
        if ia is None or ib is None:
            outer.append(
                f"0 AS shared{k}, 0 AS paired{k}, 0 AS bh{k}, 0 AS bm{k}, 0 AS co{k}, 0 AS ho{k}, "
                f"NULL AS ae{k}, NULL AS be{k}, NULL AS ds{k}, NULL AS dq{k}"
            )
            continue
        ca, cb = f"c{ia}", f"c{ib}"
        shared = f"{ca} > 0 AND {cb} > 0"
        d = f"(e{ib} - e{ia})"
        outer += [
            f"count_if({shared}) AS shared{k}",
            f"count_if({ca} > 1 AND {cb} > 1) AS paired{k}",
            f"count_if({ca} = 3 AND {cb} = 3) AS bh{k}",
            f"count_if({ca} = 2 AND {cb} = 2) AS bm{k}",
            f"count_if({ca} = 3 AND {cb} = 2) AS co{k}",
            f"count_if({ca} = 2 AND {cb} = 3) AS ho{k}",
            f"avg(CASE WHEN {shared} THEN e{ia} END) AS ae{k}",
            f"avg(CASE WHEN {shared} THEN e{ib} END) AS be{k}",
            f"sum(CASE WHEN {shared} THEN {d} END) AS ds{k}",
            f"sum(CASE WHEN {shared} THEN {d} * {d} END) AS dq{k}",
        ]
    # one parameter per version ($system0, ...): a list parameter made DuckDB import
    # Python's uuid module (and platform) to convert it, ~5 ms of a pass's thread
    versions = ", ".join(f"$system{i}" for i in range(len(systems)))
    return f"""
        WITH k AS (
          SELECT game_id, player_lookup, {", ".join(per) or "count(*) AS n"}
          FROM (SELECT *, list_position([{versions}], system_id) AS si FROM ({outcomes}))
          GROUP BY game_id, player_lookup)
        SELECT {", ".join(outer)} FROM k
    """  # noqa: S608


def run_keys(
    con: duckdb.DuckDBPyConnection,
    outcomes: str,
    systems: Sequence[str],
    pairs: Sequence[tuple[str, str]],
) -> KeyStats:
    values = {f"system{i}": s for i, s in enumerate(systems)}
    row = con.execute(keys_sql(outcomes, systems, pairs), values).fetchone()
    assert row is not None
    # after keyed, each pair's ten columns in turn (keys_sql)
    out = {pair: tuple(row[1 + 10 * k : 11 + 10 * k]) for k, pair in enumerate(pairs)}
    return KeyStats(keyed=int(row[0] or 0), pairs=out)


def dedup(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """Materialise the source with one row per (version, game, player): the graded one, made
    before tip-off, latest first (a re-prediction after tip-off is not what was bet on; the
    ``created_before_tipoff`` gate counts it from the first pass over the raw rows)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {DEDUPED} AS
        SELECT * FROM ({source})
        QUALIFY row_number() OVER (
          PARTITION BY system_id, game_id, player_lookup
          ORDER BY (actual_points IS NOT NULL) DESC,
                   coalesce(created_at < {TIPOFF}, false) DESC,
                   created_at DESC NULLS LAST, prediction_id DESC NULLS LAST) = 1
        """  # noqa: S608
    )
    return f"SELECT * FROM {DEDUPED}"  # noqa: S608


def duplicate_ids(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Rows beyond the first per prediction id, by version (versions without any: absent).

    Exact, in one narrow pass when no id repeats: as many distinct 64-bit hashes of
    (version, id) as rows with an id means every (version, id) is distinct (distinct
    hashes <= distinct pairs <= rows). Only fewer hashes (a repeated id, or a hash
    collision) runs the exact count by version. Hashes make the distinct set integers:
    ~25% less CPU than the distinct strings.
    """
    t = ident(table)
    ids, hashes = con.execute(
        f"""SELECT count(*), count(DISTINCT hash(system_id, prediction_id))
        FROM {t} WHERE prediction_id IS NOT NULL"""  # noqa: S608
    ).fetchone() or (0, 0)
    if ids == hashes:
        return {}
    rows = con.execute(
        f"""SELECT CAST(system_id AS VARCHAR), count(prediction_id) - count(DISTINCT prediction_id)
        FROM {t} GROUP BY 1"""  # noqa: S608
    ).fetchall()
    return {str(s): int(n) for s, n in rows if n}


def key_duplicates(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]
) -> dict[str, tuple[int, int, int, int]]:
    """Slow path only: per version, (duplicate rows counted once, rows repeating a key and
    batch, rows repeating a prediction id, re-predictions of a later batch) of the raw table.

    A row is a duplicate when it repeats (version, game, player, batch) *or* a prediction id;
    one row that does both is counted once.
    """
    batch = "CAST(batch_id AS VARCHAR)" if "batch_id" in columns else "NULL"
    pid = "CAST(prediction_id AS VARCHAR)" if "prediction_id" in columns else "NULL"
    # Every window orders by the row's position (rid): an exact duplicate is then the
    # second row of both its key and its id, counted once; unordered windows could each
    # pick a different row of the pair as the first, and the pair counted twice.
    rows = con.execute(
        f"""
        WITH t AS (SELECT *, row_number() OVER () AS rid FROM {ident(table)}),
        r AS (
          SELECT CAST(system_id AS VARCHAR) AS system_id, {pid} AS pid,
            row_number() OVER (
              PARTITION BY system_id, game_id, player_lookup, {batch} ORDER BY rid) AS rk,
            row_number() OVER (PARTITION BY system_id, {pid} ORDER BY rid) AS ri,
            row_number() OVER (PARTITION BY system_id, game_id, player_lookup ORDER BY rid) AS rn
          FROM t)
        SELECT system_id,
          count(*) FILTER (WHERE rk > 1 OR (pid IS NOT NULL AND ri > 1)),
          count(*) FILTER (WHERE rk > 1),
          count(*) FILTER (WHERE pid IS NOT NULL AND ri > 1),
          count(*) FILTER (WHERE rn > 1 AND rk = 1)
        FROM r GROUP BY system_id
        """  # noqa: S608
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}
