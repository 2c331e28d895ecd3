"""The verdict vocabulary and its exit-code contract."""

from __future__ import annotations

import pytest

from nbaops.verdict import CheckResult, Verdict, exit_code_for, worst


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.PASS, Verdict.PASS], Verdict.PASS),
        ([Verdict.PASS, Verdict.WARN], Verdict.WARN),
        ([Verdict.WARN, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([Verdict.INCONCLUSIVE, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.FAIL, Verdict.PASS], Verdict.FAIL),
    ],
)
def test_worst_orders_by_severity(verdicts: list[Verdict], expected: Verdict) -> None:
    assert worst(verdicts) is expected


def test_nothing_measured_is_never_pass() -> None:
    assert worst([]) is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        (Verdict.PASS, 0),
        (Verdict.WARN, 0),
        (Verdict.FAIL, 1),
        (Verdict.INCONCLUSIVE, 3),
        (Verdict.ERROR, 3),
    ],
)
def test_exit_code_contract(verdict: Verdict, code: int) -> None:
    assert exit_code_for(verdict) == code


def test_error_result_keeps_the_error_text_and_is_not_pass() -> None:
    result = CheckResult.error(
        "lines_coverage", "phase4-processors", TimeoutError("took 30s\nmore")
    )
    assert result.verdict is Verdict.ERROR
    assert result.value is None
    assert result.message == "TimeoutError: took 30s"
    assert result.to_json()["verdict"] == "ERROR"


def test_error_result_keeps_query_and_threshold_and_clips_a_long_message() -> None:
    result = CheckResult.error(
        "lines_coverage",
        "phase4-processors",
        RuntimeError("word " * 200),
        query="SELECT 1",
        threshold="FAIL < 90%",
    )
    assert result.verdict is Verdict.ERROR
    assert result.query == "SELECT 1"
    assert result.threshold == "FAIL < 90%"
    assert len(result.message) <= 500
    assert result.message.startswith("RuntimeError: word word")
    assert result.message.endswith("…")
