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
import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.errors import UsageError
from nbaops.regression import scan, stats
from nbaops.regression.scan import Buckets as Buckets  # declared with the SQL that uses it
from nbaops.regression.scan import ident as _ident  # the name tests/static/test_security knows

if TYPE_CHECKING:
    import duckdb

# Required columns and their SQL type (declared once: the scan casts to them, the CSV
# reader and the input checks read them).
REQUIRED_COLUMN_TYPES: dict[str, str] = {
    "game_id": "VARCHAR",
    "game_date": "DATE",
    "player_lookup": "VARCHAR",
    "system_id": "VARCHAR",
    "predicted_points": "DOUBLE",
    "line_value": "DOUBLE",
    "recommendation": "VARCHAR",
    "actual_points": "DOUBLE",
}
REQUIRED_COLUMNS = tuple(REQUIRED_COLUMN_TYPES)
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
# The signed-error histogram's bins (points): 2 wide, the errors beyond +-20 in the end bins.
HISTOGRAM_WIDTH, HISTOGRAM_CLIP = 2.0, 20.0


@dataclass(frozen=True)
class GroupMetrics:
    """One version's statistics over one bucket of a segment (or all its rows, a week)."""

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
    tipoff_from_game_date: int = 0  # rows without game_start: 12:00 ET of the game day used

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SanityStats:
    """One version's input checks: repeats, re-predictions, lines and outcomes missing."""

    system_id: str
    rows: int
    duplicates: int  # rows repeating (system, game, player, batch) or an id: counted once
    duplicate_rows: int  # rows beyond the first per (system, game, player[, batch])
    duplicate_ids: int  # rows beyond the first per prediction_id
    repredictions: int  # later batches re-predicting a (system, game, player)
    missing_real_line: int  # no line or line_source other than REAL
    ungraded_bets: int  # OVER/UNDER without a line (cannot be graded)
    missing_outcomes: int = 0  # rows without actual_points (or prediction): not graded
    nonfinite: int = 0  # rows with a NaN or infinite number (read as missing)
    no_line: int = 0  # rows without a line at all (not REAL, whatever line_source says)

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
        data = asdict(self)  # (mcnemar too: asdict recurses into dataclasses)
        for key in ("mae_diff_low", "mae_diff_high"):
            if not math.isfinite(data[key]):
                data[key] = None
        return data


@dataclass
class Metrics:
    """Every statistic of one graded-predictions input (what :func:`compute` returns)."""

    rows: int
    systems: list[str]
    groups: list[GroupMetrics]
    histogram: dict[str, list[tuple[float, int]]]  # system -> (bin lower edge, count)
    leak: dict[str, LeakStats]
    sanity: dict[str, SanityStats]
    comparisons: list[PairedComparison] = field(default_factory=list)
    break_even: float = stats.BREAK_EVEN_MINUS_110
    confidence_level: float = 0.95
    # Optional columns the input lacks (read as NULL): the gates needing them cannot measure.
    missing_columns: tuple[str, ...] = ()

    def overall(self, system_id: str) -> GroupMetrics | None:
        return next(iter(self.segment("all", system_id)), None)

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
            "missing_columns": list(self.missing_columns),
        }


# --------------------------------------------------------------------------- SQL


def segment_order(buckets: Buckets) -> dict[str, list[str]]:
    """Every segment's bucket labels in their natural order (the missing-value label last)."""
    return {name: [*codes[1:], codes[0]] for name, codes in scan.labels(buckets).items()}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {_ident(table)}").fetchall()
    return {str(r[0]).lower(): str(r[1]) for r in rows}


def compute(
    con: duckdb.DuckDBPyConnection,
    table: str = "graded",
    *,
    pairs: Sequence[tuple[str, str]] = (),
    buckets: Buckets | None = None,
    break_even: float = stats.BREAK_EVEN_MINUS_110,
    confidence_level: float = 0.95,
) -> Metrics:
    """All metrics of a graded-predictions table, in two passes when the input is clean.

    See :mod:`nbaops.regression.scan`: one ``GROUPING SETS`` pass (segments, histogram,
    leakage, sanity), one pass over (game, player) (repeated keys, paired comparisons) and,
    when ``prediction_id`` exists, one narrow pass over its distinct hashes
    (:func:`~nbaops.regression.scan.duplicate_ids`). Keys predicted twice make it
    deduplicate (the latest ``created_at`` wins) and rerun both passes on the result.

    Args:
        con: DuckDB connection holding ``table`` (a table or a view).
        table: graded predictions (see :data:`REQUIRED_COLUMNS`).
        pairs: (champion, challenger) system ids to compare on the same bets.
        buckets: segment bucket edges.
        break_even: hit rate that breaks even (52.38% at -110).
        confidence_level: level of the Wilson intervals.

    Raises:
        UsageError: missing columns, or a recommendation other than OVER/UNDER/PASS.
    """
    b = buckets or Buckets()
    columns = table_columns(con, table)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UsageError(
            f"graded predictions lack column(s) {', '.join(missing)}; required: "
            + ", ".join(REQUIRED_COLUMNS)
        )
    source = scan.source_sql(table, columns, REQUIRED_COLUMN_TYPES, OPTIONAL_COLUMNS)
    derived = scan.derived_sql(source, b, HISTOGRAM_WIDTH, HISTOGRAM_CLIP)
    systems, rows, keys, ids = _first_passes(
        con, table, derived, outcomes_sql(table, columns), pairs, "prediction_id" in columns
    )
    fields = scan.GROUP_FIELDS
    totals = [dict(zip(fields, r, strict=True)) for r in rows if r[1] == "all"]  # per version
    if any(t["system_id"] in (None, "") or t["missing_keys"] for t in totals):
        _missing_key(con, table)
    if any(t["unknown_recommendations"] for t in totals):
        _unknown_recommendation(con, table)
    dups: dict[str, tuple[int, int, int, int]] = {}
    late: dict[str, int] | None = None  # slow path: late rows counted before deduplication
    # every version's rows (a NULL version raised above)
    if keys.extra_rows(sum(int(t["raw_rows"] or 0) for t in totals)):
        dups = scan.key_duplicates(con, table, columns)
        # the first pass counted the raw rows
        late = {str(t["system_id"]): int(t["late"] or 0) for t in totals}
        deduped = scan.dedup(con, source)
        rows = scan.run_groups(con, scan.derived_sql(deduped, b, HISTOGRAM_WIDTH, HISTOGRAM_CLIP))
        keys = scan.run_keys(con, scan.outcome_sql(deduped), systems, pairs)
    elif ids is not None:
        dups = {s: (n, 0, n, 0) for s, n in ids.items()}
    records = [_labelled(dict(zip(fields, r, strict=True)), b) for r in rows]
    overall = {r["system_id"]: r for r in records if r["segment"] == "all"}
    if late is not None:
        for system, r in overall.items():
            r["late"] = late.get(str(system), 0)
    groups = [
        _group(r, break_even, confidence_level)
        for r in records
        if r["segment"] == "all" or (r["segment"] != scan.HIST and int(r["predictions"] or 0))
    ]
    groups.sort(key=lambda g: (g.system_id, g.segment, g.bucket))
    histogram: dict[str, list[tuple[float, int]]] = {}
    for r in sorted(
        (r for r in records if r["segment"] == scan.HIST and r["err_bin"] is not None),
        key=lambda r: (r["system_id"], r["err_bin"]),
    ):
        histogram.setdefault(str(r["system_id"]), []).append(
            (float(r["err_bin"]), int(r["predictions"] or 0))
        )
    return Metrics(
        rows=sum(int(r["predictions"] or 0) for r in overall.values()),
        systems=systems,
        groups=groups,
        histogram=histogram,
        leak={s: _leak(r) for s, r in sorted(overall.items())},
        sanity={s: _sanity(r, dups.get(s)) for s, r in sorted(overall.items())},
        comparisons=[
            _comparison(champ, chall, keys.pairs[(champ, chall)], confidence_level)
            for champ, chall in pairs
        ],
        break_even=break_even,
        confidence_level=confidence_level,
        missing_columns=tuple(c for c in OPTIONAL_COLUMNS if c not in columns),
    )


def outcomes_sql(table: str, columns: dict[str, str]) -> str:
    """The keys pass's rows: :func:`~nbaops.regression.scan.outcome_sql` over the key
    columns alone (typed and cleaned as every pass reads them)."""
    key_types = {c: REQUIRED_COLUMN_TYPES[c] for c in scan.KEY_COLUMNS}
    return scan.outcome_sql(scan.source_sql(table, columns, key_types, {}))


def _first_passes(
    con: duckdb.DuckDBPyConnection,
    table: str,
    derived: str,
    outcomes: str,
    pairs: Sequence[tuple[str, str]],
    with_ids: bool,
) -> tuple[list[str], list[tuple[Any, ...]], scan.KeyStats, dict[str, int] | None]:
    """The versions, pass 1 (groups and versions, over the ``derived`` rows), pass 2
    (keys, over the ``outcomes`` rows) and the prediction-id pass, in two lanes side by
    side.

    They read the same input independently; run one after the other, DuckDB left a core
    idle in each one's single-threaded phases (~15% of the wall time on 1M rows). One
    lane runs the groups then the versions on ``con``, the other the keys then the ids on
    a cursor beside it: about equal work (on 1M rows, single-threaded, ~245 and ~240 ms
    of CPU), and the ids pass reuses the memory the keys pass (the one large hash table)
    has just released, where the other lane would have to be given its own (three lanes
    on three threads took ~2% more, pass 1 whole in one lane ~5% more wall time). A
    connection-local input (a TEMP object, which other cursors do not see) runs them all
    in turn on ``con``. The lane done first gives DuckDB's threads back
    (:func:`threads_each`). The versions the keys pass pivots on come from one DISTINCT at
    the start of its lane (a few ms). The caller reads pass 1's error signals (missing
    keys, unknown recommendations) before it trusts the others.
    """
    from nbaops.concurrency import map_concurrently

    def groups_then_versions(cursor: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        rows = cursor.execute(scan.groups_sql(derived)).fetchall()
        return rows + cursor.execute(scan.versions_sql(derived)).fetchall()

    def keys_then_ids(
        cursor: duckdb.DuckDBPyConnection,
    ) -> tuple[list[str], scan.KeyStats, dict[str, int] | None]:
        systems = sorted(
            str(r[0])
            for r in cursor.execute(
                f"SELECT DISTINCT CAST(system_id AS VARCHAR) FROM {_ident(table)}"  # noqa: S608
            ).fetchall()
        )
        keys = scan.run_keys(cursor, outcomes, systems, pairs)
        return systems, keys, scan.duplicate_ids(cursor, table) if with_ids else None

    beside = _cursor_seeing(con, table)
    if beside is None:
        groups, (systems, keys, ids) = groups_then_versions(con), keys_then_ids(con)
    else:
        lanes: list[tuple[Callable[[duckdb.DuckDBPyConnection], Any], duckdb.DuckDBPyConnection]]
        lanes = [(groups_then_versions, con), (keys_then_ids, beside)]
        with threads_each(con, len(lanes)) as give_back:

            def run(lane: tuple[Callable[[duckdb.DuckDBPyConnection], Any], Any]) -> Any:
                work, cursor = lane
                try:
                    return work(cursor)
                finally:
                    give_back(cursor)  # the first lane done restores the threads

            groups, (systems, keys, ids) = map_concurrently(
                run, lanes, max_workers=len(lanes), name="regression-pass"
            )
    return systems, scan.roll_up(groups), keys, ids


@contextlib.contextmanager
def threads_each(
    con: duckdb.DuckDBPyConnection, queries: int
) -> Iterator[Callable[[duckdb.DuckDBPyConnection], None]]:
    """DuckDB's threads shared out among ``queries`` running at once (at least one each),
    restored afterwards (the setting is the database's, every cursor's).

    Left at its default, each query plans for every core: the first passes on two cores
    (then three at once) took ~20% more CPU (partitioned hash tables to merge, threads
    preempting each other) than the same three single-threaded side by side, ~6% of the
    whole ``inv regression --from`` process on 1M rows.

    Yields ``give_back(cursor)``: the first query done calls it with its own cursor and
    restores the setting then, not after the last one. After a large pass, changing the
    threads makes DuckDB flush its allocator's caches (~6 ms on 1M rows, whatever the
    count): on the finished query's core it overlaps the other query's end instead of
    following it. Later calls do nothing; on exit, uncalled, the setting is restored.
    """
    if queries <= 1:  # one query alone keeps every thread (and costs no lookup)
        yield _keep_threads
        return
    found = con.execute("SELECT current_setting('threads')").fetchone()
    threads = int(found[0]) if found else 1
    share = max(1, threads // queries)
    if share == threads:
        yield _keep_threads
        return
    con.execute("SET threads = $n", {"n": share})
    lock = threading.Lock()
    given: list[bool] = []

    def give_back(cursor: duckdb.DuckDBPyConnection) -> None:
        with lock:
            if not given:
                given.append(True)
                cursor.execute("SET threads = $n", {"n": threads})

    try:
        yield give_back
    finally:
        give_back(con)


def _keep_threads(_cursor: duckdb.DuckDBPyConnection) -> None:
    """Nothing to give back (:func:`threads_each` left the setting alone)."""


def _cursor_seeing(con: duckdb.DuckDBPyConnection, table: str) -> duckdb.DuckDBPyConnection | None:
    """A new cursor of ``con`` that sees ``table``, or None when only ``con`` does (a TEMP
    table or view, or a view over one): binding the table in the cursor is the test
    (~1 ms; the catalog functions that say which objects are temporary cost ~10 ms on a
    connection's first call)."""
    from nbaops.adapters.duckdb_engine import engine

    probe = con.cursor()
    try:
        probe.execute(f"SELECT * FROM {_ident(table)} LIMIT 0")  # noqa: S608
    except engine().CatalogException:
        probe.close()
        return None
    return probe


def _labelled(r: dict[str, Any], buckets: Buckets) -> dict[str, Any]:
    """Turn a segment's bucket code (or week start) back into its label."""
    segment = r["segment"]
    if segment in ("all", scan.HIST):
        r["bucket"] = "all"
    elif segment == "week":
        r["bucket"] = str(r["bucket"])[:10]
    else:
        r["bucket"] = scan.labels(buckets)[segment][int(r["bucket"])]
    return r


_KEYS = ("system_id", "game_id", "player_lookup", "game_date")


def _missing_key(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Error path: name the first row without its version, game, player or date."""
    empty = {
        c: f"{c} IS NULL" + (f" OR CAST({c} AS VARCHAR) = ''" if c != "game_date" else "")
        for c in _KEYS
    }
    which = " ".join(f"WHEN {cond} THEN '{c}'" for c, cond in empty.items())
    row = con.execute(
        f"""SELECT n, CASE {which} END FROM (
          SELECT row_number() OVER () AS n, {", ".join(_KEYS)} FROM {_ident(table)})
        WHERE {" OR ".join(f"({cond})" for cond in empty.values())}
        ORDER BY n LIMIT 1"""  # noqa: S608
    ).fetchone()
    assert row is not None
    raise UsageError(
        f"column {row[1]}: empty in row {row[0]}: every prediction needs its model version "
        "(system_id), game_id, player_lookup and game_date"
    )


def _unknown_recommendation(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Error path: name the first row whose recommendation is not OVER/UNDER/PASS."""
    row = con.execute(
        f"""SELECT n, rec FROM (
          SELECT row_number() OVER () AS n, CAST(recommendation AS VARCHAR) AS rec
          FROM {_ident(table)})
        WHERE rec IS NULL OR upper(trim(rec)) NOT IN ('OVER', 'UNDER', 'PASS')
        ORDER BY n LIMIT 1"""  # noqa: S608
    ).fetchone()
    assert row is not None
    value = "empty" if row[1] is None or not str(row[1]).strip() else f"value {row[1]!r}"
    raise UsageError(f"column recommendation: {value} in row {row[0]} is not OVER, UNDER or PASS")


def _ratio(total: Any, n: Any) -> float | None:
    return _opt(float(total) / int(n)) if total is not None and n else None


def _corr(value: Any) -> float | None:
    """A correlation from pass 1 (DuckDB's corr: None without two pairs, NaN without
    variance: None too), clipped to [-1, 1] against rounding."""
    if value is None or not math.isfinite(float(value)):
        return None
    return max(-1.0, min(1.0, float(value)))


def _group(r: dict[str, Any], break_even: float, level: float) -> GroupMetrics:
    predictions, bets, pushes, hits, passes = (
        int(r[count] or 0) for count in ("predictions", "bets", "pushes", "hits", "passes")
    )
    decided = bets - pushes
    low, high = stats.wilson_interval(hits, decided, level)
    return GroupMetrics(
        system_id=str(r["system_id"]),
        segment=str(r["segment"]),
        bucket=str(r["bucket"]),
        predictions=predictions,
        bets=bets,
        pushes=pushes,
        decided=decided,
        hits=hits,
        passes=passes,
        hit_rate=hits / decided if decided else None,
        hit_low=low,
        hit_high=high,
        p_vs_break_even=stats.binom_test_greater(hits, decided, break_even),
        mae=_ratio(r["sum_abs_err"], predictions),
        bias=_ratio(r["sum_err"], predictions),
        pass_share=passes / predictions if predictions else None,
        mean_confidence=_ratio(r["sum_confidence"], r["n_confidence"]),
        mean_edge=_ratio(r["sum_edge"], bets),
    )


def _leak(r: dict[str, Any]) -> LeakStats:
    predictions = int(r["predictions"] or 0)
    return LeakStats(
        system_id=str(r["system_id"]),
        rows=predictions,
        created_after_start=int(r["late"] or 0),
        with_timestamps=int(r["with_ts"] or 0),
        exact_share=int(r["exact"] or 0) / predictions if predictions else None,
        corr_prediction=_corr(r["corr_prediction"]),
        corr_line=_corr(r["corr_line"]),
        tipoff_from_game_date=int(r["ts_fallback"] or 0),
    )


def _sanity(r: dict[str, Any], dups: tuple[int, int, int, int] | None) -> SanityStats:
    duplicates, dup_rows, dup_ids, repredictions = dups or (0, 0, 0, 0)
    return SanityStats(
        system_id=str(r["system_id"]),
        rows=int(r["raw_rows"] or 0),
        duplicates=duplicates,
        duplicate_rows=dup_rows,
        duplicate_ids=dup_ids,
        repredictions=repredictions,
        missing_real_line=int(r["missing_real_line"] or 0),
        ungraded_bets=int(r["ungraded_bets"] or 0),
        missing_outcomes=int(r["missing_outcomes"] or 0),
        nonfinite=int(r["nonfinite"] or 0),
        no_line=int(r["no_line"] or 0),
    )


def _comparison(
    champion: str, challenger: str, row: tuple[Any, ...], confidence_level: float
) -> PairedComparison:
    shared, paired, both_hit, both_miss, b, c = (int(v or 0) for v in row[:6])
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
