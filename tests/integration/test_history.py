"""Check history on the local warehouse (DuckDB built from schemas/): rows written per
result, anomaly notes from game-day history, and a failed write that loses nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.anomaly import AnomalySettings, Stats, load_history
from nbaops.context import Context
from nbaops.history import TABLE, PreparedHistory, record_run
from nbaops.sandbox.world import open_context
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 1, 20, 19, 0, tzinfo=dt.UTC)  # 14:00 Eastern, Jan 20
TODAY = dt.date(2026, 1, 20)
HISTORY = [0.95, 0.96, 0.97, 0.98, 0.99, 0.96, 0.97]  # median .97, MAD .01


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", NOW.isoformat())
    context = open_context("local", config_path=ROOT / "nbaops.yaml")
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=ROOT)
    wh.create_tables()
    context.warehouse = wh  # the real local adapter, without building the whole sandbox
    return context


def game(day: dt.date) -> dict:
    return {
        "game_id": f"G{day:%m%d}",
        "game_date": day,
        "season": "2025-26",
        "home_team": "BOS",
        "away_team": "LAL",
        "start_time": dt.datetime.combine(day, dt.time(23, 30), tzinfo=dt.UTC),
        "status": "final",
    }


def history_row(
    day: dt.date,
    value: float,
    profile: str = "local",
    *,
    check: str = "lines_coverage",
    at: dt.time = dt.time(19, 0),  # 14:00 Eastern: the same calendar day in both zones
) -> dict:
    return {
        "run_id": f"old-{day}",
        "run_at": dt.datetime.combine(day, at, tzinfo=dt.UTC),
        "profile": profile,
        "git_commit": None,
        "check_name": check,
        "service": "phase4-processors",
        "verdict": "PASS",
        "value": value,
        "threshold": "FAIL < 90%",
        "message": "old",
        "duration_s": 0.1,
        "bytes_processed": None,
        "anomaly": None,
    }


def seed(ctx: Context, *, today_has_games: bool = True) -> None:
    # Game days: Jan 6, 8, ..., 18 (7 days) and today; the odd days had no games.
    days = [TODAY - dt.timedelta(days=2 * i) for i in range(1, 8)]
    ctx.warehouse.insert_rows(
        "nba_raw.games", [game(d) for d in days + ([TODAY] if today_has_games else [])]
    )
    rows = [history_row(d, v) for d, v in zip(days, HISTORY, strict=True)]
    rows += [history_row(d + dt.timedelta(days=1), 0.10) for d in days]  # days without games
    rows += [history_row(d, 0.10, profile="prod") for d in days]  # another profile
    ctx.warehouse.insert_rows(TABLE, rows)


def results() -> list[CheckResult]:
    return [
        CheckResult(
            "lines_coverage",
            "phase4-processors",
            Verdict.PASS,
            0.91,
            "FAIL < 90%",
            "ok",
            query="SELECT 1",
            duration_s=0.25,
            bytes_processed=1234,
        ),
        CheckResult("error_logs", "phase3-processors", Verdict.WARN, "n/a", "", "text value"),
        CheckResult.error("grading_completeness", "grading-service", RuntimeError("boom")),
    ]


def stored(ctx: Context, run_id: str) -> list[dict]:
    return ctx.warehouse.query(
        f"SELECT * FROM `{TABLE}` WHERE run_at >= @since AND run_id = @run_id ORDER BY check_name",
        {"since": NOW - dt.timedelta(days=1), "run_id": run_id},
    ).rows


def test_one_row_per_result_with_run_metadata(ctx: Context) -> None:
    out = record_run(ctx, results())
    run_id = out[0].details["run_id"]
    assert {r.details["run_id"] for r in out} == {run_id}
    assert all(r.details["history"] == "recorded" for r in out)
    rows = stored(ctx, run_id)
    assert [r["check_name"] for r in rows] == [
        "error_logs",
        "grading_completeness",
        "lines_coverage",
    ]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    by_name = {r["check_name"]: r for r in rows}
    cov = by_name["lines_coverage"]
    assert cov["run_at"] == NOW and cov["profile"] == "local" and cov["git_commit"] == head
    assert (cov["verdict"], cov["value"], cov["threshold"]) == ("PASS", 0.91, "FAIL < 90%")
    assert (cov["duration_s"], cov["bytes_processed"]) == (0.25, 1234)
    assert by_name["error_logs"]["value"] is None  # a text value is stored as NULL
    assert by_name["grading_completeness"]["verdict"] == "ERROR"
    assert "boom" in by_name["grading_completeness"]["message"]


def test_anomalous_value_gets_a_note_in_results_and_history(ctx: Context) -> None:
    seed(ctx)
    out = record_run(ctx, results())
    cov = out[0]
    # 0.91 vs median .97, robust SD .014826: z = -4.05 > 3.5, although it PASSes.
    assert cov.verdict is Verdict.PASS
    assert cov.details["anomaly"].startswith(
        "anomaly: 0.91 is 4.0 robust SDs below its median 0.97"
    )
    assert "over the last 7 game days" in cov.details["anomaly"]
    assert cov.message.startswith("ok [anomaly: 0.91")
    row = next(r for r in stored(ctx, cov.details["run_id"]) if r["check_name"] == "lines_coverage")
    assert row["anomaly"] == cov.details["anomaly"]
    assert "anomaly" not in out[1].details and "anomaly" not in out[2].details


def test_no_note_when_today_has_no_games(ctx: Context) -> None:
    seed(ctx, today_has_games=False)
    assert "anomaly" not in record_run(ctx, results())[0].details


def test_no_note_below_min_history(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(ctx)
    ctx.config.raw["alerts"]["anomaly"]["min_history"] = 8  # we have 7 game days
    assert "anomaly" not in record_run(ctx, results())[0].details


def test_a_failed_write_keeps_the_run(
    ctx: Context, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx.warehouse = DuckDBWarehouse(tmp_path / "empty.duckdb", root=ROOT)  # no tables
    original = results()
    out = record_run(ctx, original)
    assert [r.verdict for r in out] == [r.verdict for r in original]  # no WARN added
    assert [r.message for r in out] == [r.message for r in original]
    assert all(r.details["history"].startswith("not recorded: ") for r in out)
    err = capsys.readouterr().err
    assert "not recorded" in err and TABLE in err


# The statistics behind the notes, as the warehouse aggregates them (anomaly.STATS_SQL).
SETTINGS = AnomalySettings(min_history=7, window_game_days=20, k=3.5, lookback_days=60)
KEY = ("lines_coverage", "phase4-processors")


def stats(ctx: Context, settings: AnomalySettings = SETTINGS) -> dict[tuple[str, str], Stats]:
    return load_history(ctx.warehouse, profile="local", now=NOW, settings=settings).stats


def test_median_and_mad_come_from_the_warehouse(ctx: Context) -> None:
    seed(ctx)  # HISTORY on 7 game days; wild values on days without games and in prod
    got = stats(ctx)[KEY]
    assert (got.median, got.mad) == (pytest.approx(0.97), pytest.approx(0.01))
    assert (got.samples, got.game_days) == (7, 7)


@pytest.mark.parametrize(
    ("values", "median", "mad"),
    [
        ([1, 2, 3, 4, 100], 3, 1),  # |x-3| = 2,1,0,1,97: the outlier does not move the MAD
        ([2, 4, 4, 4, 5, 5, 7, 9], 4.5, 0.5),  # even count: the mean of the middle two
    ],
)
def test_median_and_mad_hand_computed(
    ctx: Context, values: list[float], median: float, mad: float
) -> None:
    days = [TODAY - dt.timedelta(days=i + 1) for i in range(len(values))]
    ctx.warehouse.insert_rows("nba_raw.games", [game(d) for d in [TODAY, *days]])
    ctx.warehouse.insert_rows(TABLE, [history_row(d, v) for d, v in zip(days, values, strict=True)])
    got = stats(ctx)[KEY]
    assert (got.median, got.mad, got.game_days) == (median, mad, len(values))


def test_history_window_is_the_last_n_game_days(ctx: Context) -> None:
    seed(ctx)
    history = load_history(
        ctx.warehouse,
        profile="local",
        now=NOW,
        settings=AnomalySettings(min_history=7, window_game_days=4, k=3.5, lookback_days=60),
    )
    assert history.game_days == [TODAY - dt.timedelta(days=2 * i) for i in range(4)]
    assert history.stats[KEY].game_days == 3  # today has no sample yet


def test_runs_count_as_samples_and_days_as_game_days(ctx: Context) -> None:
    days = [TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)]
    ctx.warehouse.insert_rows("nba_raw.games", [game(d) for d in [TODAY, *days]])
    rows = [history_row(d, 0.9, at=dt.time(h)) for d in days for h in (15, 17, 19, 21)]
    ctx.warehouse.insert_rows(TABLE, rows)
    got = stats(ctx)[KEY]
    assert (got.samples, got.game_days) == (8, 2)


def test_history_groups_runs_by_eastern_day(ctx: Context) -> None:
    # 03:00 UTC on Jan 19 is 22:00 Eastern on Jan 18: it belongs to Jan 18.
    late = history_row(dt.date(2026, 1, 19), 1.0, at=dt.time(3, 0))
    ctx.warehouse.insert_rows(TABLE, [late])
    ctx.warehouse.insert_rows("nba_raw.games", [game(TODAY), game(dt.date(2026, 1, 18))])
    assert stats(ctx)[KEY].game_days == 1
    ctx.warehouse.execute(
        "DELETE FROM `nba_raw.games` WHERE game_date = @d", {"d": dt.date(2026, 1, 18)}
    )
    ctx.warehouse.insert_rows("nba_raw.games", [game(dt.date(2026, 1, 19))])
    assert KEY not in stats(ctx)


def test_alert_ledger_rows_are_not_history(ctx: Context) -> None:
    day = TODAY - dt.timedelta(days=2)
    ctx.warehouse.insert_rows("nba_raw.games", [game(TODAY), game(day)])
    ctx.warehouse.insert_rows(TABLE, [history_row(day, 1.0, check="alert:lines_coverage")])
    assert stats(ctx) == {}


def test_no_history_is_read_on_a_day_without_games(ctx: Context) -> None:
    seed(ctx, today_has_games=False)
    history = load_history(ctx.warehouse, profile="local", now=NOW, settings=SETTINGS)
    assert not history.today_is_game_day and history.stats == {}


def test_inconclusive_values_are_not_history(ctx: Context) -> None:
    """An INCONCLUSIVE result is never judged against the history (too little data:
    model_hit_rate's lower bound over too few picks); it is no baseline either: seven days
    of them made the first judged value an "anomaly" against numbers nobody could judge."""
    days = [TODAY - dt.timedelta(days=i + 1) for i in range(7)]
    ctx.warehouse.insert_rows("nba_raw.games", [game(d) for d in [TODAY, *days]])
    thin = [{**history_row(d, 0.40), "verdict": "INCONCLUSIVE"} for d in days]
    ctx.warehouse.insert_rows(TABLE, [*thin, history_row(days[0], 0.97)])
    got = stats(ctx)[KEY]
    assert (got.median, got.samples, got.game_days) == (pytest.approx(0.97), 1, 1)


def test_a_history_warning_never_prints_a_secret(
    ctx: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warehouse's reason is printed on stderr: a Slack hook URL (or a token) quoted in
    it is masked, as on every other output."""
    hook = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnopqrstuvwx"
    prepared = PreparedHistory(NOW, None, None, None, f"cannot reach {hook}")
    record_run(ctx, results(), prepared)
    err = capsys.readouterr().err
    assert "not recorded: cannot reach" in err
    assert "abcdefghijkl" not in err


def test_a_day_whose_games_were_all_postponed_or_cancelled_is_no_game_day(ctx: Context) -> None:
    """Every check leaves postponed and cancelled games out ("no games scheduled"), but the
    history counted any row of nba_raw.games as a game: a slate postponed whole was a game
    day, so its runs (processors idle, heartbeats aging) were judged against game-day
    history and got anomaly notes, and its values entered the next days' history."""
    yesterday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)
    off = [
        {**game(TODAY), "status": "Postponed"},
        {**game(yesterday), "status": "CANCELLED"},
        {**game(yesterday), "game_id": "G-other", "status": "canceled"},
    ]
    ctx.warehouse.insert_rows("nba_raw.games", [*off, game(before)])
    history = load_history(ctx.warehouse, profile="local", now=NOW, settings=SETTINGS)
    assert history.game_days == [before]
    assert not history.today_is_game_day and history.stats == {}
    ctx.warehouse.insert_rows("nba_raw.games", [{**game(TODAY), "game_id": "G-played"}])
    history = load_history(ctx.warehouse, profile="local", now=NOW, settings=SETTINGS)
    assert history.game_days == [TODAY, before] and history.today_is_game_day
