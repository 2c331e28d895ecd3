"""Anomaly notes: robust median/MAD against hand-computed cases, min history, game days only."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from nbaops.alerts.settings import AlertSettings
from nbaops.anomaly import (
    AnomalySettings,
    History,
    Stats,
    annotate,
    assess,
    build_history,
    median_mad,
)
from nbaops.config import load_config
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = AnomalySettings(min_history=7, window_game_days=20, k=3.5, lookback_days=60)
TODAY = dt.date(2026, 1, 20)
# 19:00 UTC = 14:00 Eastern: the same calendar day in both zones.
AT = dt.time(19, 0)


def row(check: str, day: dt.date, value: float | None, service: str = "phase4-processors") -> dict:
    return {
        "check_name": check,
        "service": service,
        "run_at": dt.datetime.combine(day, AT, tzinfo=dt.UTC),
        "value": value,
    }


def result(value: float | int | str | None, verdict: Verdict = Verdict.PASS) -> CheckResult:
    return CheckResult(
        name="lines_coverage",
        service="phase4-processors",
        verdict=verdict,
        value=value,
        threshold="FAIL < 90%",
        message="coverage ok",
    )


def test_median_mad_hand_computed() -> None:
    # median 3; |x-3| = 2,1,0,1,97 -> MAD 1 (the outlier does not move it)
    assert median_mad([1, 2, 3, 4, 100]) == (3, 1)
    # even count: median (4+5)/2 = 4.5; deviations .5 x5, 2.5 x2, 4.5 -> MAD .5
    assert median_mad([2, 4, 4, 4, 5, 5, 7, 9]) == (4.5, 0.5)
    with pytest.raises(ValueError):
        median_mad([])


# History: 7 game days, coverage .95 .96 .97 .98 .99 .96 .97
# sorted .95 .96 .96 .97 .97 .98 .99 -> median .97; deviations 0 0 .01 .01 .01 .02 .02
# -> MAD .01, robust SD 1.4826 * .01 = .014826.
HISTORY_VALUES = [0.95, 0.96, 0.97, 0.98, 0.99, 0.96, 0.97]


def stats_of(values: list[float]) -> Stats:
    median, mad = median_mad(values)
    return Stats(median, mad, len(values), len(values))


def test_stats_of_the_reference_history() -> None:
    stats = stats_of(HISTORY_VALUES)
    assert stats.median == pytest.approx(0.97)
    assert stats.mad == pytest.approx(0.01)
    assert stats.score(0.62) == pytest.approx((0.62 - 0.97) / 0.014826)


def test_a_value_far_below_its_history_gets_a_note_even_when_it_passes() -> None:
    note = assess(0.62, stats_of(HISTORY_VALUES), SETTINGS)
    assert note is not None
    assert "below" in note and "0.97" in note and "7 game days" in note
    assert "23.6" in note  # (0.97 - 0.62) / 0.014826 = 23.61


def test_k_is_the_boundary() -> None:
    stats = stats_of(HISTORY_VALUES)
    # 0.9219: z = -3.244 (inside k=3.5); 0.918: z = -3.507 (outside)
    assert assess(0.9219, stats, SETTINGS) is None
    assert assess(0.918, stats, SETTINGS) is not None
    assert assess(0.99, stats, SETTINGS) is None  # z = +1.35
    assert "above" in (assess(1.03, stats, SETTINGS) or "")  # z = +4.05


def test_below_min_history_there_is_no_note() -> None:
    six_days = stats_of(HISTORY_VALUES[:6])
    assert assess(0.10, six_days, SETTINGS) is None
    assert assess(0.10, None, SETTINGS) is None


def test_min_history_counts_game_days_not_runs() -> None:
    # 4 runs a day on 2 game days = 8 samples, still only 2 game days.
    stats = Stats(median=0.97, mad=0.01, samples=8, game_days=2)
    assert assess(0.10, stats, SETTINGS) is None


def test_constant_history_notes_any_different_value() -> None:
    stats = stats_of([0.0] * 7)
    assert math.isinf(stats.score(1.0))
    assert "MAD 0" in (assess(1.0, stats, SETTINGS) or "")
    assert assess(0.0, stats, SETTINGS) is None


def game_days_and_rows() -> tuple[list[dt.date], list[dict]]:
    # Game days: every other day back from TODAY (7 of them before today, plus today).
    game_days = [TODAY - dt.timedelta(days=2 * i) for i in range(8)]
    rows = [row("lines_coverage", d, v) for d, v in zip(game_days[1:], HISTORY_VALUES, strict=True)]
    # Days without games carry wild values: they must not count.
    rows += [row("lines_coverage", TODAY - dt.timedelta(days=2 * i + 1), 0.0) for i in range(7)]
    return game_days, rows


def test_history_keeps_game_days_only() -> None:
    game_days, rows = game_days_and_rows()
    history = build_history(game_days, rows, today=TODAY, window_game_days=20)
    assert history.today_is_game_day
    stats = history.stats("lines_coverage", "phase4-processors")
    assert stats is not None
    assert (stats.median, stats.game_days, stats.samples) == (pytest.approx(0.97), 7, 7)


def test_history_window_is_the_last_n_game_days() -> None:
    game_days, rows = game_days_and_rows()
    history = build_history(game_days, rows, today=TODAY, window_game_days=4)
    assert history.game_days == game_days[:4]
    stats = history.stats("lines_coverage", "phase4-processors")
    assert stats is not None and stats.game_days == 3  # today has no sample yet


def test_history_groups_by_eastern_day() -> None:
    # 03:00 UTC on Jan 19 is 22:00 Eastern on Jan 18: it belongs to Jan 18.
    late = {
        "check_name": "c",
        "service": "s",
        "run_at": dt.datetime(2026, 1, 19, 3, 0, tzinfo=dt.UTC),
        "value": 1.0,
    }
    history = build_history([dt.date(2026, 1, 18)], [late], today=TODAY, window_game_days=5)
    assert history.samples[("c", "s")] == [(dt.date(2026, 1, 18), 1.0)]
    history = build_history([dt.date(2026, 1, 19)], [late], today=TODAY, window_game_days=5)
    assert ("c", "s") not in history.samples


def test_alert_ledger_rows_are_not_history() -> None:
    rows = [row("alert:lines_coverage", TODAY - dt.timedelta(days=2), 1.0)]
    history = build_history([TODAY - dt.timedelta(days=2)], rows, today=TODAY, window_game_days=5)
    assert history.samples == {}


def test_annotate_appends_the_note_to_message_and_details() -> None:
    game_days, rows = game_days_and_rows()
    history = build_history(game_days, rows, today=TODAY, window_game_days=20)
    original = result(0.62)
    out = annotate([original, result(0.97)], history, SETTINGS)
    assert out[0].details["anomaly"].startswith("anomaly: 0.62")
    assert out[0].message.startswith("coverage ok [anomaly: 0.62")
    assert out[0].verdict is Verdict.PASS  # a note, never a verdict change
    assert "anomaly" not in out[1].details
    assert "anomaly" not in original.details  # inputs are not mutated


def test_no_note_on_a_day_without_games() -> None:
    game_days, rows = game_days_and_rows()
    history = build_history(game_days[1:], rows, today=TODAY, window_game_days=20)
    assert not history.today_is_game_day
    assert "anomaly" not in annotate([result(0.10)], history, SETTINGS)[0].details


@pytest.mark.parametrize(
    "res",
    [
        result(None, Verdict.ERROR),
        result(0.10, Verdict.INCONCLUSIVE),
        result("n/a"),
        result(True),
    ],
)
def test_unmeasured_or_non_numeric_results_are_not_assessed(res: CheckResult) -> None:
    game_days, rows = game_days_and_rows()
    history = build_history(game_days, rows, today=TODAY, window_game_days=20)
    assert annotate([res], history, SETTINGS)[0] == res


def test_empty_history_is_no_note() -> None:
    history = History(game_days=[TODAY], today_is_game_day=True)
    assert annotate([result(0.1)], history, SETTINGS)[0].details == {}


def test_settings_come_from_the_alerts_section() -> None:
    config = load_config(ROOT / "nbaops.yaml", "local")
    settings = config.settings("alerts", AlertSettings).anomaly
    assert settings == AnomalySettings(min_history=7, window_game_days=20, k=3.5, lookback_days=60)
