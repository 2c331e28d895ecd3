"""The checks: section at its edges: every kind rejects the wrong type with the key's name,
call sites may pass already-typed values, and a missing parameter names the check."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nbaops.checks.spec import CheckParams, coerce
from nbaops.checks.thresholds import thresholds_from_section
from nbaops.errors import ConfigError


@pytest.mark.parametrize(
    ("check", "key", "value", "message"),
    [
        ("grading_completeness", "lag_warn_hours", -1, "is not a non-negative number"),
        ("grading_completeness", "lag_warn_hours", "12", "is not a non-negative number"),
        ("error_logs", "window", 600, "is not a duration such as 90s"),
        ("shot_zones", "game_date", 20250115, "is not a date"),
        ("error_logs", "min_severity", "", "is not a non-empty string"),
        # was accepted, then every error_logs check (and a deploy's observation) ERRORed
        ("error_logs", "min_severity", "BOGUS", "is not a Cloud Logging severity \\(DEFAULT,"),
        ("recent_predictions", "batch_slots", ["7:00"], "is not a time HH:MM"),
        ("error_logs", "min_severity", "Warning", "is not a Cloud Logging severity"),
        ("batch_errors", "real_lines_mode", ["REAL_LINES_ONLY"], "is not a non-empty string"),
    ],
)
def test_each_kind_rejects_a_value_of_another_type(
    check: str, key: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"checks: {check}\.{key}: .*{message}"):
        thresholds_from_section({check: {key: value}})


def test_a_check_entry_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ConfigError, match="checks: error_logs: must be a mapping of thresholds"):
        thresholds_from_section({"error_logs": 10})


def test_unknown_check_id_lists_the_known_checks() -> None:
    with pytest.raises(ConfigError, match=r"unknown check 'line_coverage'; known checks: .*"):
        thresholds_from_section({}).params("line_coverage")


def test_call_sites_may_pass_typed_durations_and_dates() -> None:
    t = thresholds_from_section({})
    params = t.params(
        "error_logs", {"window": dt.timedelta(minutes=3)}, service="prediction-worker"
    )
    assert params.duration("window") == dt.timedelta(minutes=3)
    assert coerce("date", dt.date(2025, 1, 2), "x.game_date") == dt.date(2025, 1, 2)


def test_durations_kept_as_text_parse_when_read() -> None:
    params = CheckParams("error_logs", {"window": "90s"})
    assert params.duration("window") == dt.timedelta(seconds=90)


def test_reading_a_parameter_the_check_does_not_have_names_the_check() -> None:
    params = thresholds_from_section({}).params("error_logs")
    with pytest.raises(KeyError, match="error_logs: no parameter 'fail_below'"):
        params.fraction("fail_below")


def test_a_lower_case_severity_still_reads() -> None:
    """Both the check and the Logging filter upper-case it: "warning" always worked."""
    params = thresholds_from_section({"error_logs": {"min_severity": "warning"}}).params(
        "error_logs", service="grading-service"
    )
    assert params.text("min_severity") == "warning"


@pytest.mark.parametrize("level", [0, 0.0, 0.3, 1, 1.0])
def test_a_confidence_level_the_wilson_interval_cannot_use_is_a_config_error(
    level: float,
) -> None:
    """model_hit_rate.confidence_level 1.0 (or 0) passed the config and the schema, then
    every run of the check was ERROR "confidence must be in (0, 1)" (exit 3, an alert on
    each system-health run): it is bad input, refused once with the key (exit 2), within
    the same bounds as regression.confidence_level (at least 0.5, under 1)."""
    with pytest.raises(ConfigError, match=r"checks: model_hit_rate\.confidence_level: "):
        thresholds_from_section({"model_hit_rate": {"confidence_level": level}})


def test_a_usable_confidence_level_is_accepted_and_the_schema_states_its_bounds() -> None:
    from nbaops.checks.thresholds import section_schema

    for level in (0.5, 0.8, 0.99, 0.999):
        params = thresholds_from_section({"model_hit_rate": {"confidence_level": level}})
        assert params.params("model_hit_rate").fraction("confidence_level") == level
    described = section_schema()["properties"]["model_hit_rate"]["properties"]
    assert described["confidence_level"]["minimum"] == 0.5
    assert described["confidence_level"]["exclusiveMaximum"] == 1
    assert "maximum" not in described["confidence_level"]
