"""Anomaly notes: robust z-scores against hand-computed cases, min history, annotation.

The statistics themselves (median and MAD over game days only, computed in the warehouse)
are tested against the local warehouse in tests/integration/test_history.py."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from nbaops.alerts.settings import AlertSettings
from nbaops.anomaly import AnomalySettings, History, Stats, annotate, assess
from nbaops.config import load_config
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = AnomalySettings(min_history=7, window_game_days=20, k=3.5, lookback_days=60)
TODAY = dt.date(2026, 1, 20)


def result(value: float | int | str | None, verdict: Verdict = Verdict.PASS) -> CheckResult:
    return CheckResult(
        name="lines_coverage",
        service="phase4-processors",
        verdict=verdict,
        value=value,
        threshold="FAIL < 90%",
        message="coverage ok",
    )


# History: 7 game days, coverage .95 .96 .97 .98 .99 .96 .97
# sorted .95 .96 .96 .97 .97 .98 .99 -> median .97; deviations 0 0 .01 .01 .01 .02 .02
# -> MAD .01, robust SD 1.4826 * .01 = .014826 (the warehouse's answer for these values:
# tests/integration/test_history.py::test_median_and_mad_come_from_the_warehouse).
REFERENCE = Stats(median=0.97, mad=0.01, samples=7, game_days=7)


def test_score_of_the_reference_history() -> None:
    assert REFERENCE.score(0.62) == pytest.approx((0.62 - 0.97) / 0.014826)


def test_a_value_far_below_its_history_gets_a_note_even_when_it_passes() -> None:
    note = assess(0.62, REFERENCE, SETTINGS)
    assert note is not None
    assert "below" in note and "0.97" in note and "7 game days" in note
    assert "23.6" in note  # (0.97 - 0.62) / 0.014826 = 23.61


def test_k_is_the_boundary() -> None:
    stats = REFERENCE
    # 0.9219: z = -3.244 (inside k=3.5); 0.918: z = -3.507 (outside)
    assert assess(0.9219, stats, SETTINGS) is None
    assert assess(0.918, stats, SETTINGS) is not None
    assert assess(0.99, stats, SETTINGS) is None  # z = +1.35
    assert "above" in (assess(1.03, stats, SETTINGS) or "")  # z = +4.05


def test_a_score_just_past_k_is_not_shown_as_k() -> None:
    """0.918 is z = -3.507, past k = 3.5: the note read "3.5 robust SDs below ... (k 3.5)",
    a score on the limit it must exceed; now "3.51"."""
    note = assess(0.918, REFERENCE, SETTINGS) or ""
    assert " is 3.51 robust SDs below " in note and "k 3.5)" in note, note
    assert " is 23.6 robust SDs " in (assess(0.62, REFERENCE, SETTINGS) or "")


def test_below_min_history_there_is_no_note() -> None:
    six_days = Stats(median=0.965, mad=0.01, samples=6, game_days=6)
    assert assess(0.10, six_days, SETTINGS) is None
    assert assess(0.10, None, SETTINGS) is None


def test_min_history_counts_game_days_not_runs() -> None:
    # 4 runs a day on 2 game days = 8 samples, still only 2 game days.
    stats = Stats(median=0.97, mad=0.01, samples=8, game_days=2)
    assert assess(0.10, stats, SETTINGS) is None


def test_constant_history_notes_any_different_value() -> None:
    stats = Stats(median=0.0, mad=0.0, samples=7, game_days=7)
    assert math.isinf(stats.score(1.0))
    assert "MAD 0" in (assess(1.0, stats, SETTINGS) or "")
    assert assess(0.0, stats, SETTINGS) is None


def test_the_note_never_shows_a_value_as_its_median() -> None:
    """A coverage of 100% on every game day (MAD 0) and 99.996% today: the note read
    "anomaly: 100 differs from its median 100" (four significant digits each); likewise a
    tiny MAD made "0.95 is 5.4 robust SDs above its median 0.95". Both keep the digits that
    tell them apart."""
    constant = Stats(median=100.0, mad=0.0, samples=7, game_days=7)
    note = assess(99.996, constant, SETTINGS) or ""
    assert note.startswith("anomaly: 99.996 differs from its median 100 "), note
    tiny = Stats(median=0.95, mad=1e-6, samples=7, game_days=7)
    note = assess(0.950008, tiny, SETTINGS) or ""
    assert note.startswith("anomaly: 0.95001 is 5.4 robust SDs above its median 0.95 "), note
    assert "(MAD 1e-06, k 3.5)" in note
    # the common case keeps four significant digits
    assert (assess(0.918, REFERENCE, SETTINGS) or "").startswith("anomaly: 0.918 is ")


def history(*, today_is_game_day: bool = True) -> History:
    days = [TODAY - dt.timedelta(days=2 * i) for i in range(8)]
    stats = {("lines_coverage", "phase4-processors"): REFERENCE}
    return History(game_days=days, today_is_game_day=today_is_game_day, stats=stats)


def test_annotate_appends_the_note_to_message_and_details() -> None:
    original = result(0.62)
    out = annotate([original, result(0.97)], history(), SETTINGS)
    assert out[0].details["anomaly"].startswith("anomaly: 0.62")
    assert out[0].message.startswith("coverage ok [anomaly: 0.62")
    assert out[0].verdict is Verdict.PASS  # a note, never a verdict change
    assert "anomaly" not in out[1].details
    assert "anomaly" not in original.details  # inputs are not mutated


def test_no_note_on_a_day_without_games() -> None:
    off_day = history(today_is_game_day=False)
    assert "anomaly" not in annotate([result(0.10)], off_day, SETTINGS)[0].details


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
    assert annotate([res], history(), SETTINGS)[0] == res


def test_empty_history_is_no_note() -> None:
    empty = History(game_days=[TODAY], today_is_game_day=True)
    assert annotate([result(0.1)], empty, SETTINGS)[0].details == {}


def test_settings_come_from_the_alerts_section() -> None:
    config = load_config(ROOT / "nbaops.yaml", "local")
    settings = config.settings("alerts", AlertSettings).anomaly
    assert settings == AnomalySettings(min_history=7, window_game_days=20, k=3.5, lookback_days=60)


@pytest.mark.parametrize(
    ("anomaly", "message"),
    [
        ({"min_history": 30}, r"alerts\.anomaly\.min_history: 30 is more than window_game_days"),
        ({"lookback_days": 10}, r"alerts\.anomaly\.window_game_days: 20 game days do not fit"),
    ],
)
def test_settings_under_which_no_note_could_ever_be_made_are_a_config_error(
    anomaly: dict[str, int], message: str
) -> None:
    """The schema bounds each key alone; together they must leave room for a note (a
    min_history above the window silently switched the notes off)."""
    from nbaops.errors import ConfigError
    from nbaops.settings import load_section

    with pytest.raises(ConfigError, match=message) as info:
        load_section({"anomaly": anomaly}, AlertSettings, "alerts")
    assert info.value.exit_code == 2
