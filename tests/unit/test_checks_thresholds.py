"""The checks: config section: defaults < config < overrides, typed, typos rejected."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops.checks.measure import (
    above_tiers,
    below_tiers,
    count_tiers,
    duration_text,
    jsonable,
    pct,
)
from nbaops.checks.registry import ALL_SPECS
from nbaops.checks.spec import CheckParams, coerce
from nbaops.checks.thresholds import section_schema, thresholds_from_section
from nbaops.config import load_config
from nbaops.errors import ConfigError
from nbaops.report import format_pct
from nbaops.verdict import Verdict

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, checks: dict[str, Any]) -> Path:
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
    data["checks"] = checks
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_repository_config_sets_the_issue_thresholds() -> None:
    from nbaops.checks.thresholds import load_thresholds

    t = load_thresholds(load_config(REPO / "nbaops.yaml", "local"))
    lines = t.params("lines_coverage")
    assert (lines.fraction("fail_below"), lines.fraction("warn_below")) == (0.90, 0.95)
    assert t.params("error_logs").duration("window") == dt.timedelta(minutes=10)
    assert t.params("recent_predictions").duration("window") == dt.timedelta(hours=2)
    assert t.timeout_s > 0 and t.max_workers >= 1


def test_layers_merge_defaults_config_then_overrides() -> None:
    t = thresholds_from_section({"lines_coverage": {"warn_below": 0.97}})
    params = t.params("lines_coverage", {"fail_below": 0.8}, service="phase4-processors")
    assert params.fraction("fail_below") == 0.8  # call site
    assert params.fraction("warn_below") == 0.97  # config
    assert params.integer("top_missing") == 20  # default
    assert params.service == "phase4-processors"


def test_unknown_config_key_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"checks: lines_coverage.fail_belwo: unknown key"):
        thresholds_from_section({"lines_coverage": {"fail_belwo": 0.9}})
    with pytest.raises(ConfigError, match=r"checks: line_coverage: unknown key"):
        thresholds_from_section({"line_coverage": {}})


def test_unknown_override_key_names_where_it_came_from() -> None:
    t = thresholds_from_section({})
    with pytest.raises(ConfigError, match=r"services.x.post_deploy\[0\]: lines_coverage.fial"):
        t.params("lines_coverage", {"fial": 1}, where="services.x.post_deploy[0]")


@pytest.mark.parametrize(
    ("check", "key", "value"),
    [
        ("lines_coverage", "fail_below", 90),
        ("lines_coverage", "fail_below", True),
        ("error_logs", "window", "10 minutes"),
        ("error_logs", "warn_at", -1),
        ("lines_coverage", "game_date", "tomorrow"),
        ("recent_predictions", "batch_slots", "02:30"),
    ],
)
def test_values_of_the_wrong_kind_are_config_errors(check: str, key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"{check}.{key}"):
        thresholds_from_section({check: {key: value}})


def test_runner_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        thresholds_from_section({"timeout_s": 0})
    with pytest.raises(ConfigError, match="max_workers"):
        thresholds_from_section({"max_workers": 0})


def test_dates_resolve_against_the_pinned_eastern_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAOPS_NOW", "2025-01-16T03:00:00Z")  # 22:00 ET on the 15th
    params = thresholds_from_section({}).params("shot_zones")
    assert params.date("game_date") == dt.date(2025, 1, 14)  # "yesterday" in Eastern time
    assert CheckParams("x", {"game_date": "today"}).date() == dt.date(2025, 1, 15)
    assert CheckParams("x", {"game_date": dt.date(2024, 1, 1)}).date() == dt.date(2024, 1, 1)


def test_the_config_schema_of_the_section_is_the_one_derived_from_the_specs() -> None:
    """schemas/config.schema.json describes exactly the spec keys (regenerated, not typed)."""
    schema = json.loads((REPO / "schemas" / "config.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["checks"] == {"$ref": "#/$defs/checks"}
    assert schema["$defs"]["checks"] == section_schema()
    described = schema["$defs"]["checks"]["properties"]
    assert described["lines_coverage"]["properties"]["fail_below"]["maximum"] == 1
    assert set(described["daily_validation"]["properties"]) == set(
        ALL_SPECS["daily_validation"].keys
    )


def test_config_typo_fails_loading_with_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"lines_coverage": {"fail_below": "90%"}})
    with pytest.raises(ConfigError) as info:
        load_config(path, "local")
    assert "checks.lines_coverage.fail_below" in str(info.value)
    assert info.value.exit_code == 2


def test_repository_yaml_states_only_what_differs_from_the_spec_defaults() -> None:
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
    sections = [data.get("checks") or {}]
    sections += [(p.get("overrides") or {}).get("checks") or {} for p in data["profiles"].values()]
    for section in sections:
        for check, values in section.items():
            if check not in ALL_SPECS:
                continue  # runner keys (timeout_s, max_workers)
            for name, value in values.items():
                key = ALL_SPECS[check].keys[name]
                default = coerce(key.kind, key.default, name, key)
                assert coerce(key.kind, value, name, key) != default, f"{check}.{name}"


def test_tiers_and_formatting() -> None:
    assert below_tiers(0.62, 0.9, 0.95) is Verdict.FAIL
    assert below_tiers(0.94, 0.9, 0.95) is Verdict.WARN
    assert below_tiers(0.95, 0.9, 0.95) is Verdict.PASS
    assert above_tiers(0.03, 0.02, 0.0) is Verdict.FAIL
    assert above_tiers(0.01, 0.02, 0.0) is Verdict.WARN
    assert above_tiers(0.0, 0.02, 0.0) is Verdict.PASS
    assert (pct(0.9), pct(0.625), format_pct(0.62)) == ("90%", "62.5%", "62.0%")
    assert [duration_text(dt.timedelta(seconds=s)) for s in (600, 7200, 86400, 172800, 90)] == [
        "10m",
        "2h",
        "24h",
        "2d",
        "90s",
    ]


def test_a_threshold_never_rounds_onto_a_whole_percent_it_is_not() -> None:
    """A configured warn_below of 0.9996 read "WARN < 100.0%" (one decimal), beside a
    measured 99.95% that is WARN."""
    from nbaops.checks.measure import pct

    assert (pct(0.9996), pct(0.0004), pct(0.955), pct(0.95)) == ("99.96%", "0.04%", "95.5%", "95%")


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [
        (0.62, "62.0%"),
        (0.95, "95.0%"),
        (0.9496, "94.96%"),  # was "95.0%" in "coverage 95.0% < 95% (WARN)"
        (0.1004, "10.04%"),  # was "10.0%" beside "> 10% (FAIL)"
        (0.9996, "99.96%"),  # never "100.0%" when something is missing
        (19999 / 20000, "99.995%"),  # two decimals would round onto 100 too
        (0.94996, "94.996%"),
        (1 - 1e-7, "99.99999%"),
        (0.29, "29.0%"),  # 28.999999999999996 in floating point: a whole percent
        (1.0, "100.0%"),
    ],
)
def test_a_measured_percent_never_rounds_onto_a_whole_threshold(
    fraction: float, shown: str
) -> None:
    assert format_pct(fraction) == shown


@pytest.mark.parametrize(
    ("fraction", "stored"),
    [(0.9763, 97.63), (0.95, 95.0), (0.94996, 94.996), (19999 / 20000, 99.995), (0.29, 29.0)],
)
def test_a_stored_percent_never_rounds_onto_a_whole_threshold(
    fraction: float, stored: float
) -> None:
    """`value=` and history hold the same number: 94.996 stored as 95.0 showed "value=95%"
    beside "WARN < 95%"."""
    from nbaops.checks.measure import pct_value

    assert pct_value(fraction) == stored


@pytest.mark.parametrize(
    ("fraction", "thresholds", "shown", "stored"),
    [
        (0.52396, (0.524,), "52.396%", 52.396),  # was "52.4%" beside "WARN < 52.4%"
        (0.5244, (0.524,), "52.44%", 52.44),  # above it, not "52.4%" on it
        (0.524, (0.524,), "52.4%", 52.4),  # on it: shown on it
        (0.5239996, (0.5, 0.524), "52.39996%", 52.39996),
        (0.51, (0.5, 0.524), "51.0%", 51.0),  # away from both: as without thresholds
    ],
)
def test_a_percent_never_rounds_onto_or_across_a_threshold_it_is_judged_against(
    fraction: float, thresholds: tuple[float, ...], shown: str, stored: float
) -> None:
    """report.decimals kept a percent off whole numbers only: a configured 52.4% threshold
    (lines_coverage warn_below: 0.524) was met by a shown "52.4%" that is 52.396%."""
    from nbaops.checks.measure import pct_value
    from nbaops.report import value_text

    assert format_pct(fraction, *thresholds) == shown
    assert pct_value(fraction, *thresholds) == stored
    assert float(value_text(stored, "%").rstrip("%")) == stored  # value= shows it as stored


@pytest.mark.parametrize(
    ("section", "words"),
    [
        # a window or sample of 0 made the check blind: PASS during a grading stall
        ({"grading_completeness": {"window_days": 0}}, "window_days: 0 is below the minimum 1"),
        ({"error_logs": {"max_entries": 0}}, "max_entries: 0 is below the minimum 1"),
        ({"lines_coverage": {"min_expected_players": 0}}, "below the minimum 1"),
        # swapped tiers: the WARN tier could never be reached
        (
            {"lines_coverage": {"warn_below": 0.5, "fail_below": 0.99}},
            "lines_coverage: fail_below (0.99) is greater than warn_below (0.5)",
        ),
        ({"error_logs": {"warn_at": 20, "fail_at": 5}}, "warn_at (20) is greater than fail_at (5)"),
        # the run's own date bounds, at load (it was an ERROR and an alert at run time)
        ({"shot_zones": {"game_date": "2999-12-01"}}, "game_date: 2999-12-01 is more than a year"),
        ({"shot_zones": {"game_date": "1900-01-01"}}, "before the first NBA game day"),
        (
            {"processor_heartbeats": {"warn_age": "8h"}},  # the default fail_age is 6h
            "warn_age (8h) is greater than fail_age (6h)",
        ),
    ],
)
def test_a_setting_that_would_blind_a_check_is_a_config_error(
    section: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        thresholds_from_section(section)


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("game_date: 2999-12-01", "game_date: 2999-12-01 is more than a year"),
        ("game_date: 1900-01-01", "before the first NBA game day"),
        ("game_date: 2025-01-14 10:00:00", "is not a date (YYYY-MM-DD, today, yesterday)"),
    ],
)
def test_a_date_written_unquoted_in_a_post_deploy_entry_has_the_same_bounds(
    yaml_text: str, words: str
) -> None:
    """Unquoted, YAML reads ``2999-12-01`` as a date (and a time as a timestamp), not as
    text; the config schema types only the ``checks:`` section, so in a post_deploy entry
    it skipped the bounds checked at load: verify-deploy said INCONCLUSIVE (9999-12-31: an
    overflow ERROR) instead of the config error, exit 2."""
    from nbaops.yaml_load import load_bounded

    entry = load_bounded(yaml_text, "nbaops.yaml")
    where = "services.phase3-processors.post_deploy[0]"
    with pytest.raises(ConfigError, match=re.escape(words)):
        thresholds_from_section({}).params("shot_zones", entry, where=where)
    fine = load_bounded("game_date: 2024-11-01", "nbaops.yaml")
    assert thresholds_from_section({}).params("shot_zones", fine).date() == dt.date(2024, 11, 1)


def test_swapped_tiers_in_a_call_site_override_are_refused_too() -> None:
    """A post_deploy entry overrides the config: the merged values are what must hold."""
    t = thresholds_from_section({"lines_coverage": {"warn_below": 0.97}})
    with pytest.raises(ConfigError, match="WARN tier could never be reached"):
        t.params("lines_coverage", {"fail_below": 0.98}, where="post_deploy")
    assert t.params("lines_coverage", {"fail_below": 0.97}).values["fail_below"] == 0.97


def test_every_ordered_pair_names_two_keys_of_its_check() -> None:
    for spec in ALL_SPECS.values():
        for low, high in spec.ordered:
            assert {low, high} <= set(spec.keys), (spec.id, low, high)
            assert spec.keys[low].kind == spec.keys[high].kind


def test_a_value_at_a_tier_boundary_takes_the_milder_verdict() -> None:
    assert below_tiers(0.9, 0.9, 0.95) is Verdict.WARN  # FAIL only below 90%
    assert above_tiers(0.02, 0.02, 0.0) is Verdict.WARN  # FAIL only above 2%


def test_count_tiers_fail_and_warn_at_their_counts_and_nothing_is_never_a_problem() -> None:
    assert count_tiers(5, 5, 1) is Verdict.FAIL
    assert count_tiers(4, 5, 1) is Verdict.WARN
    assert count_tiers(1, 5, 1) is Verdict.WARN
    assert count_tiers(0, 5, 1) is Verdict.PASS
    assert count_tiers(0, 0, 0) is Verdict.PASS  # a limit under 1 counts as 1


def test_pct_drops_the_decimal_only_for_whole_percents() -> None:
    assert pct(0.900005) == "90.001%"  # not a whole percent: neither "90%" nor "90.0%"


def test_a_zero_duration_is_zero_seconds() -> None:
    assert duration_text(dt.timedelta(0)) == "0s"


def test_jsonable_writes_dates_and_timestamps_as_iso_text() -> None:
    row = {"day": dt.date(2024, 11, 1), "at": dt.datetime(2024, 11, 1, 23, 0), "n": 3}
    assert jsonable(row) == {"day": "2024-11-01", "at": "2024-11-01T23:00:00", "n": 3}
