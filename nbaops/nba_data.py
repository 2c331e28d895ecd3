"""Real NBA data from ``../shared/data/nba``: player game logs, points lines and their join.

Two sources, both public CSVs (see the folder's README):

* ``player_game_logs/*.csv`` -- nba_api ``LeagueGameLog`` rows, one per player per game
  (regular season 2022-23 .. 2024-25, ~78k rows).
* ``points_lines/*.csv`` -- player-points pick'em lines (PrizePicks, Underdog) with one row
  per side (Over/Under) and sometimes several alternative lines per player and game.

Lines join game logs on (normalised player name, US Eastern date of ``commence_time``) =
(``PLAYER_NAME``, ``GAME_DATE``); about 95% of lines match. Names are normalised by
:mod:`nbaops.nba_names`.

The work happens in DuckDB (typed ``read_csv`` + SQL), so three seasons load in well under a
second. Two ways to use this module:

* SQL: :func:`create_game_logs_table` / :func:`create_points_lines_table` /
  :func:`create_matched_lines_table` build typed tables in a :func:`connect` connection
  (DuckDB in UTC; the regression suite builds its golden data set on top of them);
* Python rows: :func:`load_game_logs`, :func:`load_points_lines` return frozen dataclasses
  (the sandbox's ``--from-logs`` import uses them); the join is SQL only
  (:func:`create_matched_lines_table`).

A missing data folder or file raises :class:`NbaDataUnavailable` (a :class:`UsageError`,
exit 2); tests turn it into ``pytest.skip(str(exc))``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbaops.adapters.duckdb_engine import connect as connect  # the module's own API
from nbaops.adapters.duckdb_engine import engine
from nbaops.errors import UsageError, first_line
from nbaops.nba_names import TEAM_TRICODES, normalise_name, player_lookup
from nbaops.paths import project_root, shared_data_dir

if TYPE_CHECKING:
    import _duckdb

GAME_LOGS_DIR = "player_game_logs"
POINTS_LINES_DIR = "points_lines"
_Row = TypeVar("_Row")


class NbaDataUnavailable(UsageError):
    """The real-data folder or one of its files is missing or unreadable."""


# --------------------------------------------------------------------------- files


def data_dir(root: Path | None = None) -> Path:
    """The real-data folder (``$NBAOPS_DATA`` or ``../shared/data/nba``).

    Raises:
        NbaDataUnavailable: the folder does not exist.
    """
    folder = shared_data_dir(root or project_root())
    if not folder.is_dir():
        raise NbaDataUnavailable(
            f"real NBA data folder not found: {folder} (set NBAOPS_DATA or provide "
            "../shared/data/nba beside the repository)"
        )
    return folder


def csv_files(source: Path) -> list[Path]:
    """The CSV files of ``source`` (a file, or every ``*.csv`` in a folder), sorted.

    Raises:
        NbaDataUnavailable: nothing to read.
    """
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.glob("*.csv") if p.is_file())
        if files:
            return files
        below = sorted({p.parent.name for p in source.glob("*/*.csv") if p.is_file()})
        hint = f" (its folder(s) {', '.join(below)} have some)" if below else ""
        raise NbaDataUnavailable(f"no CSV files in {source}{hint}")
    raise NbaDataUnavailable(f"real NBA data not found: {source}")


def game_logs_source(root: Path | None = None) -> Path:
    return data_dir(root) / GAME_LOGS_DIR


def points_lines_source(root: Path | None = None) -> Path:
    return data_dir(root) / POINTS_LINES_DIR


# --------------------------------------------------------------------------- DuckDB tables

_GAME_LOG_TYPES = {
    "SEASON_ID": "VARCHAR",
    "PLAYER_ID": "BIGINT",
    "PLAYER_NAME": "VARCHAR",
    "TEAM_ID": "BIGINT",
    "TEAM_ABBREVIATION": "VARCHAR",
    "GAME_ID": "VARCHAR",
    "GAME_DATE": "DATE",
    "MATCHUP": "VARCHAR",
    "WL": "VARCHAR",
    "MIN": "DOUBLE",
    "PTS": "BIGINT",
    "FGM": "BIGINT",
    "FGA": "BIGINT",
    "FG3M": "BIGINT",
    "FG3A": "BIGINT",
    "FTM": "BIGINT",
    "FTA": "BIGINT",
    "REB": "BIGINT",
    "AST": "BIGINT",
}

_LINE_TYPES = {
    "player": "VARCHAR",
    "bookmaker": "VARCHAR",
    "side": "VARCHAR",
    "line": "DOUBLE",
    "home_team": "VARCHAR",
    "away_team": "VARCHAR",
    "game_id": "VARCHAR",
    "commence_time": "TIMESTAMPTZ",
}


def _register_names(con: _duckdb.DuckDBPyConnection, table: str, source: str, column: str) -> None:
    """A (name, name_key, player_lookup) table of ``source``'s distinct ``column`` values,
    normalised in Python once per name. A row without a name (an empty CSV cell) has no
    entry: the joins on this table leave it out, as they leave out rows without points."""
    select = "SELECT DISTINCT {c} FROM {s} WHERE {c} IS NOT NULL"
    distinct = con.execute(_sql(select, c=column, s=source)).fetchall()
    rows = [(n, normalise_name(n), player_lookup(n)) for n in sorted(r[0] for r in distinct)]
    con.execute(
        _sql(
            "CREATE OR REPLACE TEMP TABLE {t} (name VARCHAR, name_key VARCHAR, lookup VARCHAR)",
            t=table,
        )
    )
    if rows:
        con.executemany(_sql("INSERT INTO {t} VALUES (?, ?, ?)", t=table), rows)


def _read_csvs(
    con: _duckdb.DuckDBPyConnection, source: Path, types: dict[str, str], table: str, what: str
) -> set[str]:
    """Read the CSVs of ``source`` into the temp ``table`` with ``types``; its column names.

    Raises:
        NbaDataUnavailable: missing files, or CSVs without the typed columns.
    """
    type_sql = ", ".join(f"'{k}': '{v}'" for k, v in types.items())
    reader = (
        f"read_csv(?, header = true, union_by_name = true, filename = true, types = {{{type_sql}}})"
    )
    files = [str(f) for f in csv_files(source)]
    try:
        create = "CREATE OR REPLACE TEMP TABLE {t} AS SELECT * FROM {r}"
        con.execute(_sql(create, t=table, raw={"r": reader}), [files])
    except engine().Error as exc:
        missing = _missing_columns(con, files, types)
        why = f"missing column(s) {', '.join(missing)}" if missing else first_line(exc)
        raise NbaDataUnavailable(f"cannot read {what} from {source}: {why}") from None
    return {r[0].lower() for r in con.execute(_sql("DESCRIBE {t}", t=table)).fetchall()}


def _missing_columns(
    con: _duckdb.DuckDBPyConnection, files: list[str], types: dict[str, str]
) -> list[str]:
    """The typed columns no file has (DuckDB names them in one long line, unsorted)."""
    try:
        described = con.execute(
            "DESCRIBE SELECT * FROM read_csv(?, header = true, union_by_name = true)", [files]
        ).fetchall()
    except engine().Error:
        return []
    present = {str(r[0]) for r in described}
    return [c for c in types if c not in present]


def create_game_logs_table(con: _duckdb.DuckDBPyConnection, source: Path) -> int:
    """Load nba_api LeagueGameLog CSVs (a file or a folder) into the typed table ``game_logs``.

    Columns: season (``2024-25``), season_id, player_id, player_name, name_key,
    player_lookup, team, team_id, game_id, game_date, matchup, opponent, is_home,
    wl, minutes, points, fgm, fga, fg3m, fg3a, ftm, fta, reb, ast.

    Returns:
        The number of rows loaded.

    Raises:
        NbaDataUnavailable: missing files or a file that is not a game-log CSV.
    """
    _read_csvs(con, source, _GAME_LOG_TYPES, "_raw_logs", "game logs")
    _refuse_repeated_box_scores(con, source)
    _register_names(con, "_log_names", "_raw_logs", "PLAYER_NAME")
    con.execute(
        """
        CREATE OR REPLACE TABLE game_logs AS
        SELECT
          CASE WHEN r.SEASON_ID IS NULL THEN NULL
               ELSE right(r.SEASON_ID, 4) || '-' ||
                    lpad(CAST((CAST(right(r.SEASON_ID, 4) AS INTEGER) + 1) % 100 AS VARCHAR),
                         2, '0')
          END AS season,
          r.SEASON_ID AS season_id,
          r.PLAYER_ID AS player_id,
          r.PLAYER_NAME AS player_name,
          n.name_key,
          n.lookup AS player_lookup,
          r.TEAM_ABBREVIATION AS team,
          r.TEAM_ID AS team_id,
          r.GAME_ID AS game_id,
          r.GAME_DATE AS game_date,
          r.MATCHUP AS matchup,
          right(r.MATCHUP, 3) AS opponent,
          contains(r.MATCHUP, ' vs. ') AS is_home,
          r.WL AS wl,
          coalesce(r.MIN, 0) AS minutes,
          r.PTS AS points,
          r.FGM AS fgm, r.FGA AS fga, r.FG3M AS fg3m, r.FG3A AS fg3a,
          r.FTM AS ftm, r.FTA AS fta, r.REB AS reb, r.AST AS ast
        FROM _raw_logs r JOIN _log_names n ON n.name = r.PLAYER_NAME
        WHERE r.PTS IS NOT NULL AND r.GAME_DATE IS NOT NULL
        ORDER BY r.GAME_DATE, r.GAME_ID, r.PLAYER_ID
        """
    )
    con.execute("DROP TABLE _raw_logs")
    return _count(con, "game_logs")


def _refuse_repeated_box_scores(con: _duckdb.DuckDBPyConnection, source: Path) -> None:
    """A (player, game) twice (a season file and its copy in one folder) doubled every box
    score it touched, silently: shot zones, features and averages counted it twice.

    Raises:
        NbaDataUnavailable: the first repeated player-game, its count and its files.
    """
    row = con.execute(
        """SELECT PLAYER_ID, GAME_ID, count(*) AS n, list(DISTINCT filename ORDER BY filename),
             count(*) OVER () AS repeated
        FROM _raw_logs WHERE PLAYER_ID IS NOT NULL AND GAME_ID IS NOT NULL
        GROUP BY PLAYER_ID, GAME_ID HAVING count(*) > 1
        ORDER BY GAME_ID, PLAYER_ID LIMIT 1"""
    ).fetchone()
    if row is None:
        return
    player, game, n, files, repeated = row
    names = ", ".join(Path(f).name for f in files)
    raise NbaDataUnavailable(
        f"cannot read game logs from {source}: {repeated} player-game(s) appear more than "
        f"once (player {player} in game {game}: {n} rows, in {names}); give each season once"
    )


def create_points_lines_table(con: _duckdb.DuckDBPyConnection, source: Path) -> LinesLoad:
    """Load points-lines CSVs into ``points_lines``: one line per player, game and bookmaker.

    The feed has one row per side, and for some player/games several alternative lines.
    The collapsed line is the lower median of the lines offered on both sides (or of all
    offered lines when none is two-sided), so it is always a real, posted line.

    Columns: player, name_key, player_lookup, bookmaker, line, n_lines (distinct lines
    offered), two_sided, home_team, away_team (full names), home_tricode, away_tricode,
    odds_game_id, commence_time (UTC), game_date (US Eastern date of commence_time).

    Raises:
        NbaDataUnavailable: missing files or a file that is not a points-lines CSV.
    """
    if "market" in _read_csvs(con, source, _LINE_TYPES, "_points_rows", "points lines"):
        con.execute("DELETE FROM _points_rows WHERE market IS DISTINCT FROM 'player_points'")
    raw_rows = _count(con, "_points_rows")
    _register_names(con, "_line_names", "_points_rows", "player")
    con.execute("CREATE OR REPLACE TEMP TABLE _teams (name VARCHAR, tricode VARCHAR)")
    con.executemany("INSERT INTO _teams VALUES (?, ?)", list(TEAM_TRICODES.items()))
    con.execute(
        """
        CREATE OR REPLACE TABLE points_lines AS
        WITH offers AS (
          SELECT player, bookmaker, game_id AS odds_game_id, line,
                 bool_or(lower(side) = 'over') AND bool_or(lower(side) = 'under') AS two_sided,
                 any_value(home_team) AS home_team, any_value(away_team) AS away_team,
                 min(commence_time) AS commence_time
          FROM _points_rows
          WHERE line IS NOT NULL AND player IS NOT NULL AND commence_time IS NOT NULL
          GROUP BY player, bookmaker, game_id, line
        ),
        flagged AS (
          SELECT *, bool_or(two_sided) OVER w AS any_two, count(*) OVER w AS n_lines
          FROM offers
          WINDOW w AS (PARTITION BY player, bookmaker, odds_game_id)
        ),
        collapsed AS (
          SELECT player, bookmaker, odds_game_id,
                 quantile_disc(line, 0.5) AS line,
                 any_value(n_lines) AS n_lines,
                 bool_or(two_sided) AS two_sided,
                 any_value(home_team) AS home_team, any_value(away_team) AS away_team,
                 min(commence_time) AS commence_time
          FROM flagged
          WHERE two_sided OR NOT any_two
          GROUP BY player, bookmaker, odds_game_id
        )
        SELECT c.player, n.name_key, n.lookup AS player_lookup, c.bookmaker, c.line,
               c.n_lines, c.two_sided, c.home_team, c.away_team,
               h.tricode AS home_tricode, a.tricode AS away_tricode,
               c.odds_game_id, c.commence_time,
               CAST(timezone('America/New_York', c.commence_time) AS DATE) AS game_date
        FROM collapsed c
        JOIN _line_names n ON n.name = c.player
        LEFT JOIN _teams h ON h.name = c.home_team
        LEFT JOIN _teams a ON a.name = c.away_team
        ORDER BY game_date, c.odds_game_id, n.lookup, c.bookmaker
        """
    )
    return LinesLoad(raw_rows=raw_rows, lines=_count(con, "points_lines"))


@dataclass(frozen=True)
class LinesLoad:
    """Counts of a points-lines load: feed rows (one per side) and collapsed lines."""

    raw_rows: int
    lines: int


@dataclass(frozen=True)
class MatchStats:
    """How well the lines joined the game logs."""

    lines: int  # collapsed lines (player, game, bookmaker)
    matched: int
    raw_rows: int  # feed rows (one per side and alternative line)
    raw_rows_matched: int
    team_mismatches: int  # matched on name+date but the player's team is not in the game
    unmatched_names: tuple[str, ...]  # most frequent unmatched feed names, for the alias table

    @property
    def match_rate(self) -> float:
        return self.matched / self.lines if self.lines else 0.0

    @property
    def raw_match_rate(self) -> float:
        return self.raw_rows_matched / self.raw_rows if self.raw_rows else 0.0


def create_matched_lines_table(con: _duckdb.DuckDBPyConnection) -> MatchStats:
    """``matched_lines``: ``points_lines`` joined to ``game_logs`` on (player_lookup, Eastern
    game date), after :func:`create_game_logs_table` and :func:`create_points_lines_table`.

    The result has every column of the lines table plus the game log's player_id,
    player_name, team, opponent, is_home, game_id (NBA), minutes and actual points.
    A line whose player's team is neither side of the odds game is dropped (and counted
    in ``team_mismatches``): the name key matched a different player.
    """
    con.execute(
        """
        CREATE OR REPLACE TABLE matched_lines AS
        SELECT l.*, g.player_id, g.player_name, g.team, g.opponent, g.is_home,
               g.game_id, g.season, g.minutes, g.points AS actual_points
        FROM points_lines l
        JOIN game_logs g ON g.player_lookup = l.player_lookup AND g.game_date = l.game_date
        WHERE l.home_tricode IS NULL OR g.team IN (l.home_tricode, l.away_tricode)
        ORDER BY l.game_date, g.game_id, l.player_lookup, l.bookmaker
        """
    )
    row = con.execute(
        """
        SELECT
          (SELECT count(*) FROM points_lines),
          (SELECT count(*) FROM matched_lines),
          (SELECT count(*) FROM _points_rows),
          (SELECT count(*) FROM _points_rows r WHERE EXISTS (
             SELECT 1 FROM matched_lines m WHERE m.player = r.player
               AND m.odds_game_id = r.game_id AND m.bookmaker = r.bookmaker)),
          (SELECT count(*) FROM points_lines l JOIN game_logs g
             ON g.player_lookup = l.player_lookup AND g.game_date = l.game_date
           WHERE l.home_tricode IS NOT NULL AND g.team NOT IN (l.home_tricode, l.away_tricode))
        """
    ).fetchone()
    assert row is not None
    n_lines, n_matched, raw_rows, raw_matched, mismatches = (int(v) for v in row)
    unmatched = con.execute(
        """
        SELECT l.player, count(*) AS n FROM points_lines l
        WHERE NOT EXISTS (SELECT 1 FROM matched_lines m WHERE m.player = l.player
                            AND m.odds_game_id = l.odds_game_id AND m.bookmaker = l.bookmaker)
        GROUP BY l.player ORDER BY n DESC, l.player LIMIT 25
        """
    ).fetchall()
    return MatchStats(
        lines=n_lines,
        matched=n_matched,
        raw_rows=raw_rows,
        raw_rows_matched=raw_matched,
        team_mismatches=mismatches,
        unmatched_names=tuple(str(r[0]) for r in unmatched),
    )


def load_real_data(con: _duckdb.DuckDBPyConnection, root: Path | None = None) -> MatchStats:
    """Create ``game_logs``, ``points_lines`` and ``matched_lines`` from the shared folder.

    Raises:
        NbaDataUnavailable: the folder or its files are missing.
    """
    create_game_logs_table(con, game_logs_source(root))
    create_points_lines_table(con, points_lines_source(root))
    return create_matched_lines_table(con)


# --------------------------------------------------------------------------- Python rows


@dataclass(frozen=True)
class GameLog:
    """One player's box score in one game (nba_api LeagueGameLog)."""

    season: str
    player_id: int
    player_name: str
    player_lookup: str
    team: str
    game_id: str
    game_date: dt.date
    opponent: str
    is_home: bool
    minutes: float
    points: int
    fgm: int
    fga: int
    fg3m: int
    fg3a: int
    ftm: int
    fta: int
    reb: int
    ast: int


@dataclass(frozen=True)
class PointsLine:
    """One collapsed points line: a player, an odds-feed game and a bookmaker."""

    player: str
    name_key: str
    player_lookup: str
    bookmaker: str
    line: float
    n_lines: int
    two_sided: bool
    home_team: str
    away_team: str
    home_tricode: str | None
    away_tricode: str | None
    odds_game_id: str
    commence_time: dt.datetime  # UTC
    game_date: dt.date  # US Eastern


def load_game_logs(source: Path | None = None) -> list[GameLog]:
    """Typed game-log rows from a CSV file or folder (default: the shared folder)."""
    return _load_rows(create_game_logs_table, source or game_logs_source(), "game_logs", GameLog)


def load_points_lines(source: Path | None = None) -> list[PointsLine]:
    """Collapsed points lines from a CSV file or folder (default: the shared folder)."""
    source = source or points_lines_source()
    return _load_rows(create_points_lines_table, source, "points_lines", PointsLine)


# --------------------------------------------------------------------------- internals


def _load_rows(
    create: Callable[[_duckdb.DuckDBPyConnection, Path], object],
    source: Path,
    table: str,
    row_type: type[_Row],
) -> list[_Row]:
    """``create`` the table in a fresh connection and return its rows as ``row_type``.

    Each dataclass field is read from the table's column of that name (other columns are
    left out); a NULL in an ``int`` field (a box-score count missing from the CSV) becomes
    0, timestamps come back in UTC.
    """
    con = connect()
    try:
        create(con, source)
        cursor = con.execute(_sql("SELECT * FROM {t}", t=table))
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    ints = {f.name: f.type == "int" for f in dataclasses.fields(row_type)}  # type: ignore[arg-type]
    kept = [(i, c, ints[c]) for i, c in enumerate(columns) if c in ints]
    return [row_type(**{c: _python_value(r[i], is_int) for i, c, is_int in kept}) for r in rows]


def _python_value(value: Any, is_int: bool) -> Any:
    if is_int:
        return int(value) if value is not None else 0
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


def _count(con: _duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(_sql("SELECT count(*) FROM {t}", t=table)).fetchone()
    return int(row[0]) if row else 0


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


def _sql(template: str, *, raw: dict[str, str] | None = None, **identifiers: str) -> str:
    """Fill table names into SQL text; names must be plain identifiers (never user values)."""
    for value in identifiers.values():
        if not _IDENTIFIER.match(value):
            raise ValueError(f"not a table identifier: {value!r}")
    return template.format(**identifiers, **(raw or {}))
