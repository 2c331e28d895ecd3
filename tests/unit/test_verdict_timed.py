"""``CheckResult.timed``: the shared constructor for a check timed from a perf_counter start."""

from __future__ import annotations

import time

from nbaops.verdict import CheckResult, Verdict


def test_timed_measures_duration_from_started_and_keeps_every_field() -> None:
    started = time.perf_counter() - 1.5
    result = CheckResult.timed(
        "traffic",
        "prediction-worker",
        Verdict.PASS,
        "rev-2 now receives 10%",
        value=10,
        threshold="PATCH succeeds",
        query="run_v2 UpdateService prediction-worker traffic",
        started=started,
        details={"percent": 10},
    )
    assert result.name == "traffic"
    assert result.service == "prediction-worker"
    assert result.verdict is Verdict.PASS
    assert result.message == "rev-2 now receives 10%"
    assert result.value == 10
    assert result.threshold == "PATCH succeeds"
    assert result.query == "run_v2 UpdateService prediction-worker traffic"
    assert result.details == {"percent": 10}
    assert 1.5 <= result.duration_s < 60
    assert result.duration_s == round(result.duration_s, 3)


def test_timed_without_started_has_zero_duration_and_empty_defaults() -> None:
    result = CheckResult.timed("image", "grading-service", Verdict.FAIL, "no image")
    assert result.duration_s == 0.0
    assert result.value is None
    assert result.threshold == ""
    assert result.query == ""
    assert result.details == {}
    assert result.bytes_processed is None


def test_timed_keeps_sub_second_durations_to_the_millisecond() -> None:
    result = CheckResult.timed(
        "traffic", "prediction-worker", Verdict.PASS, "ok", started=time.perf_counter() - 0.25
    )
    assert 0.25 <= result.duration_s < 1.0
