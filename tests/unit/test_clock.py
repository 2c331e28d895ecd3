"""The pinned clock and the date/duration parsers used by every task flag."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from nbaops import clock
from nbaops.errors import UsageError


def test_nbaops_now_pins_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAOPS_NOW", "2026-11-25T03:00:00Z")
    assert clock.now() == dt.datetime(2026, 11, 25, 3, tzinfo=dt.UTC)
    # 03:00 UTC is still the evening of the 24th in New York: game dates are Eastern.
    assert clock.today_eastern() == dt.date(2026, 11, 24)
    assert clock.parse_date("yesterday") == dt.date(2026, 11, 23)


def test_bad_pinned_time_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAOPS_NOW", "tomorrow-ish")
    with pytest.raises(UsageError, match="NBAOPS_NOW"):
        clock.now()


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_a_pinned_time_far_from_any_season_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Year 1 or 9999 was accepted and every check then ERRORed with OverflowError."""
    monkeypatch.setenv("NBAOPS_NOW", moment)
    with pytest.raises(UsageError, match=r"NBAOPS_NOW: .* of years 1900-2999: year \d+"):
        clock.now()


# 20261130 and 2026-W48-1: date.fromisoformat reads them, the help says YYYY-MM-DD
@pytest.mark.parametrize("text", ["2026-13-01", "soon", "", "20261130", "2026-W48-1"])
def test_bad_date(text: str) -> None:
    with pytest.raises(UsageError, match="--date"):
        clock.parse_date(text)


def test_a_date_is_a_possible_game_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """--date 9999-12-31 overflowed in the checks' day arithmetic (an ERROR naming
    OverflowError); 0001-01-01 likewise. Game days run from the first NBA game to a year
    ahead of the clock."""
    monkeypatch.setenv("NBAOPS_NOW", "2026-12-01T12:00:00Z")
    with pytest.raises(UsageError, match="9999-12-31 is more than a year ahead"):
        clock.parse_date("9999-12-31")
    with pytest.raises(UsageError, match="before the first NBA game day"):
        clock.parse_date("0001-01-01", "--since")
    assert clock.parse_date("1946-11-01") == clock.FIRST_GAME_DAY
    assert clock.parse_date("2027-12-02") == dt.date(2027, 12, 2)
    with pytest.raises(UsageError, match="more than a year ahead"):
        clock.parse_date("2027-12-03")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("6h", 21600), ("2d", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert clock.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["6", "h", "-1h", "0h", "1w", "1.5h", "\u0663h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError, match="--window"):
        clock.parse_duration(text)


@pytest.mark.parametrize("text", ["3651d", "99999999999d", "9" * 5000 + "d"])
def test_a_duration_too_long_to_mean_anything_is_a_usage_error(text: str) -> None:
    """--window 99999999999d was an OverflowError ("internal error", exit 3), and 5,000
    digits hit Python's integer-conversion limit."""
    with pytest.raises(UsageError, match="is longer than 3650d"):
        clock.parse_duration(text)
    assert clock.parse_duration("3650d") == clock.MAX_DURATION
    assert clock.parse_duration("0006h").total_seconds() == 21600


def test_eastern_date_of_a_late_utc_moment_is_the_previous_day() -> None:
    assert clock.eastern_date(dt.datetime(2026, 11, 25, 3, tzinfo=dt.UTC)) == dt.date(2026, 11, 24)
    assert clock.eastern_date(dt.datetime(2026, 11, 25, 5, tzinfo=dt.UTC)) == dt.date(2026, 11, 25)


def test_as_utc_reads_rfc3339_text_and_datetimes_and_treats_naive_as_utc() -> None:
    from nbaops.clock import as_utc

    want = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
    for value in ("2026-11-25T15:00:00Z", " 2026-11-25T10:00:00-05:00 ", "2026-11-25T15:00:00",
                  dt.datetime(2026, 11, 25, 15, 0), want.astimezone(clock.EASTERN)):  # fmt: skip
        got = as_utc(value)
        assert got == want and got.tzinfo is dt.UTC, value
    with pytest.raises(ValueError):
        as_utc("yesterday")
    with pytest.raises(TypeError, match="expected a timestamp"):
        as_utc(dt.date(2026, 11, 25))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("127.0.0.1:9050", "it needs http:// or https://"),  # GCP_LOCAL.md's classic trap
        ("not a url", "it needs http:// or https://"),
        ("http://127.0.0.1:99999", "Port out of range"),
    ],
)
def test_an_endpoint_variable_must_be_an_endpoint_url(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    """It reached the client as 'cannot reach the API: InvalidSchema', exit 3: bad config
    read as an outage."""
    from nbaops import environment

    for name in (
        "NBAOPS_BQ_ENDPOINT",
        "NBAOPS_SECRETMANAGER_ENDPOINT",
        "NBAOPS_CLOUDBUILD_ENDPOINT",
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(UsageError, match=f"{name}: .*{re.escape(why)}"):
            environment.check()
        monkeypatch.setenv(name, "http://127.0.0.1:9050")
    environment.check()
