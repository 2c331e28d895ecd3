"""``sandbox.reset --from-logs PATH``: a league from real nba_api game logs.

PATH is a CSV file or a folder of CSVs in the nba_api ``LeagueGameLog`` format (for
example ``../shared/data/nba/player_game_logs``); rows are read with
:func:`nbaops.nba_data.load_game_logs` (names normalised to ``player_lookup`` there).

How the real season is placed on today's calendar:

1. Only the latest season in PATH is used (``SEASON_LABEL``/``SEASON_ID``); rows with no
   ``SEASON_ID`` are left out (all rows are used when none has one).
2. The anchor A is the season's latest game day with at least 8 games whose previous
   calendar day also had games (a full slate after a game night, so today looks like a
   normal game day: last night's games are graded, today's are about to tip). With T
   today's date (US Eastern, from :func:`nbaops.clock.now`) every game date is shifted
   by the same number of days, ``shift = T - A``: A becomes today, A - 1 yesterday,
   A + 1 tomorrow (weekdays are not preserved).
3. Games whose shifted date falls in the sandbox window (the last 45 days, today,
   tomorrow) become the schedule; earlier games of the season only feed the feature
   store's averages (the history); later ones are dropped.

Players, teams (per game, so trades are kept), game ids, home/away (``vs.`` = home),
minutes and box-score stats are the real ones. What the logs do not have is derived:
tip-off times (19:00–22:30 ET, seeded) and shot zones (three-point = FG3A/FG3M, the other
attempts split between paint and mid-range). The players the pipeline "expects" (feature
rows, lines, predictions) are every player who played, as in the generated league: the
checks hold phase 4 to features for every player with a box score (``validate-daily``)
and books to lines for every player with features (``lines_coverage``), so a league that
expected only its 10-minute players failed ``validate-daily`` at features (~80%) although
nothing was wrong. Games that have not finished by ``now`` keep their real outcome hidden
until they do, and grading then uses it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.errors import UsageError
from nbaops.sandbox import league

if TYPE_CHECKING:
    from nbaops.nba_data import GameLog

# The box-score fields a game log carries under the same name (rebounds, assists differ).
BOX_FIELDS = (
    "team", "opponent", "is_home", "minutes", "points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta",
)  # fmt: skip


def anchor_day(rows: Sequence[GameLog]) -> dt.date:
    """The real game day that becomes today (see the module docstring, step 2)."""
    games: dict[dt.date, set[str]] = defaultdict(set)
    for log in rows:
        games[log.game_date].add(log.game_id)
    days = sorted(games)
    for day in reversed(days):
        if len(games[day]) >= 8 and games.get(day - dt.timedelta(days=1)):
            return day
    return days[-1]


def import_league(path: Path, now: dt.datetime, seed: int) -> league.League:
    """Build a :class:`~nbaops.sandbox.league.League` from real game logs.

    Raises:
        UsageError: the path has no readable game logs (``NbaDataUnavailable`` included).
    """
    from nbaops.nba_data import load_game_logs

    try:
        logs = load_game_logs(path)
    except UsageError:
        raise
    except Exception as exc:  # a CSV without the LeagueGameLog columns
        raise UsageError(f"--from-logs: cannot read game logs from {path}: {exc}") from None
    if not logs:
        raise UsageError(f"--from-logs: no game-log rows in {path}")
    # a row with no SEASON_ID belongs to no season; when none has one, all are one season
    season = max((log.season for log in logs if log.season is not None), default=None)
    rows = sorted(
        (log for log in logs if log.season == season), key=lambda g: (g.game_date, g.game_id)
    )
    today = clock.eastern_date(now)
    shift = today - anchor_day(rows)
    first_day = today - dt.timedelta(days=league.WINDOW_DAYS)
    last_day = today + dt.timedelta(days=1)

    # one lookup per player id (two players normalising to the same name stay apart)
    lookups: dict[int, str] = {}
    taken: dict[str, int] = {}
    for log in rows:
        if log.player_id in lookups:
            continue
        key = log.player_lookup or f"player{log.player_id}"
        if key in taken and taken[key] != log.player_id:
            key = f"{key}{log.player_id}"
        taken[key] = log.player_id
        lookups[log.player_id] = key

    totals: dict[str, list[int]] = defaultdict(list)
    for log in rows:
        totals[lookups[log.player_id]].append(log.points)
    players: dict[str, league.Player] = {}
    for log in rows:  # the last row wins: the player's latest team
        lookup = lookups[log.player_id]
        pts = totals[lookup]
        players[lookup] = league.Player(
            log.player_id, log.player_name, lookup, log.team, round(sum(pts) / len(pts), 1)
        )

    games: dict[str, league.Game] = {}
    box: dict[str, list[league.BoxLine]] = defaultdict(list)
    history: list[tuple[dt.date, str, int, float]] = []
    for log in rows:
        day = log.game_date + shift
        lookup = lookups[log.player_id]
        if day < first_day:
            history.append((day, lookup, log.points, log.minutes))
            continue
        if day > last_day:
            continue
        if log.game_id not in games:
            rng = league.rng_for(seed, f"tipoff:{log.game_id}")
            minutes = 19 * 60 + rng.randrange(0, 8) * 30
            home, away = (log.team, log.opponent) if log.is_home else (log.opponent, log.team)
            games[log.game_id] = league.Game(
                log.game_id,
                day,
                league.season_of(day),
                home,
                away,
                league.eastern(day, minutes // 60, minutes % 60),
            )
        shared = {name: getattr(log, name) for name in BOX_FIELDS}
        box[log.game_id].append(
            league.BoxLine(lookup=lookup, rebounds=log.reb, assists=log.ast, **shared)
        )
    if not games:
        raise UsageError(f"--from-logs: no games of season {season} in {path}")
    expected = {gid: [b.lookup for b in lines] for gid, lines in box.items()}
    return league.League(
        players=players,
        games=sorted(games.values(), key=lambda g: (g.game_date, g.start_time, g.game_id)),
        box=dict(box),
        expected=expected,
        history=history,
        source=f"logs:{path} (season {season}, shifted {shift.days:+d} days)",
    )
