"""The regression scans give the numbers of the direct computation they replace.

Pass 1 rolls every version's totals up from two groupings plus one per-version grouping
(:func:`nbaops.regression.scan.groups_sql`, rolled up by
:func:`~nbaops.regression.scan.roll_up`); the prediction-id check counts distinct
hashes first (:func:`nbaops.regression.scan.duplicate_ids`). Each is compared here with
the direct SQL (one ``GROUP BY`` per question, distinct strings) on data with ties
(pushes), missing outcomes and lines, unknown timestamps and repeated ids.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pytest

from nbaops.regression import metrics, scan


def _messy(rows: int = 6_000, *, unknown_versions: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    metrics.synthetic_table(con, rows, systems=("v8", "v9", "v10"))
    # ties: actual == line (pushes); missing outcomes and lines; unknown timestamps
    con.execute("UPDATE graded SET actual_points = line_value WHERE hash(prediction_id) % 7 = 0")
    con.execute("UPDATE graded SET actual_points = NULL WHERE hash(prediction_id) % 11 = 0")
    con.execute("UPDATE graded SET line_value = NULL WHERE hash(prediction_id) % 13 = 0")
    con.execute("UPDATE graded SET game_start = NULL WHERE hash(prediction_id) % 5 = 0")
    con.execute("UPDATE graded SET created_at = game_start WHERE hash(prediction_id) % 17 = 0")
    if unknown_versions:  # rows without a version: a group of their own, as before
        con.execute("UPDATE graded SET system_id = NULL WHERE hash(prediction_id) % 19 = 0")
    return con


def _derived(con: duckdb.DuckDBPyConnection) -> str:
    columns = metrics.table_columns(con, "graded")
    source = scan.source_sql(
        "graded", columns, metrics.REQUIRED_COLUMN_TYPES, metrics.OPTIONAL_COLUMNS
    )
    return scan.derived_sql(source, scan.Buckets(), 2.0, 20.0)


def _direct(con: duckdb.DuckDBPyConnection, by: str, names: Any) -> dict[tuple[Any, ...], Any]:
    """Each aggregate straight from the rows, one plain GROUP BY (no roll-up)."""
    aggs = ", ".join(f"{scan._BASE[n][0]}({scan._BASE[n][1]})" for n in names)
    rows = con.execute(
        f"SELECT system_id, CAST({by} AS VARCHAR), {aggs} FROM ({_derived(con)}) GROUP BY 1, 2"
    ).fetchall()
    return {(str(r[0]), r[1]): r[2:] for r in rows}


def _pass1(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = scan.run_groups(con, _derived(con))
    return [dict(zip(scan.GROUP_FIELDS, r, strict=True)) for r in rows]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def test_every_total_of_pass_1_equals_the_direct_per_version_aggregate() -> None:
    con = _messy(unknown_versions=True)
    names = list(scan._BASE)
    direct = _direct(con, "'all'", names)
    got = {(str(r["system_id"]), "all"): r for r in _pass1(con) if r["segment"] == "all"}
    assert set(got) == set(direct) and len(got) == 4
    for key, values in direct.items():
        for name, value in zip(names, values, strict=True):
            assert _same(got[key][name], value), (key, name, got[key][name], value)
    # the messy parts are really there
    v8 = got[("v8", "all")]
    assert v8["pushes"] > 0 and v8["missing_outcomes"] > 0 and v8["ts_fallback"] > 0
    assert v8["late"] > 0 and v8["ungraded_bets"] + v8["missing_real_line"] > 0


@pytest.mark.parametrize("segment", ["line", "edge", "week"])
def test_every_segment_bucket_equals_the_direct_grouping(segment: str) -> None:
    con = _messy()
    column = scan.SEGMENT_COLUMNS[segment]
    names = [n for n in scan._BASE if n in scan.GROUP_FIELDS[4:14]]
    direct = _direct(con, column, names)
    got = {
        (r["system_id"], str(r["bucket"])[:10]): r for r in _pass1(con) if r["segment"] == segment
    }
    assert set(got) == {(s, str(b)[:10]) for s, b in direct}
    for (system, bucket), values in direct.items():
        row = got[(system, str(bucket)[:10])]
        for name, value in zip(names, values, strict=True):
            assert _same(row[name], value), (system, bucket, name)


def _pass1_row(
    kind: int, codes: tuple[int | None, ...], week: Any, err_bin: Any, **values: Any
) -> Any:
    sums = [values.get(name, 0) for name in scan.GROUP_FIELDS[4:14]]
    own = [values.get(name) for name in scan.GROUP_FIELDS[14:]]
    return ("v8", *codes, week, err_bin, kind, *sums, *own)


def test_roll_up_sums_like_sql_null_only_when_every_value_is() -> None:
    """A version's total, a bucket and a week add up their groups; a sum with no value at
    all stays NULL (as SQL's sum), one with some values ignores the NULLs; the version's own
    sums appear on its ``all`` row only."""
    codes_a, codes_b = (1, 1, 1, 1, 1, 1), (2, 1, 1, 1, 1, 1)
    rows = scan.roll_up(
        [
            _pass1_row(scan.BY_CODES, codes_a, None, None, predictions=3, sum_confidence=None),
            _pass1_row(scan.BY_CODES, codes_b, None, None, predictions=4, sum_confidence=2.5),
            _pass1_row(scan.BY_WEEK_AND_BIN, (None,) * 6, "2024-01-01", -2.0, predictions=7),
            _pass1_row(scan.PER_VERSION, (None,) * 6, None, None, predictions=None, late=5),
        ]
    )
    got = {(r[1], r[2], r[3]): dict(zip(scan.GROUP_FIELDS, r, strict=True)) for r in rows}
    assert got[("all", "all", None)]["predictions"] == 7
    assert got[("all", "all", None)]["sum_confidence"] == 2.5
    assert got[("all", "all", None)]["late"] == 5
    assert got[("line", 1, None)]["sum_confidence"] is None  # only NULLs: NULL
    assert (
        got[("line", 2, None)]["sum_confidence"] == 2.5 and got[("line", 2, None)]["late"] is None
    )
    assert got[("venue", 1, None)]["predictions"] == 7  # both groups share venue code 1
    assert got[("week", "2024-01-01", None)]["predictions"] == 7
    assert got[(scan.HIST, "all", -2.0)]["predictions"] == 7


def test_duplicate_ids_match_the_distinct_string_count_per_version() -> None:
    con = _messy()
    assert scan.duplicate_ids(con, "graded") == {}  # no id repeats: the one-pass answer
    # v9 repeats three ids, v10 one (twice); the same id in two versions is no repeat
    con.execute(
        """UPDATE graded SET prediction_id = 'same' WHERE prediction_id IN
        (SELECT prediction_id FROM graded WHERE system_id = 'v10' ORDER BY 1 LIMIT 3)"""
    )
    con.execute("UPDATE graded SET prediction_id = 'same' WHERE prediction_id = 'p0-v8'")
    con.execute("UPDATE graded SET prediction_id = NULL WHERE prediction_id = 'p1-v8'")
    sanity = metrics.compute(con).sanity  # no key repeats: the fast path counts the ids
    assert [sanity[s].duplicate_ids for s in ("v8", "v9", "v10")] == [0, 0, 2]
    con.execute(
        """INSERT INTO graded SELECT * FROM graded WHERE system_id = 'v9'
        ORDER BY prediction_id LIMIT 3"""
    )
    direct = dict(
        con.execute(
            """SELECT system_id, count(prediction_id) - count(DISTINCT prediction_id)
            FROM graded GROUP BY 1"""
        ).fetchall()
    )
    assert direct == {"v8": 0, "v9": 3, "v10": 2}
    assert scan.duplicate_ids(con, "graded") == {"v9": 3, "v10": 2}


def test_paired_counts_equal_a_direct_join_of_the_two_versions() -> None:
    """Pass 2's outcome codes, over the key columns alone, give the counts and errors of a
    plain join of the fully derived rows on (game, player)."""
    con = _messy()
    con.execute("DELETE FROM graded WHERE system_id = 'v9' AND hash(prediction_id) % 3 = 0")
    outcomes = metrics.outcomes_sql("graded", metrics.table_columns(con, "graded"))
    keys = scan.run_keys(con, outcomes, ["v10", "v8", "v9"], [("v8", "v9")])
    rows = con.execute("SELECT count(*) FROM graded").fetchone()
    assert rows is not None and keys.extra_rows(rows[0]) == 0
    got = keys.pairs[("v8", "v9")]
    direct = con.execute(
        f"""
        WITH d AS (SELECT * FROM ({_derived(con)}) WHERE graded),
        a AS (SELECT * FROM d WHERE system_id = 'v8'),
        b AS (SELECT * FROM d WHERE system_id = 'v9'),
        j AS (SELECT a.is_bet AND NOT a.is_push AND b.is_bet AND NOT b.is_push AS paired,
                a.is_hit AS ha, b.is_hit AS hb, abs(a.err) AS ea, abs(b.err) AS eb
              FROM a JOIN b USING (game_id, player_lookup))
        SELECT count(*), count_if(paired), count_if(paired AND ha AND hb),
          count_if(paired AND NOT ha AND NOT hb), count_if(paired AND ha AND NOT hb),
          count_if(paired AND NOT ha AND hb), avg(ea), avg(eb), sum(eb - ea),
          sum((eb - ea) * (eb - ea))
        FROM j"""
    ).fetchone()
    assert direct is not None
    assert got[:6] == direct[:6]
    assert all(_same(x, y) for x, y in zip(got[6:], direct[6:], strict=True))
    # the messy parts are really there: pushes and unmatched keys leave bets unpaired
    assert 0 < direct[1] < direct[0] and min(direct[2:6]) > 0


def test_repeated_keys_are_the_rows_beyond_the_first_per_version_and_key() -> None:
    """Pass 2 counts the (version, key)s present, no rows: with pass 1's count of the
    listed versions' rows, the rows beyond the first per (version, game, player) still
    equal a direct count, with repeats in one version only, in two, a key of one version
    only, and rows without a game or player (or a version: not listed, not counted)."""
    con = _messy(unknown_versions=True)
    outcomes = metrics.outcomes_sql("graded", metrics.table_columns(con, "graded"))
    systems = ["v10", "v8", "v9"]

    def listed_rows() -> int:
        found = con.execute("SELECT count(system_id) FROM graded").fetchone()
        assert found is not None
        return int(found[0])

    assert scan.run_keys(con, outcomes, systems, [("v8", "v9")]).extra_rows(listed_rows()) == 0
    con.execute(
        """INSERT INTO graded SELECT * FROM graded WHERE system_id = 'v9' ORDER BY prediction_id
        LIMIT 5"""
    )  # five keys twice in v9
    con.execute(
        """INSERT INTO graded SELECT * FROM graded WHERE system_id IN ('v8', 'v10')
        ORDER BY prediction_id LIMIT 4"""
    )  # and in v8 / v10
    con.execute(
        """INSERT INTO graded SELECT * REPLACE ('solo' AS game_id, 'solo' AS player_lookup)
        FROM graded WHERE system_id = 'v8' LIMIT 3"""
    )  # one key, v8's only: three rows, two beyond the first
    con.execute(
        """UPDATE graded SET player_lookup = NULL WHERE system_id = 'v10'
        AND prediction_id IN (SELECT prediction_id FROM graded WHERE system_id = 'v10' LIMIT 2)"""
    )  # two v10 rows without a player: one key (NULL) of that version, one beyond it
    direct = con.execute(
        """SELECT sum(n - 1) FROM (SELECT count(*) AS n FROM graded
        WHERE system_id IS NOT NULL GROUP BY system_id, game_id, player_lookup)"""
    ).fetchone()
    assert direct is not None and direct[0] == 5 + 4 + 2 + 1
    keys = scan.run_keys(con, outcomes, systems, [("v8", "v9")])
    assert keys.extra_rows(listed_rows()) == direct[0]


def test_a_connection_local_input_gives_the_same_metrics_in_turn() -> None:
    """A TEMP table is not seen by other cursors: its passes run one after the other on
    the connection itself, and measure what the side-by-side passes measure."""
    from nbaops.adapters.duckdb_engine import connect
    from nbaops.regression.metrics import compute, synthetic_table

    con = connect()
    synthetic_table(con, 5000)
    con.execute("CREATE TEMP TABLE graded_here AS SELECT * FROM graded")
    shared = compute(con, "graded", pairs=[("v8", "v9")])
    local = compute(con, "graded_here", pairs=[("v8", "v9")])
    assert _rounded(local.to_json()) == _rounded(shared.to_json()) and local.rows == 5000


def test_a_view_over_a_temp_table_is_connection_local_too() -> None:
    """A plain (not TEMP) view over a TEMP table is not seen by other cursors either: the
    passes bind the input where they run, so they run in turn on the connection instead
    of failing on a cursor."""
    from nbaops.adapters.duckdb_engine import connect
    from nbaops.regression.metrics import compute, synthetic_table

    con = connect()
    synthetic_table(con, 3000)
    con.execute("CREATE TEMP TABLE graded_here AS SELECT * FROM graded")
    con.execute("CREATE VIEW over_temp AS SELECT * FROM graded_here")
    shared = compute(con, "graded", pairs=[("v8", "v9")])
    local = compute(con, "over_temp", pairs=[("v8", "v9")])
    assert _rounded(local.to_json()) == _rounded(shared.to_json()) and local.rows == 3000


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    found = con.execute("SELECT current_setting('threads')").fetchone()
    assert found is not None
    return int(found[0])


def test_passes_side_by_side_share_the_threads_and_give_them_back() -> None:
    """Three passes at once on eight threads get two each (not eight each, preempting one
    another), and the connection has its eight again afterwards, after an error too."""
    con = duckdb.connect()
    con.execute("SET threads = 8")
    with metrics.threads_each(con, 3):
        assert _threads(con) == 2
        assert _threads(con.cursor()) == 2  # the database's setting: every cursor's
    assert _threads(con) == 8
    with metrics.threads_each(con, 1):  # one query alone keeps them all
        assert _threads(con) == 8
    with pytest.raises(RuntimeError), metrics.threads_each(con, 16):
        assert _threads(con) == 1  # never fewer than one each
        raise RuntimeError("a pass failed")
    assert _threads(con) == 8


def test_the_first_pass_done_gives_the_threads_back_once() -> None:
    """The first query done restores the setting from its own cursor, while the other
    still runs; a later call, and the exit, leave it alone (a user's change meanwhile
    included)."""
    con = duckdb.connect()
    con.execute("SET threads = 4")
    with metrics.threads_each(con, 2) as give_back:
        assert _threads(con) == 2
        give_back(con.cursor())
        assert _threads(con) == 4
        con.execute("SET threads = 3")
        give_back(con.cursor())
    assert _threads(con) == 3


def test_metrics_do_not_depend_on_the_thread_share() -> None:
    """compute runs its passes on a share of the threads and leaves the setting as found;
    the numbers are those of a single-threaded run."""
    from nbaops.adapters.duckdb_engine import connect
    from nbaops.regression.metrics import compute, synthetic_table

    con = connect()
    synthetic_table(con, 5000)
    con.execute("SET threads = 1")
    alone = compute(con, "graded", pairs=[("v8", "v9")])
    con.execute("SET threads = 6")
    shared = compute(con, "graded", pairs=[("v8", "v9")])
    assert _threads(con) == 6
    assert _rounded(shared.to_json()) == _rounded(alone.to_json()) and shared.rows == 5000


def _rounded(value: Any) -> Any:
    """Floats to 9 places: parallel sums may differ in the last bits from run to run."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def test_close_bucket_edges_keep_distinct_labels() -> None:
    """Confidence labels used two decimals: edges 0.551, 0.552 and 0.553 made two buckets
    labelled '0.55-0.55', reported as one segment; the edges keep the digits that tell
    them apart, and well-spaced edges read as before."""
    close = scan.labels(scan.Buckets(confidence=(0.55, 0.551, 0.552, 0.553, 0.6)))["confidence"]
    assert len(set(close)) == len(close), close
    assert close[1:4] == ["<0.550", "0.550-0.551", "0.551-0.552"], close
    assert scan.labels(scan.Buckets())["confidence"][1:3] == ["<0.55", "0.55-0.60"]
    lines = scan.labels(scan.Buckets(line=(20.0, 20.0000001)))["line"]
    assert lines[1:] == ["<20", "20-20.0000001", ">=20.0000001"], lines
