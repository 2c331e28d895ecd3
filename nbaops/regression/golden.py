"""The golden set: a small committed table of real player-games, pre-game features and lines.

Built by ``inv regression.golden --build`` from the real NBA data (``nbaops.nba_data``,
``../shared/data/nba``): every points line matched to a game log (one per player-game,
PrizePicks preferred over Underdog: a real posted line, never an average), with features
computed only from the player's games strictly **before** the game date, the outcome
(points, minutes) and the stored champion predictions ``v8``/``v9``. It is written as
``golden/<name>.parquet`` beside ``golden/manifest.json`` (source files and their SHA-256,
row counts, date range, feature definitions, attribution) so that ``nox -s regression``
runs without network and without ``../shared``.

The content hash (:func:`content_hash`) is a SHA-256 over the columns' names and types and
the rows in key order with every value in a canonical text form; it does not depend on
Parquet encoding details, so a rebuild from the same sources proves the committed file is
what the sources give.

Stored champion: ``v8`` is the (shrunk) season average and ``v9`` the exponentially weighted
mean: reference predictors standing in for the serving versions (the real worker's
predictions for these 2024 games do not exist). A candidate is evaluated next to them.
"""

from __future__ import annotations

# SQL text here interpolates only table names chosen by this module or validated as
# identifiers; values are bound parameters ($name). Hence the "noqa: S608" markers.
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import nba_data
from nbaops.clock import as_utc
from nbaops.errors import UsageError
from nbaops.fsutil import atomic_target, write_text_atomic
from nbaops.regression.scan import ident
from nbaops.report import emit
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

GOLDEN_DIR = "golden"
GOLDEN_NAME = "nba-points-v1"
MANIFEST_NAME = "manifest.json"
GAMES_TABLE = "golden_games"
FORMAT_VERSION = 1
STORED_VERSIONS = ("v8", "v9")
_MIN_PRIOR_GAMES = 3

# Columns of the golden file, in order. Keys and pre-game information first; then the
# features; then outcomes (never shown to a candidate) and the stored predictions.
KEY_COLUMNS = ("game_id", "game_date", "player_lookup")
FEATURES: dict[str, str] = {
    "game_id": "NBA game id",
    "game_date": "game date (US Eastern)",
    "player_lookup": "player key (normalised name)",
    "player_name": "player name (nba_api spelling)",
    "team": "player's team tricode",
    "opponent": "opponent tricode",
    "is_home": "home game (from the schedule: known before tip-off)",
    "bookmaker": "book of the line (PrizePicks preferred, else Underdog)",
    "line_value": "the posted points line",
    "game_start": "tip-off time (UTC)",
    "prior_games": "games played before this date (all seasons in the logs)",
    "season_games": "games played this season before this date",
    "season_avg": "mean points this season before this date, shrunk toward last season's "
    "mean while fewer than 5 games",
    "last10_avg": "mean points of the last 10 games before this date",
    "ewma": "exponentially weighted mean points, half-life 5 games, last 40 games",
    "points_sd20": "sd of points in the last 20 games (at least 3; 6 when unknown)",
    "prev_season_avg": (
        "mean points of the player's last 82 games before this season (from any earlier "
        "season in the logs; NULL without one)"
    ),
    "days_rest": "days since the previous game (NULL before the first)",
}
OUTCOMES: dict[str, str] = {
    "actual_points": "points scored (outcome: never given to a candidate)",
    "minutes": "minutes played (outcome: never given to a candidate)",
}
PREDICTIONS: dict[str, str] = {
    "v8_points": "stored champion v8: season_avg",
    "v9_points": "stored version v9: ewma",
}
COLUMNS = (*FEATURES, *OUTCOMES, *PREDICTIONS)

ATTRIBUTION = (
    "Derived from public MIT-licensed data (licenses in golden/LICENSES/): player game logs "
    "from AntBap23/Nba-Data-and-Analytics-Engineering-Project @ 8746e29 (data/raw, nba_api "
    "LeagueGameLog); points lines from spon7ge/NBA-Prop-Predictor @ 745d582 "
    "(CSV_FILES/HISTORICAL_ODDS). Join rules of ../shared/data/nba/README.md: (normalised "
    "player name, US Eastern date of commence_time) = (PLAYER_NAME, GAME_DATE)."
)


@dataclass(frozen=True)
class GoldenSummary:
    """What the golden set holds (from its manifest)."""

    path: Path
    rows: int
    first_date: str
    last_date: str
    content_sha256: str
    versions: tuple[str, ...] = STORED_VERSIONS

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "versions": list(self.versions)}


def golden_path(root: Path) -> Path:
    return root / GOLDEN_DIR / f"{GOLDEN_NAME}.parquet"


def manifest_path(root: Path) -> Path:
    return root / GOLDEN_DIR / MANIFEST_NAME


# --------------------------------------------------------------------------- build


def build_games(
    con: duckdb.DuckDBPyConnection,
    *,
    root: Path | None = None,
    ewma_halflife: float = 5.0,
    table: str = GAMES_TABLE,
) -> nba_data.MatchStats:
    """Load the real data into ``con`` and create the golden player-games ``table``.

    Raises:
        nbaops.nba_data.NbaDataUnavailable: the data folder is missing.
        UsageError: a non-positive half-life.
    """
    if ewma_halflife <= 0 or not math.isfinite(ewma_halflife):
        raise UsageError("golden: ewma_halflife must be a positive number")
    # One thread: floating-point sums in a fixed order, so a rebuild is bit-identical.
    con.execute("SET threads = 1")
    match = nba_data.load_real_data(con, root)
    _targets(con)
    _features(con, ewma_halflife)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {ident(table)} AS
        SELECT t.game_id, t.game_date, t.player_lookup, t.player_name, t.team, t.opponent,
          t.is_home, t.bookmaker, CAST(t.line AS DOUBLE) AS line_value,
          t.commence_time AS game_start,
          f.prior_games, f.season_games,
          round(f.season_avg, 4) AS season_avg, round(f.last10_avg, 4) AS last10_avg,
          round(f.ewma, 4) AS ewma, round(f.sd, 4) AS points_sd20,
          round(f.prev_avg, 4) AS prev_season_avg, f.days_rest,
          CAST(t.actual_points AS DOUBLE) AS actual_points,
          CAST(t.minutes AS DOUBLE) AS minutes,
          round(f.season_avg, 1) AS v8_points, round(f.ewma, 1) AS v9_points
        FROM _golden_targets t JOIN _golden_features f USING (player_id, game_id)
        WHERE f.season_avg IS NOT NULL AND f.ewma IS NOT NULL
        ORDER BY t.game_date, t.game_id, t.player_lookup
        """  # noqa: S608
    )
    return match


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
          SELECT t.player_id, t.game_id, t.season AS target_season, t.game_date AS target_date,
                 g.points, g.season, g.game_date,
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
            stddev_samp(points) FILTER (WHERE k <= 20) AS sd20,
            date_diff('day', max(game_date), any_value(target_date)) AS days_rest
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
          a.days_rest, p.prev_avg,
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


# --------------------------------------------------------------------------- hash, files


def _canonical(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    return str(value)


def content_hash(con: duckdb.DuckDBPyConnection, table: str = GAMES_TABLE) -> str:
    """SHA-256 of the columns with their types, then of the rows in key order, each value
    in a canonical text form. A type is content: without it a file whose ``line_value``
    was stored as text ('20.5') hashed as the committed numbers did and passed."""
    cols = ", ".join(COLUMNS)
    keys = ", ".join(KEY_COLUMNS)
    cursor = con.execute(f"SELECT {cols} FROM {ident(table)} ORDER BY {keys}")  # noqa: S608
    columns = [f"{column[0]} {column[1]}" for column in cursor.description or ()]
    rows = cursor.fetchall()
    digest = hashlib.sha256("\t".join(columns).encode())
    for row in rows:
        digest.update(("\n" + "\t".join(_canonical(v) for v in row)).encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    match: nba_data.MatchStats,
    *,
    ewma_halflife: float,
    table: str = GAMES_TABLE,
) -> dict[str, Any]:
    """The manifest of a freshly built golden table (sources relative to the data folder)."""
    data = nba_data.data_dir(root)
    sources = [
        {"path": str(p.relative_to(data)), "sha256": file_sha256(p), "bytes": p.stat().st_size}
        for p in (
            *nba_data.csv_files(nba_data.game_logs_source(root)),
            *nba_data.csv_files(nba_data.points_lines_source(root)),
        )
    ]
    row = con.execute(
        f"SELECT count(*), min(game_date), max(game_date), count(DISTINCT game_id), "  # noqa: S608
        f"count(DISTINCT player_lookup) FROM {ident(table)}"
    ).fetchone()
    assert row is not None
    return {
        "name": GOLDEN_NAME,
        "format_version": FORMAT_VERSION,
        "file": f"{GOLDEN_NAME}.parquet",
        "built_by": "inv regression.golden --build",
        "rows": int(row[0]),
        "first_date": str(row[1]),
        "last_date": str(row[2]),
        "games": int(row[3]),
        "players": int(row[4]),
        "content_sha256": content_hash(con, table),
        "sources": sources,
        "source_counts": {
            "collapsed_lines": match.lines,
            "lines_matched_to_game_logs": match.matched,
            "feed_rows": match.raw_rows,
        },
        "parameters": {"ewma_halflife": ewma_halflife, "min_prior_games": _MIN_PRIOR_GAMES},
        "columns": {
            "features": FEATURES,
            "outcomes": OUTCOMES,
            "stored_predictions": PREDICTIONS,
        },
        "rules": [
            "one line per player-game: PrizePicks, else Underdog; alternative lines of a book "
            "collapse to their median posted line (never an average of two books)",
            "features use only the player's games strictly before the game date",
            f"a player-game needs at least {_MIN_PRIOR_GAMES} earlier games",
        ],
        "attribution": ATTRIBUTION,
    }


def write_golden(
    con: duckdb.DuckDBPyConnection, root: Path, data: Mapping[str, Any], table: str = GAMES_TABLE
) -> Path:
    """Write the Parquet file and its manifest under ``root/golden`` (atomically each)."""
    target = golden_path(root)
    cols = ", ".join(COLUMNS)
    with atomic_target(target, mode=0o644) as tmp:
        con.execute(
            f"COPY (SELECT {cols} FROM {ident(table)} ORDER BY {', '.join(KEY_COLUMNS)}) "  # noqa: S608
            f"TO '{_quote(str(tmp))}' (FORMAT PARQUET, COMPRESSION ZSTD)"
        )
    body = dict(data)
    body["file_sha256"] = file_sha256(target)
    manifest = json.dumps(body, indent=2, sort_keys=False) + "\n"
    write_text_atomic(manifest_path(root), manifest, mode=0o644)
    return target


def _quote(text: str) -> str:
    return text.replace("'", "''")


@dataclass(frozen=True)
class BuildResult:
    """What ``inv regression.golden`` did: rebuilt (and wrote, with ``--build``) the set."""

    path: Path
    manifest: dict[str, Any]
    changed: bool  # the content hash differs from the committed manifest's
    written: bool
    # checking (not writing): how the committed file and manifest differ from the rebuild
    problems: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        # Checking (not writing) a set that no longer rebuilds to its committed content fails.
        failed = not self.written and (self.changed or bool(self.problems))
        return Verdict.FAIL if failed else Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "path": str(self.path),
            "written": self.written,
            "rows": self.manifest["rows"],
            "first_date": self.manifest["first_date"],
            "last_date": self.manifest["last_date"],
            "content_sha256": self.manifest["content_sha256"],
            "changed": self.changed,
            "problems": list(self.problems),
        }

    def render(self, console: Console) -> None:
        """Lines as they are (``report.emit``, no markup: a path or a manifest value may
        hold brackets)."""
        m = self.manifest
        what = "wrote" if self.written else "rebuilt in memory"
        emit(
            console,
            f"golden set: {what} {self.path} ({m['rows']} player-games, "
            f"{m['first_date']}..{m['last_date']}), content sha256 {m['content_sha256']}",
        )
        if self.written:
            emit(
                console, "content changed: commit golden/" if self.changed else "content unchanged"
            )
        elif self.changed or self.problems:
            emit(console, "FAIL: the committed set does not match a rebuild from the sources")
            for problem in self.problems:
                emit(console, f"  {problem}")
        else:
            emit(console, "PASS: the committed set rebuilds to the same content")


def build(root: Path, *, ewma_halflife: float = 5.0, write: bool = True) -> BuildResult:
    """Build the golden set from ``../shared/data/nba``; write it unless ``write`` is False.

    Raises:
        nbaops.nba_data.NbaDataUnavailable: the data folder is missing (exit 2).
    """
    con = nba_data.connect()
    try:
        match = build_games(con, root=root, ewma_halflife=ewma_halflife)
        data = manifest(con, root, match, ewma_halflife=ewma_halflife)
        previous = read_manifest(root) if manifest_path(root).is_file() else None
        changed = previous is None or previous.get("content_sha256") != data["content_sha256"]
        problems: tuple[str, ...] = ()
        if not write:
            problems = tuple(committed_problems(con, root, previous, data))
        path = write_golden(con, root, data) if write else golden_path(root)
    finally:
        con.close()
    return BuildResult(path=path, manifest=data, changed=changed, written=write, problems=problems)


def committed_problems(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    committed: dict[str, Any] | None,
    rebuilt: dict[str, Any],
) -> list[str]:
    """How the committed golden file and manifest differ from a rebuild: every manifest
    field (sources and their hashes, counts, dates, attribution, column notes), the file's
    own SHA-256 and the content hash of its rows (the verify mode read neither file)."""
    if committed is None:
        return ["no committed manifest (build it: inv regression.golden --build)"]
    problems = [
        _difference(key, committed.get(key), value)
        for key, value in rebuilt.items()
        if key != "file_sha256" and committed.get(key) != value
    ]
    path = committed_file(root, committed)
    if not path.is_file():
        return [*problems, f"{path}: missing"]
    if file_sha256(path) != committed.get("file_sha256"):
        problems.append(f"{path.name}: its SHA-256 is not the manifest's file_sha256")
    from nbaops.adapters.duckdb_engine import engine
    from nbaops.regression.sources import duckdb_reason

    try:  # a truncated or foreign file is a problem to list, not an internal error
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _committed AS SELECT * FROM read_parquet($path)",
            {"path": str(path)},
        )
        digest = content_hash(con, "_committed")
    except engine().Error as exc:
        return [*problems, f"{path.name}: unreadable ({duckdb_reason(exc)})"]
    if digest != rebuilt["content_sha256"]:
        problems.append(f"{path.name}: its rows are not the rebuilt rows (content sha256)")
    return problems


def committed_file(root: Path, manifest: Mapping[str, Any]) -> Path:
    """The Parquet file a manifest names (beside it).

    Raises:
        UsageError: ``file`` is not a plain file name (a path leading out of golden/).
    """
    name = manifest.get("file", f"{GOLDEN_NAME}.parquet")
    if not isinstance(name, str) or name in ("", ".", "..") or name != Path(name).name:
        raise UsageError(
            f"golden set manifest {manifest_path(root)}: file {name!r:.80} is not a file "
            f"name in {GOLDEN_DIR}/"
        )
    return manifest_path(root).parent / name


def _difference(where: str, committed: Any, rebuilt: Any) -> str:
    """The first place two manifest values differ, as one line (nested keys followed)."""
    if isinstance(committed, dict) and isinstance(rebuilt, dict):
        for key in [*rebuilt, *(k for k in committed if k not in rebuilt)]:
            if committed.get(key) != rebuilt.get(key):
                return _difference(f"{where}.{key}", committed.get(key), rebuilt.get(key))
    if isinstance(committed, list) and isinstance(rebuilt, list) and len(committed) == len(rebuilt):
        for i, (a, b) in enumerate(zip(committed, rebuilt, strict=True)):
            if a != b:
                return _difference(f"{where}[{i}]", a, b)
    return f"manifest {where}: committed {_short(committed)}, rebuilt {_short(rebuilt)}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------- load


def read_manifest(root: Path) -> dict[str, Any]:
    """The committed manifest.

    Raises:
        UsageError: missing or unreadable.
    """
    path = manifest_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"golden set manifest not found: {path} (build it: inv regression.golden --build)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"golden set manifest {path}: unreadable: {exc}") from None
    if not isinstance(data, dict) or "content_sha256" not in data:
        raise UsageError(f"golden set manifest {path}: no content_sha256")
    return data


def load_golden(
    con: duckdb.DuckDBPyConnection, root: Path, table: str = GAMES_TABLE
) -> GoldenSummary:
    """Read the committed golden file into ``table`` and verify it against its manifest.

    Raises:
        UsageError: file or manifest missing, the file is not the golden set's Parquet, or
            its content does not match the manifest.
    """
    data = read_manifest(root)
    path = committed_file(root, data)
    if not path.is_file():
        raise UsageError(f"golden set not found: {path} (build it: inv regression.golden --build)")
    from nbaops.adapters.duckdb_engine import engine
    from nbaops.regression.sources import duckdb_reason

    try:  # a truncated or foreign file is a golden set that was modified, not our bug
        con.execute(
            f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM read_parquet($path)",  # noqa: S608
            {"path": str(path)},
        )
        digest = content_hash(con, table)
    except engine().Error as exc:
        raise UsageError(
            f"golden set {path} is unreadable ({duckdb_reason(exc)}): rebuild it with "
            "inv regression.golden --build"
        ) from None
    if digest != data["content_sha256"]:
        raise UsageError(
            f"golden set {path} does not match its manifest (content sha256 {digest[:12]} vs "
            f"{str(data['content_sha256'])[:12]}): rebuild it with inv regression.golden --build"
        )
    # what is shown comes from the rows read, not from the manifest's say-so
    row = con.execute(
        f"SELECT count(*), min(game_date), max(game_date) FROM {ident(table)}"  # noqa: S608
    ).fetchone()
    assert row is not None
    return GoldenSummary(
        path=path,
        rows=int(row[0]),
        first_date=str(row[1]),
        last_date=str(row[2]),
        content_sha256=digest,
    )


def feature_columns() -> list[str]:
    """The columns a candidate's ``predict`` receives (pre-game only; no outcome)."""
    return list(FEATURES)


def graded_sql(table: str, *, systems: Mapping[str, str], pass_band: float) -> tuple[str, str]:
    """SQL creating graded predictions (``metrics.REQUIRED_COLUMNS`` + optional) from the games.

    ``systems`` maps a system id to the column (of ``table`` or a joined candidate table)
    holding its predicted points. Returns (create SQL, description). The recommendation
    follows the worker: PASS when |predicted - line| < ``pass_band``, else OVER/UNDER; the
    stated confidence is a logistic approximation of Phi(|edge| / points_sd20).
    ``created_at`` is the last coordinator batch (11:30 ET) or 30 minutes before tip-off.
    """
    selects = []
    for system, column in systems.items():
        if not column.replace(".", "_").isidentifier():
            raise UsageError(f"not a column: {column!r}")
        selects.append(
            f"SELECT g.*, '{_quote(system)}' AS system_id, CAST({column} AS DOUBLE) "  # noqa: S608
            f"AS predicted_points FROM {ident(table)} g"
        )
    union = "\nUNION ALL\n".join(selects)
    sql = f"""
        WITH preds AS ({union})
        SELECT
          system_id || ':' || game_id || ':' || player_lookup AS prediction_id,
          game_id, game_date, player_lookup, system_id, predicted_points, line_value,
          'REAL' AS line_source,
          CASE WHEN abs(predicted_points - line_value) < {float(pass_band)!r} THEN 'PASS'
               WHEN predicted_points > line_value THEN 'OVER' ELSE 'UNDER' END AS recommendation,
          round(1.0 / (1.0 + exp(-1.702 * abs(predicted_points - line_value)
                / points_sd20)), 4) AS confidence,
          actual_points,
          least(timezone('America/New_York', game_date + TIME '11:30:00'),
                game_start - INTERVAL 30 MINUTE) AS created_at,
          game_start, is_home, minutes
        FROM preds
    """  # noqa: S608
    return sql, "golden set x " + ", ".join(systems)
