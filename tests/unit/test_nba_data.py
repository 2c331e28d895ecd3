"""nbaops.nba_data: name keys, typed loading, line collapsing, the lines-to-logs join."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nbaops import nba_data as nd
from nbaops import nba_names
from nbaops.errors import UsageError

LOG_HEADER = (
    "SEASON_ID,PLAYER_ID,PLAYER_NAME,TEAM_ID,TEAM_ABBREVIATION,TEAM_NAME,GAME_ID,GAME_DATE,"
    "MATCHUP,WL,MIN,PTS,FGM,FGA,FG_PCT,FG3M,FG3A,FG3_PCT,FTM,FTA,FT_PCT,OREB,DREB,REB,AST,"
    "STL,BLK,TOV,PF,PLUS_MINUS,SEASON_LABEL"
)
LINE_HEADER = "player,market,bookmaker,side,line,price,home_team,away_team,game_id,commence_time"


def _log(pid: int, name: str, team: str, gid: str, date: str, matchup: str, pts: int) -> str:
    return (
        f"22024,{pid},{name},1,{team},Team,{gid},{date},{matchup},W,30,{pts},"
        "5,10,0.5,1,3,0.3,2,2,1.0,1,4,5,3,1,0,2,2,5,2024-25"
    )


def _line(
    player: str,
    market: str,
    book: str,
    side: str,
    line: float,
    home: str,
    away: str,
    gid: str,
    ts: str,
) -> str:
    return f"{player},{market},{book},{side},{line},-137,{home},{away},{gid},{ts}"


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    logs = tmp_path / "nba" / "player_game_logs"
    lines = tmp_path / "nba" / "points_lines"
    logs.mkdir(parents=True)
    lines.mkdir(parents=True)
    (logs / "a.csv").write_text(
        "\n".join(
            [
                LOG_HEADER,
                _log(1, "Luka Dončić", "DAL", "0022400001", "2024-10-22", "DAL vs. SAS", 28),
                _log(2, "Nic Claxton", "BKN", "0022400002", "2024-10-22", "BKN @ ATL", 12),
                _log(3, "Jaren Jackson Jr.", "MEM", "0022400003", "2024-10-23", "MEM @ UTA", 22),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    (logs / "b.csv").write_text(
        LOG_HEADER
        + "\n"
        + _log(1, "Luka Dončić", "DAL", "0022400009", "2024-10-24", "DAL @ PHX", 40)
        + "\n",
        encoding="utf-8",
    )
    rows = [
        LINE_HEADER,
        # Two alternative lines on both sides: the lower median (24.5) is kept.
        _line(
            "Luka Doncic",
            "player_points",
            "PrizePicks",
            "Over",
            25.0,
            "Dallas Mavericks",
            "San Antonio Spurs",
            "g1",
            "2024-10-23T00:30:00Z",
        ),
        _line(
            "Luka Doncic",
            "player_points",
            "PrizePicks",
            "Under",
            25.0,
            "Dallas Mavericks",
            "San Antonio Spurs",
            "g1",
            "2024-10-23T00:30:00Z",
        ),
        _line(
            "Luka Doncic",
            "player_points",
            "PrizePicks",
            "Over",
            24.5,
            "Dallas Mavericks",
            "San Antonio Spurs",
            "g1",
            "2024-10-23T00:30:00Z",
        ),
        _line(
            "Luka Doncic",
            "player_points",
            "PrizePicks",
            "Under",
            24.5,
            "Dallas Mavericks",
            "San Antonio Spurs",
            "g1",
            "2024-10-23T00:30:00Z",
        ),
        # Alias: Nicolas -> Nic; the Eastern date of 23:30Z is the same day.
        _line(
            "Nicolas Claxton",
            "player_points",
            "Underdog",
            "Over",
            11.5,
            "Atlanta Hawks",
            "Brooklyn Nets",
            "g2",
            "2024-10-22T23:30:00Z",
        ),
        _line(
            "Nicolas Claxton",
            "player_points",
            "Underdog",
            "Under",
            11.5,
            "Atlanta Hawks",
            "Brooklyn Nets",
            "g2",
            "2024-10-22T23:30:00Z",
        ),
        # Suffix without a dot; 02:00Z on the 24th is 22:00 Eastern on the 23rd.
        _line(
            "Jaren Jackson Jr",
            "player_points",
            "Underdog",
            "Over",
            20.5,
            "Utah Jazz",
            "Memphis Grizzlies",
            "g3",
            "2024-10-24T02:00:00Z",
        ),
        _line(
            "Jaren Jackson Jr",
            "player_points",
            "Underdog",
            "Under",
            20.5,
            "Utah Jazz",
            "Memphis Grizzlies",
            "g3",
            "2024-10-24T02:00:00Z",
        ),
        # A player with no game log that day (did not play): unmatched.
        _line(
            "Ja Morant",
            "player_points",
            "PrizePicks",
            "Over",
            22.5,
            "Utah Jazz",
            "Memphis Grizzlies",
            "g3",
            "2024-10-24T02:00:00Z",
        ),
        # Another market is ignored.
        _line(
            "Ja Morant",
            "player_assists",
            "PrizePicks",
            "Over",
            7.5,
            "Utah Jazz",
            "Memphis Grizzlies",
            "g3",
            "2024-10-24T02:00:00Z",
        ),
    ]
    (lines / "lines.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path / "nba"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Luka Dončić", "luka doncic"),
        ("Nikola Jokić", "nikola jokic"),
        ("Kristaps Porziņģis", "kristaps porzingis"),
        ("Jaren Jackson Jr.", "jaren jackson"),
        ("Jaren Jackson Jr", "jaren jackson"),
        ("Trey Murphy III", "trey murphy"),
        ("Gary Payton II", "gary payton"),
        ("De'Andre Hunter", "deandre hunter"),
        ("Karl-Anthony Towns", "karl anthony towns"),
        ("  SHAI   Gilgeous-Alexander ", "shai gilgeous alexander"),
        ("Nicolas Claxton", "nic claxton"),
        ("Carlton Carrington", "bub carrington"),
        ("Herb Jones", "herbert jones"),
        ("Moe Wagner", "moritz wagner"),
        ("B.J. Boston Jr", "brandon boston"),
        ("Ronald Holland II", "ronald holland"),
        ("Ron Holland", "ronald holland"),
    ],
)
def test_normalise_name_folds_accents_punctuation_suffixes_and_aliases(raw: str, key: str) -> None:
    assert nba_names.normalise_name(raw) == key


def test_suffix_alone_is_not_stripped_to_nothing() -> None:
    assert nba_names.normalise_name("V") == "v"


def test_player_lookup_is_the_key_without_spaces() -> None:
    assert nba_names.player_lookup("Luka Dončić") == "lukadoncic"


def test_game_logs_are_typed_with_opponent_and_home_away(small_data: Path) -> None:
    logs = nd.load_game_logs(small_data / "player_game_logs")
    assert len(logs) == 4  # both files of the folder
    luka = [g for g in logs if g.player_id == 1]
    assert [g.game_date for g in luka] == [dt.date(2024, 10, 22), dt.date(2024, 10, 24)]
    assert (luka[0].opponent, luka[0].is_home) == ("SAS", True)
    assert (luka[1].opponent, luka[1].is_home) == ("PHX", False)
    assert luka[0].game_id == "0022400001"  # leading zeros kept
    assert luka[0].season == "2024-25"
    assert luka[0].points == 28 and luka[0].minutes == 30.0 and luka[0].fg3a == 3


def test_a_row_without_a_player_name_is_left_out_not_a_crash(tmp_path: Path) -> None:
    """An empty name cell is NULL in DuckDB: sorting the distinct names raised TypeError
    (None < str), an internal error instead of loading the named rows."""
    logs, lines = tmp_path / "logs.csv", tmp_path / "lines.csv"
    named = _log(1, "Luka Dončić", "DAL", "0022400001", "2024-10-22", "DAL vs. SAS", 28)
    unnamed = _log(2, "", "BKN", "0022400002", "2024-10-22", "BKN @ ATL", 12)
    logs.write_text("\n".join([LOG_HEADER, named, unnamed]) + "\n", encoding="utf-8")
    assert [g.player_id for g in nd.load_game_logs(logs)] == [1]
    offer = ("player_points", "PrizePicks", "Over", 24.5, "Dallas Mavericks", "San Antonio Spurs")
    rows = [_line(name, *offer, "g1", "2024-10-23T00:30:00Z") for name in ("Luka Doncic", "")]
    lines.write_text("\n".join([LINE_HEADER, *rows]) + "\n", encoding="utf-8")
    assert [p.player for p in nd.load_points_lines(lines)] == ["Luka Doncic"]


def test_lines_collapse_sides_and_alternatives_to_one_posted_line(small_data: Path) -> None:
    lines = {(p.player, p.bookmaker): p for p in nd.load_points_lines(small_data / "points_lines")}
    assert len(lines) == 4  # assists market ignored; Over/Under rows collapsed
    luka = lines[("Luka Doncic", "PrizePicks")]
    assert luka.line == 24.5 and luka.n_lines == 2 and luka.two_sided
    assert luka.game_date == dt.date(2024, 10, 22)  # 00:30Z on the 23rd = 20:30 ET on the 22nd
    assert luka.commence_time == dt.datetime(2024, 10, 23, 0, 30, tzinfo=dt.UTC)
    assert (luka.home_tricode, luka.away_tricode) == ("DAL", "SAS")
    assert lines[("Jaren Jackson Jr", "Underdog")].game_date == dt.date(2024, 10, 23)
    assert not lines[("Ja Morant", "PrizePicks")].two_sided


def test_sql_join_matches_name_key_eastern_date_and_team(small_data: Path) -> None:
    con = nd.connect()
    nd.create_game_logs_table(con, small_data / "player_game_logs")
    load = nd.create_points_lines_table(con, small_data / "points_lines")
    assert load == nd.LinesLoad(raw_rows=9, lines=4)
    stats = nd.create_matched_lines_table(con)
    assert (stats.lines, stats.matched) == (4, 3)
    assert stats.raw_rows == 9 and stats.raw_rows_matched == 8
    assert stats.unmatched_names == ("Ja Morant",)
    assert stats.match_rate == pytest.approx(0.75)
    matched = dict(con.execute("SELECT player, actual_points FROM matched_lines").fetchall())
    assert set(matched) == {"Luka Doncic", "Nicolas Claxton", "Jaren Jackson Jr"}
    assert matched["Luka Doncic"] == 28
    row = con.execute(
        "SELECT actual_points, is_home, opponent, game_id FROM matched_lines "
        "WHERE player = 'Jaren Jackson Jr'"
    ).fetchone()
    assert row == (22, False, "UTA", "0022400003")


def test_line_for_a_namesake_on_another_team_is_not_matched(small_data: Path) -> None:
    lines = small_data / "points_lines" / "lines.csv"
    lines.write_text(
        LINE_HEADER
        + "\nLuka Doncic,player_points,PrizePicks,Over,24.5,-137,Boston Celtics,New York Knicks,"
        "g9,2024-10-22T23:30:00Z\n",
        encoding="utf-8",
    )
    con = nd.connect()
    nd.create_game_logs_table(con, small_data / "player_game_logs")
    nd.create_points_lines_table(con, small_data / "points_lines")
    stats = nd.create_matched_lines_table(con)
    assert stats.matched == 0 and stats.team_mismatches == 1


def test_missing_folder_raises_a_named_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_DATA", str(tmp_path / "absent"))
    with pytest.raises(nd.NbaDataUnavailable, match="real NBA data folder not found"):
        nd.data_dir()
    assert issubclass(nd.NbaDataUnavailable, UsageError)
    with pytest.raises(nd.NbaDataUnavailable, match="not found"):
        nd.load_game_logs(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(nd.NbaDataUnavailable, match="no CSV files") as info:
        nd.load_points_lines(tmp_path / "empty")
    assert str(info.value).endswith("empty")  # nothing below it either: no hint
    # the data folder itself instead of its player_game_logs/: the error points there
    (tmp_path / "data" / "player_game_logs").mkdir(parents=True)
    (tmp_path / "data" / "player_game_logs" / "x.csv").write_text("a\n", encoding="utf-8")
    with pytest.raises(nd.NbaDataUnavailable, match=r"its folder\(s\) player_game_logs have"):
        nd.load_game_logs(tmp_path / "data")


def test_a_csv_of_another_shape_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(nd.NbaDataUnavailable, match="cannot read game logs") as info:
        nd.load_game_logs(bad)
    assert str(info.value).endswith(
        "bad.csv: missing column(s) SEASON_ID, PLAYER_ID, PLAYER_NAME, TEAM_ID, "
        "TEAM_ABBREVIATION, GAME_ID, GAME_DATE, MATCHUP, WL, MIN, PTS, FGM, FGA, FG3M, FG3A, "
        "FTM, FTA, REB, AST"
    )
    bad.write_text("PTS,MIN,a\n1,2,3\n", encoding="utf-8")  # some present: only the rest
    with pytest.raises(nd.NbaDataUnavailable, match="missing column") as info:
        nd.load_game_logs(bad)
    assert "PTS" not in str(info.value) and ", MIN," not in str(info.value)


def _real_dir() -> Path:
    try:
        return nd.data_dir()
    except nd.NbaDataUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.realdata
def test_real_data_loads_three_seasons_and_matches_about_95_percent() -> None:
    _real_dir()
    con = nd.connect()
    stats = nd.load_real_data(con)
    n_logs = con.execute("SELECT count(*), count(DISTINCT season) FROM game_logs").fetchone()
    assert n_logs is not None and n_logs[0] > 70_000 and n_logs[1] == 3
    assert stats.raw_rows == 14_458
    assert 0.93 <= stats.match_rate <= 1.0
    assert 0.93 <= stats.raw_match_rate <= 1.0
    assert stats.team_mismatches == 0
    # Every alias in the table is exercised by the real feed or logs.
    keys = {
        r[0]
        for r in con.execute(
            "SELECT name_key FROM game_logs UNION SELECT name_key FROM points_lines"
        ).fetchall()
    }
    assert set(nba_names.NAME_ALIASES.values()) <= keys


def test_a_player_game_given_twice_is_refused_naming_its_files(small_data: Path) -> None:
    """A season file and its copy in one folder doubled every box score it touched (shot
    zones, features and averages counted twice), silently."""
    logs = small_data / "player_game_logs"
    (logs / "copy-of-a.csv").write_text((logs / "a.csv").read_text(encoding="utf-8"))
    with pytest.raises(nd.NbaDataUnavailable) as info:
        nd.load_game_logs(logs)
    message = str(info.value)
    assert "3 player-game(s) appear more than once" in message
    assert "player 1 in game 0022400001: 2 rows, in a.csv, copy-of-a.csv" in message
