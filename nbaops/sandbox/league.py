"""A synthetic league for the sandbox: players, the schedule and every game's box score.

:func:`synthetic_league` invents one, deterministic per seed and relative to ``now``;
:mod:`nbaops.sandbox.import_logs` builds one from real nba_api game logs. The outcome of a
game that has not finished yet is drawn too, but stays hidden until it is final.
:mod:`nbaops.sandbox.generate` turns a league into table rows.

Every random draw comes from :func:`rng_for` (``random.Random(f"{seed}:{purpose}")``), so
unrelated draws do not shift each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from nbaops import clock
from nbaops.clock import EASTERN

UTC = dt.UTC
WINDOW_DAYS = 45
HISTORY_DAYS = 20  # synthetic games before the window: features have a history from day one
GAME_LENGTH = dt.timedelta(hours=2, minutes=30)

TEAMS = (
    "ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW",
    "HOU", "IND", "LAC", "LAL", "MEM", "MIA", "MIL", "MIN", "NOP", "NYK",
    "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR", "UTA", "WAS",
)  # fmt: skip

_FIRST = (
    "Marcus", "Jalen", "Tyrese", "Devin", "Jaylen", "Darius", "Malik", "Cole", "Isaiah",
    "Trey", "Andre", "Keegan", "Dillon", "Bennett", "Mason", "Jordan", "Cameron", "Aaron",
    "Derrick", "Julian", "Nikola", "Luka", "Franz", "Evan", "Miles", "Scottie", "Paolo",
    "Zion", "Desmond", "Kevin", "Caleb", "Quentin", "Reggie", "Tobias", "Victor", "Walker",
    "Xavier", "Yusuf", "Zach", "Gabe",
)  # fmt: skip
_LAST = (
    "Carter", "Brooks", "Hayes", "Mitchell", "Porter", "Reed", "Sullivan", "Turner", "Vaughn",
    "Wallace", "Bennett", "Coleman", "Dawson", "Ellis", "Fleming", "Grant", "Holloway",
    "Ingram", "Jennings", "Keller", "Lawson", "Monroe", "Nash", "Owens", "Pierce", "Quinn",
    "Russell", "Sanders", "Thornton", "Underwood", "Vance", "Whitfield", "Young", "Zimmer",
    "Abbott", "Barrett", "Crawford", "Dunbar", "Easton", "Foster",
)  # fmt: skip
# Latent scoring means of a 13-man roster: 10 rotation players, 3 rarely used.
_ROSTER_MEANS = (
    (24, 32), (18, 25), (14, 20), (11, 16), (9, 14), (7, 12), (5, 10), (4, 8), (3, 7), (2, 5),
    (1, 3), (1, 3), (1, 2),
)  # fmt: skip


def rng_for(seed: int, purpose: str) -> random.Random:
    """An independent, reproducible random stream for one purpose."""
    return random.Random(f"{seed}:{purpose}")


def stable_id(*parts: object, length: int = 20) -> str:
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()[:length]


def eastern(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An Eastern wall-clock time on ``day`` as a UTC datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), EASTERN).astimezone(UTC)


def season_of(day: dt.date) -> str:
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass(frozen=True)
class Player:
    player_id: int
    name: str
    lookup: str
    team: str
    mean_points: float


@dataclass(frozen=True)
class Game:
    game_id: str
    game_date: dt.date
    season: str
    home: str
    away: str
    start_time: dt.datetime

    @property
    def end_time(self) -> dt.datetime:
        return self.start_time + GAME_LENGTH


@dataclass(frozen=True)
class BoxLine:
    """One player's line in one game (the nba_api LeagueGameLog fields we keep)."""

    lookup: str
    team: str
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
    rebounds: int
    assists: int


@dataclass
class League:
    """Players, the window's games with their (possibly still hidden) box scores.

    ``expected`` lists, per game, the players the pipeline expects to play (they get
    feature rows and lines); ``history`` holds (date, player, points, minutes) of games
    before the window, used only for feature averages.
    """

    players: dict[str, Player]
    games: list[Game]
    box: dict[str, list[BoxLine]]
    expected: dict[str, list[str]]
    history: list[tuple[dt.date, str, int, float]] = field(default_factory=list)
    source: str = "synthetic"


def window_days(now: dt.datetime) -> list[dt.date]:
    """The sandbox's game days: the last 45 days, today and tomorrow (US Eastern)."""
    today = clock.eastern_date(now)
    return [today + dt.timedelta(days=i) for i in range(-WINDOW_DAYS, 2)]


def _players(seed: int) -> dict[str, Player]:
    rng = rng_for(seed, "players")
    names = [f"{f} {last}" for f in _FIRST for last in _LAST]
    rng.shuffle(names)
    players: dict[str, Player] = {}
    pid = 1_630_000
    for t, team in enumerate(TEAMS):
        for slot, (low, high) in enumerate(_ROSTER_MEANS):
            name = names[t * len(_ROSTER_MEANS) + slot]
            pid += rng.randint(1, 40)
            lookup = name.lower().replace(" ", "")
            players[lookup] = Player(pid, name, lookup, team, round(rng.uniform(low, high), 1))
    return players


def box_line(rng: random.Random, player: Player, opponent: str, is_home: bool) -> BoxLine:
    """A consistent box score: FGM/FG3M/FTM add up to the points, attempts ≥ makes."""
    mean = player.mean_points
    points = max(0, round(rng.gauss(mean, 0.25 * mean + 2)))
    minutes = round(min(44.0, max(4.0, rng.gauss(12 + 0.95 * mean, 4))), 1)
    fg3m = min(points // 3, max(0, round(rng.gauss(points * 0.11, 1))))
    rest = points - 3 * fg3m
    ftm = min(rest, max(0, round(rng.gauss(rest * 0.2, 1))))
    if (rest - ftm) % 2:
        ftm += 1 if ftm < rest else -1
    fg2m = (rest - ftm) // 2
    fg3a = fg3m + max(0, round(fg3m * rng.uniform(1.2, 2.0) + rng.uniform(0, 2)))
    fg2a = fg2m + max(0, round(fg2m * rng.uniform(0.6, 1.1) + rng.uniform(0, 1.5)))
    fta = ftm + max(0, round(ftm * rng.uniform(0.1, 0.4)))
    return BoxLine(
        lookup=player.lookup,
        team=player.team,
        opponent=opponent,
        is_home=is_home,
        minutes=minutes,
        points=points,
        fgm=fg2m + fg3m,
        fga=fg2a + fg3a,
        fg3m=fg3m,
        fg3a=fg3a,
        ftm=ftm,
        fta=fta,
        rebounds=max(0, round(rng.gauss(minutes / 6, 2))),
        assists=max(0, round(rng.gauss(minutes / 10 + mean / 12, 1.5))),
    )


def shot_zones(line: BoxLine, salt: str) -> dict[str, int]:
    """Split two-point attempts/makes into paint and mid-range (paint+mid+three = FGA)."""
    rng = random.Random(f"zones:{salt}")
    fg2a, fg2m = line.fga - line.fg3a, line.fgm - line.fg3m
    paint_a = round(fg2a * rng.uniform(0.5, 0.75))
    mid_a = fg2a - paint_a
    paint_m = min(paint_a, fg2m, round(fg2m * 0.7 + rng.uniform(-0.5, 0.5)))
    mid_m = fg2m - paint_m
    if mid_m > mid_a:  # more mid-range makes than attempts: move them to the paint
        paint_m, mid_m = fg2m - mid_a, mid_a
    return {
        "paint_attempts": paint_a,
        "paint_makes": paint_m,
        "mid_range_attempts": mid_a,
        "mid_range_makes": mid_m,
        "three_pt_attempts": line.fg3a,
        "three_pt_makes": line.fg3m,
    }


def _schedule(seed: int, days: Sequence[dt.date], prefix: str) -> list[Game]:
    games: list[Game] = []
    counter: dict[str, int] = defaultdict(int)
    for day in days:
        rng = rng_for(seed, f"schedule:{day.isoformat()}")
        n = rng.randint(8, 12)
        teams = list(TEAMS)
        rng.shuffle(teams)
        tips = sorted(rng.choice(range(0, 8)) for _ in range(n))  # 19:00 + 30 min steps
        season = season_of(day)
        for i in range(n):
            counter[season] += 1
            game_id = f"{prefix}{season[2:4]}{counter[season]:05d}"
            minutes = 19 * 60 + tips[i] * 30
            start = eastern(day, minutes // 60, minutes % 60)
            games.append(Game(game_id, day, season, teams[2 * i], teams[2 * i + 1], start))
    return games


def _played(seed: int, game: Game, by_team: dict[str, list[Player]]) -> list[BoxLine]:
    """The box lines of one game: each team's rotation, less ~4% injured or rested."""
    rng = rng_for(seed, f"box:{game.game_id}")
    lines: list[BoxLine] = []
    for team, opp, home in ((game.home, game.away, True), (game.away, game.home, False)):
        for p in by_team[team][:10]:
            if rng.random() < 0.04:  # injured / rested: not expected, no box score
                continue
            lines.append(box_line(rng, p, opp, home))
    return lines


def synthetic_league(seed: int, now: dt.datetime) -> League:
    """Invented players and games over the window (plus a pre-window history)."""
    players = _players(seed)
    by_team: dict[str, list[Player]] = defaultdict(list)
    for p in players.values():
        by_team[p.team].append(p)
    days = window_days(now)
    pre = [days[0] - dt.timedelta(days=i) for i in range(HISTORY_DAYS, 0, -1)]
    history = [
        (game.game_date, b.lookup, b.points, b.minutes)
        for game in _schedule(seed, pre, "H02")
        for b in _played(seed, game, by_team)
    ]
    games = _schedule(seed, days, "002")
    box = {game.game_id: _played(seed, game, by_team) for game in games}
    expected = {gid: [b.lookup for b in lines] for gid, lines in box.items()}
    return League(players, games, box, expected, history, "synthetic")
