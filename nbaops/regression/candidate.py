"""The model under test: a candidate's predictions for the golden player-games.

Two ways in:

* ``--model MODULE:FUNCTION``: ``FUNCTION(features) -> sequence of predicted points``, where
  ``features`` is a pandas DataFrame with one row per golden player-game and the pre-game
  columns of :data:`nbaops.regression.golden.FEATURES` (``line_value`` included; no
  outcome). The result must have one finite number per row, in row order.
* ``--predictions PATH``: a CSV or Parquet file written by the worker's own build, with
  ``game_id``, ``player_lookup`` and ``predicted_points`` for every golden player-game.

Whatever goes wrong in the candidate (import error, exception, wrong length, NaN, a missing
player-game) is bad input: one line naming what and where, exit 2.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.errors import UsageError, first_line
from nbaops.fsutil import input_file
from nbaops.regression import golden
from nbaops.stdio import stdout_to_stderr

if TYPE_CHECKING:
    import duckdb

CANDIDATE = "candidate"
CANDIDATE_TABLE = "golden_candidate"
Predictor = Callable[[Any], Any]


def load_model(spec: str) -> Predictor:
    """Import ``MODULE:FUNCTION``.

    Raises:
        UsageError: malformed spec, module or function not found, not callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--model {spec!r}: expected MODULE:FUNCTION")
    try:
        with stdout_to_stderr():  # stdout holds the report (--json: one document)
            module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # any import failure of user code is bad input
        raise UsageError(f"--model {spec}: cannot import {module_name}: {_failure(exc)}") from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise UsageError(f"--model {spec}: {module_name} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):  # e.g. ``predict = None`` until weights load: it exists
        kind = "None" if target is None else f"a {type(target).__name__}"
        raise UsageError(f"--model {spec}: {attr} is not callable (it is {kind})")
    return target  # type: ignore[no-any-return]


def features_frame(con: duckdb.DuckDBPyConnection, table: str = golden.GAMES_TABLE) -> Any:
    """The pandas DataFrame a candidate receives (pre-game columns only, key order)."""
    try:
        import pandas
    except ImportError:
        raise UsageError(
            "--model needs pandas: pip install 'nbaops[regression]' (or the dev extra)"
        ) from None
    cols = ", ".join(golden.feature_columns())
    keys = ", ".join(golden.KEY_COLUMNS)
    arrays = con.execute(f"SELECT {cols} FROM {table} ORDER BY {keys}").fetchnumpy()  # noqa: S608
    return pandas.DataFrame(arrays)


def run_model(
    con: duckdb.DuckDBPyConnection,
    predictor: Predictor,
    name: str,
    table: str = golden.GAMES_TABLE,
) -> int:
    """Call the candidate on the golden features and store its predictions.

    Creates :data:`CANDIDATE_TABLE` (game_id, player_lookup, predicted_points).

    Raises:
        UsageError: the candidate raised, returned the wrong length or a non-finite value.
    """
    frame = features_frame(con, table)
    try:
        with stdout_to_stderr():
            raw = predictor(frame.copy())
    except (Exception, SystemExit) as exc:  # the candidate's failure is bad input, not ours
        raise UsageError(f"--model {name}: predict raised {_failure(exc)}") from None
    index = getattr(raw, "index", None)
    if index is not None and hasattr(index, "equals") and not index.equals(frame.index):
        # a pandas Series is read in row order: one sorted, sampled or grouped is misaligned
        raise UsageError(
            f"--model {name}: predict returned a {type(raw).__name__} whose index is not the "
            "input's (reordered?): return values in the input's row order, or reindex it"
        )
    values = _as_floats(raw, name, len(frame))
    for index, value in enumerate(values):
        if not math.isfinite(value):
            row = frame.iloc[index]
            raise UsageError(
                f"--model {name}: prediction {value} at row {index} "
                f"({row['player_lookup']} {row['game_date']}): every prediction must be a "
                "finite number"
            )
    keys = frame[["game_id", "player_lookup"]].itertuples(index=False, name=None)
    rows = [(str(g), str(p), v) for (g, p), v in zip(keys, values, strict=True)]
    _store(con, rows)
    return len(rows)


def _failure(exc: BaseException) -> str:
    """What the candidate's code raised, one line (``SystemExit``: it called sys.exit, which
    would otherwise have ended the gate with exit 0 and nothing measured)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): the candidate called sys.exit"
    return first_line(exc, typed=True)[:300]


def _as_floats(raw: Any, name: str, expected: int) -> list[float]:
    if raw is None or isinstance(raw, str | bytes):
        raise UsageError(f"--model {name}: predict returned {type(raw).__name__}, not a sequence")
    try:
        items: Sequence[Any] = list(raw)
    except TypeError:
        raise UsageError(
            f"--model {name}: predict returned {type(raw).__name__}, not a sequence"
        ) from None
    if len(items) != expected:
        raise UsageError(
            f"--model {name}: predict returned {len(items)} values for {expected} player-games"
        )
    out: list[float] = []
    for index, item in enumerate(items):
        # (a string such as "12.3" is not a number either, whatever float() makes of it)
        if isinstance(item, bool | str | bytes):
            raise UsageError(f"--model {name}: value {item!r} at row {index} is not a number")
        try:
            out.append(float(item))
        except (TypeError, ValueError):
            raise UsageError(
                f"--model {name}: value {item!r} at row {index} is not a number"
            ) from None
    return out


def _store(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, float]]) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {CANDIDATE_TABLE} "
        "(game_id VARCHAR, player_lookup VARCHAR, predicted_points DOUBLE)"
    )
    con.executemany(f"INSERT INTO {CANDIDATE_TABLE} VALUES (?, ?, ?)", rows)  # noqa: S608


def load_predictions(
    con: duckdb.DuckDBPyConnection, path: Path, table: str = golden.GAMES_TABLE
) -> int:
    """Read a predictions file and match it to the golden player-games.

    Raises:
        UsageError: unreadable file, missing columns, non-numeric or non-finite values,
            duplicate keys, or golden player-games without a prediction.
    """
    import duckdb

    path = input_file("--predictions", path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        reader = "read_parquet($path)"
    elif suffix == ".csv":
        reader = "read_csv($path, header = true, all_varchar = true)"
    else:
        raise UsageError(f"--predictions {path.name}: expected a .csv or .parquet file")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _candidate_raw AS SELECT * FROM {reader}",  # noqa: S608
            {"path": str(path)},
        )
    except duckdb.Error as exc:
        raise UsageError(f"--predictions: cannot read {path}: {first_line(exc)[:300]}") from None
    types = {
        str(r[0]).lower(): str(r[1]) for r in con.execute("DESCRIBE _candidate_raw").fetchall()
    }
    missing = [c for c in ("game_id", "player_lookup", "predicted_points") if c not in types]
    if missing:
        raise UsageError(
            f"--predictions {path.name}: missing column(s) {', '.join(missing)}; "
            "required: game_id, player_lookup, predicted_points"
        )
    if re.fullmatch(r"U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|DECIMAL.*", types["game_id"]):
        # a Parquet game_id stored as a number lost its leading zeros: no golden game matched
        raise UsageError(
            f"--predictions {path.name}: column game_id is {types['game_id']}, not text: game "
            "ids are strings such as '0022400005' (a number drops the leading zeros); "
            "write game_id as a string"
        )
    bad = con.execute(
        """SELECT n, CAST(predicted_points AS VARCHAR) FROM (
             SELECT row_number() OVER () AS n, predicted_points FROM _candidate_raw)
           WHERE predicted_points IS NULL
              OR TRY_CAST(predicted_points AS DOUBLE) IS NULL
              OR NOT isfinite(TRY_CAST(predicted_points AS DOUBLE))
           ORDER BY n LIMIT 1"""
    ).fetchone()
    if bad is not None:
        raise UsageError(
            f"--predictions {path.name}: column predicted_points: value {bad[1]!r} in row "
            f"{bad[0]} is not a finite number"
        )
    con.execute(
        f"""CREATE OR REPLACE TABLE {CANDIDATE_TABLE} AS
        SELECT CAST(game_id AS VARCHAR) AS game_id, CAST(player_lookup AS VARCHAR)
          AS player_lookup, CAST(predicted_points AS DOUBLE) AS predicted_points
        FROM _candidate_raw"""  # noqa: S608
    )
    dup = con.execute(
        f"""SELECT game_id, player_lookup, count(*) FROM {CANDIDATE_TABLE}
        GROUP BY ALL HAVING count(*) > 1 LIMIT 1"""  # noqa: S608
    ).fetchone()
    if dup is not None:
        raise UsageError(
            f"--predictions {path.name}: {dup[2]} predictions for {dup[1]} in game {dup[0]}: "
            "one per player-game"
        )
    row = con.execute(
        f"""SELECT count(*), min(g.player_lookup || ' ' || g.game_id) FROM {table} g
        LEFT JOIN {CANDIDATE_TABLE} c USING (game_id, player_lookup)
        WHERE c.predicted_points IS NULL"""  # noqa: S608
    ).fetchone()
    assert row is not None
    if int(row[0]):
        raise UsageError(
            f"--predictions {path.name}: {row[0]} golden player-games have no prediction "
            f"(first: {row[1]})"
        )
    count = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(count[0]) if count else 0
