"""The runner: one-line errors, exit codes, exactly one JSON document, --debug tracebacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbaops.cli.runner import run
from nbaops.context import Context
from nbaops.errors import CloudRunError, UnknownServiceError
from nbaops.report import CheckReport
from nbaops.verdict import CheckResult, Verdict


def report_of(*verdicts: Verdict) -> CheckReport:
    return CheckReport(
        "demo",
        [CheckResult(f"c{i}", "svc", v, i, "t", f"message {i}") for i, v in enumerate(verdicts)],
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ((Verdict.PASS, Verdict.WARN), 0),
        ((Verdict.PASS, Verdict.FAIL, Verdict.ERROR), 1),
        ((Verdict.PASS, Verdict.INCONCLUSIVE), 3),
    ],
)
def test_exit_code_follows_the_worst_verdict(verdicts: tuple[Verdict, ...], code: int) -> None:
    assert run(lambda ctx: report_of(*verdicts)) == code


def test_json_is_exactly_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(lambda ctx: report_of(Verdict.PASS), json_output=True) == 0
    out = capsys.readouterr().out
    document = json.loads(out)
    assert document["verdict"] == "PASS"
    assert document["checks"][0]["name"] == "c0"
    assert out.count("\n") == 1


def test_usage_error_is_one_line_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def action(ctx: Context) -> CheckReport:
        ctx.config.service("nope")
        raise AssertionError("unreachable")

    assert run(action) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: unknown service 'nope'; known services:")
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_adapter_error_with_json_still_prints_one_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def action(ctx: Context) -> CheckReport:
        raise CloudRunError("503 Service Unavailable")

    assert run(action, json_output=True) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "verdict": "ERROR",
        "error": "503 Service Unavailable",
        "exit_code": 3,
    }


def test_unexpected_exception_is_one_line_unless_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def action(ctx: Context) -> CheckReport:
        raise ZeroDivisionError("division by zero")

    assert run(action) == 3
    assert "Traceback" not in capsys.readouterr().err
    assert run(action, debug=True) == 3
    assert "Traceback" in capsys.readouterr().err


def test_unknown_profile_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(lambda ctx: report_of(Verdict.PASS), profile="staging") == 2
    assert "unknown profile 'staging'" in capsys.readouterr().err


def test_interrupt_is_130(capsys: pytest.CaptureFixture[str]) -> None:
    def action(ctx: Context) -> CheckReport:
        raise KeyboardInterrupt

    assert run(action) == 130
    assert "interrupted" in capsys.readouterr().err


def test_unknown_service_error_type_is_usage() -> None:
    assert UnknownServiceError("x", ["a"]).exit_code == 2
