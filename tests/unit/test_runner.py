"""The runner: one-line errors, exit codes, exactly one JSON document, --debug tracebacks."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from nbaops.cli.runner import run
from nbaops.context import Context
from nbaops.errors import CloudRunError, ConfigError, UnknownServiceError
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


def test_ctrl_c_once_the_json_document_is_out_adds_no_second_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C just after the report's JSON document was written (before the task
    returned) printed the "interrupted" document after it: two documents on stdout, which
    no JSON reader takes. The interruption is still 130 and its line; stdout keeps the one
    document it has."""
    from nbaops.cli import runner

    real, calls = runner.write_stdout, []

    def then_ctrl_c(text: str) -> None:
        real(text)
        calls.append(text)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "write_stdout", then_ctrl_c)
    assert run(lambda ctx: report_of(Verdict.PASS), json_output=True) == 130
    out, err = capsys.readouterr()
    assert json.loads(out)["verdict"] == "PASS" and err == "nbaops: interrupted\n"

    # the next run (a second task of the same command) still gets its own document
    def interrupted(ctx: Context) -> CheckReport:
        raise KeyboardInterrupt

    assert run(interrupted, json_output=True) == 130
    assert json.loads(capsys.readouterr().out)["error"] == "interrupted"


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "nbaops: interrupted\n"),
        (ConfigError("docs/x.md: not UTF-8 text"), 2, "nbaops: error: docs/x.md: not UTF-8 text\n"),
        (OSError("disk on fire"), 3, "nbaops: error: internal error: OSError: disk on fire\n"),
    ],
    ids=["ctrl-c", "bad-input", "unexpected"],
)
def test_a_task_without_a_profile_keeps_the_exit_code_contract(
    capsys: pytest.CaptureFixture[str], raised: BaseException, code: int, line: str
) -> None:
    """``inv docs.reference`` (no profile, no runner) let Invoke handle what its body
    raised: Ctrl-C exited 1 ("a check failed", or "stale" under --check) and an error
    printed a traceback."""
    from invoke import Context as InvokeContext
    from invoke.exceptions import Exit

    from nbaops.cli.task import nbaops_task

    def body() -> int:
        raise raised

    task = nbaops_task("nbaops.docs_reference.main", context=False)(body)
    with pytest.raises(Exit) as stopped:
        task(InvokeContext())
    assert stopped.value.code == code
    assert capsys.readouterr().err == line


def test_ctrl_c_that_a_library_turned_into_its_own_error_is_still_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DuckDB running in the main thread catches Ctrl-C and raises "Query interrupted":
    `inv regression` interrupted that way printed "internal error" and exited 3."""
    import signal

    class QueryInterrupted(Exception):
        pass

    def action(ctx: Context) -> CheckReport:
        try:
            signal.raise_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        except KeyboardInterrupt:
            raise QueryInterrupted("INTERRUPT Error: Query interrupted") from None
        raise AssertionError("the signal was not delivered")

    # as in a terminal (an xdist worker ignores SIGINT: its controller takes Ctrl-C)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert run(action) == 130
        assert capsys.readouterr().err == "nbaops: interrupted\n"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, outer)

    from nbaops.errors import ctrl_c_noted

    told: list[bool] = []

    def swallowed(ctx: Context) -> CheckReport:
        """A warm-up that ignores any failure (system-health's): the interrupted sandbox
        build went on in a check thread and the run exited 0."""
        # DuckDB's "Query interrupted", then `except Exception: pass`
        with contextlib.suppress(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        told.append(ctrl_c_noted())  # code that swallows errors can still tell
        return CheckReport("all PASS after Ctrl-C", [])

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert run(swallowed) == 130
        assert capsys.readouterr().err == "nbaops: interrupted\n"
        assert told == [True] and not ctrl_c_noted()  # cleared when the run ends
    finally:
        signal.signal(signal.SIGINT, outer)

    def failing(ctx: Context) -> CheckReport:
        raise QueryInterrupted("a real failure, no Ctrl-C")

    assert run(failing) == 3  # without Ctrl-C an error stays an error
    assert "internal error: QueryInterrupted: a real failure" in capsys.readouterr().err


def test_unknown_service_error_type_is_usage() -> None:
    assert UnknownServiceError("x", ["a"]).exit_code == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NBAOPS_NOW", "garbage"),
        ("NBAOPS_NOW", "2026-13-01T00:00:00Z"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "abc"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "-5"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "nan"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "0"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "inf"),
        ("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", "9" * 20),  # no upper bound: waited forever
        ("NBAOPS_HOME", "a-file"),
        ("NBAOPS_HOME", "a-file/below/it"),
        ("NBAOPS_HOME", "loop"),  # a symlink to itself: exists() is False, an internal error
    ],
)
def test_a_malformed_environment_variable_is_bad_input_before_the_task_runs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    name: str,
    value: str,
) -> None:
    """Not an ERROR verdict from whichever check reads it first (a thread's traceback
    on stderr, exit 3): one line naming the variable, exit 2, the action never called."""
    if name == "NBAOPS_HOME" and value.startswith("a-file"):  # a file, or a path below one
        (tmp_path / "a-file").write_text("", encoding="utf-8")
        value = str(tmp_path / value)
    if value == "loop":
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        value = str(tmp_path / value)
    monkeypatch.setenv(name, value)
    called: list[Context] = []
    assert run(lambda ctx: called.append(ctx) or report_of(Verdict.PASS)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbaops: error: {name}: {value!r} is not ") and err.count("\n") == 1
    assert called == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_state_folder_that_cannot_be_created_is_bad_input_even_as_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """NBAOPS_HOME=/proc/nbaops passed the check for root (``os.access`` says yes to root
    in /proc, where no folder can be made): ``inv system-health`` then ran every check to
    an ERROR ("FileNotFoundError: ... '/proc/nbaops'", 12 alerts, exit 3) and
    ``sandbox.status`` was an "internal error". The folder's creation is tried, not
    guessed: one line naming the variable, exit 2, the action never called, nothing left
    behind."""
    import os

    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: True)  # as root sees it
    monkeypatch.setenv("NBAOPS_HOME", "/proc/nbaops-state")
    called: list[Context] = []
    assert run(lambda ctx: called.append(ctx) or report_of(Verdict.PASS)) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: NBAOPS_HOME: '/proc/nbaops-state' is not a folder")
    assert err.count("\n") == 1 and called == []
    assert not Path("/proc/nbaops-state").exists()


def test_a_state_folder_nbaops_can_create_is_checked_without_creating_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The check proves the folder can be made and leaves nothing behind (bad input, or
    a check alone, changes nothing)."""
    from nbaops import environment

    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "new" / "state"))
    environment.check()
    assert list(tmp_path.iterdir()) == []


def test_well_formed_environment_variables_are_read_as_their_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime as dt

    from nbaops import clock, environment

    monkeypatch.setenv("NBAOPS_NOW", "2026-11-25T10:00:00-05:00")
    monkeypatch.setenv("NBAOPS_WAREHOUSE_LOCK_TIMEOUT", " 2.5 ")
    environment.check()
    assert clock.now() == dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)
    assert environment.typed("NBAOPS_WAREHOUSE_LOCK_TIMEOUT") == 2.5
    monkeypatch.setenv("NBAOPS_NOW", "2026-11-25T15:00:00")  # naive: UTC
    assert clock.now() == dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)
    monkeypatch.delenv("NBAOPS_WAREHOUSE_LOCK_TIMEOUT")
    assert environment.typed("NBAOPS_WAREHOUSE_LOCK_TIMEOUT") is None


def test_the_state_folder_is_the_one_nbaops_home_was_checked_as(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """NBAOPS_HOME='~/state' (quoted, or set by CI) passed the check as ~/state, but the
    state went to a folder literally named '~' below the current one; ' /x' (a stray
    space) went to './ /x'."""
    from nbaops.paths import state_home

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBAOPS_HOME", "~/state")
    assert state_home(tmp_path / "repo") == tmp_path / "state"
    monkeypatch.setenv("NBAOPS_HOME", f" {tmp_path}/other ")
    assert state_home(tmp_path / "repo") == tmp_path / "other"
    monkeypatch.setenv("NBAOPS_HOME", "  ")  # blank is unset: not the current folder
    assert state_home(tmp_path / "repo") == tmp_path / "repo" / ".nbaops"


def test_every_path_variable_expands_home_and_strips_as_nbaops_home_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """NBAOPS_CONFIG, NBAOPS_ROOT and NBAOPS_DATA kept a quoted '~' (a folder literally
    named '~' below the current one: "config not found"), a stray space became part of
    the path and a blank value was the current folder, while NBAOPS_HOME had expanded and
    stripped since its own fix: one convention for every path variable."""
    from nbaops.config import load_config
    from nbaops.paths import project_root, shared_data_dir

    repo = project_root()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "nbaops.yaml").write_bytes((repo / "nbaops.yaml").read_bytes())
    monkeypatch.setenv("NBAOPS_CONFIG", " ~/cfg/nbaops.yaml ")
    assert load_config(profile="local").path == tmp_path / "cfg" / "nbaops.yaml"
    monkeypatch.setenv("NBAOPS_ROOT", "~/proj")
    assert project_root() == tmp_path / "proj"
    monkeypatch.setenv("NBAOPS_ROOT", f" {tmp_path}/proj ")
    assert project_root() == tmp_path / "proj"
    monkeypatch.setenv("NBAOPS_DATA", "~/nba ")
    assert shared_data_dir(tmp_path / "repo") == tmp_path / "nba"
    monkeypatch.setenv("NBAOPS_DATA", "  ")  # blank is unset: not the current folder
    assert shared_data_dir(tmp_path / "repo") == tmp_path / "shared" / "data" / "nba"


@pytest.mark.parametrize("name", ["NBAOPS_CONFIG", "NBAOPS_ROOT", "NBAOPS_HOME", "NBAOPS_DATA"])
def test_a_home_of_no_known_user_is_bad_input(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """'~nosuchuser/x' made expanduser raise RuntimeError: an internal error (exit 3) for
    NBAOPS_HOME, a folder literally named '~nosuchuser' for the others."""
    monkeypatch.setenv(name, "~nbaops-no-such-user/x")
    assert run(lambda ctx: report_of(Verdict.PASS)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbaops: error: {name}: '~nbaops-no-such-user/x' is not ")


def test_an_error_echoing_a_huge_value_stays_a_readable_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pasted file as --service is named in the error, not printed in full."""

    def action(ctx: Context) -> CheckReport:
        ctx.config.service("a" * 5000)
        raise AssertionError("unreachable")

    assert run(action, json_output=True) == 2
    out, err = capsys.readouterr()
    assert err.startswith("nbaops: error: unknown service 'aaaa") and err.count("\n") == 1
    assert len(err) < 1100 and "more characters)" in err
    assert json.loads(out)["error"] == err.removeprefix("nbaops: error: ").rstrip("\n")


ESCAPES = "v9\x1b]0;pwned\x07\x1b[2J\rPASS\x9b"  # retitle, clear screen, overwrite, 8-bit CSI


def test_control_characters_from_the_data_are_escaped_in_text_not_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A model version or a warehouse message holding an ESC sequence must not drive the
    operator's terminal: the report and the error line show it escaped; --json keeps the
    string as it is (JSON escapes it)."""
    report = CheckReport("demo", [CheckResult("c", "svc", Verdict.PASS, 1, "t", ESCAPES)])
    assert run(lambda ctx: report) == 0
    out = capsys.readouterr().out
    assert "v9\\x1b]0;pwned" in out and "\\x1b[2J" in out and "PASS\\x9b" in out
    assert not any(c in out for c in "\x1b\x07\r\x9b")

    assert run(lambda ctx: report, json_output=True) == 0
    assert json.loads(capsys.readouterr().out)["checks"][0]["message"] == ESCAPES

    def failing(ctx: Context) -> CheckReport:
        raise CloudRunError(f"revision {ESCAPES} not found")

    assert run(failing) == 3
    err = capsys.readouterr().err
    assert "revision v9\\x1b]0;pwned" in err and "\x1b" not in err and err.count("\n") == 1


class _BrokenReport(CheckReport):
    """A report whose printing is interrupted or fails (as Ctrl-C or a bug would)."""

    error: BaseException = KeyboardInterrupt()

    def render(self, console: Any) -> None:
        raise self.error

    def to_json(self) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize("json_output", [False, True])
def test_ctrl_c_or_a_bug_while_the_report_prints_keeps_the_contract(
    json_output: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while a long report printed escaped the runner (Invoke exits 1 for it: "a
    check failed"); a report that could not render was a traceback."""
    report = _BrokenReport("demo", [])
    assert run(lambda ctx: report, json_output=json_output) == 130
    assert capsys.readouterr().err == "nbaops: interrupted\n"

    report.error = ValueError("cannot format 'x'")
    assert run(lambda ctx: report, json_output=json_output) == 3
    out, err = capsys.readouterr()
    assert err == "nbaops: error: internal error: ValueError: cannot format 'x'\n"
    if json_output:
        assert json.loads(out)["verdict"] == "ERROR"


def test_brackets_and_colons_in_the_data_are_text_on_a_terminal_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal the report is a Rich table, whose text cells Rich read as markup: a
    message quoting '[/tmp/x]' raised MarkupError (no report), '[red]' vanished into a
    colour and ':fire:' became an emoji."""
    monkeypatch.setenv("FORCE_COLOR", "1")  # the terminal's console, though captured
    monkeypatch.setenv("COLUMNS", "250")
    message = "log: [red]ERROR[/red] in [/tmp/x] :fire:"
    result = CheckResult("c", "svc", Verdict.FAIL, 1, "[b]t", message)
    assert run(lambda ctx: CheckReport("demo", [result])) == 1
    out = capsys.readouterr().out
    assert "┏━" in out  # the table
    assert "[red]ERROR[/red] in [/tmp/x] :fire:" in out and "[b]t" in out


@pytest.mark.parametrize("json_output", [False, True])
def test_an_unexpected_error_names_its_type(
    json_output: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A KeyError's message is only the key: the line was "internal error: 'x'", which
    said nothing about what went wrong. The type is named, on stderr and in the JSON."""

    def lookup(ctx: Context) -> CheckReport:
        raise KeyError("x")

    assert run(lookup, json_output=json_output) == 3
    out, err = capsys.readouterr()
    assert err == "nbaops: error: internal error: KeyError: 'x'\n"
    if json_output:
        assert json.loads(out)["error"] == "internal error: KeyError: 'x'"
