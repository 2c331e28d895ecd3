"""A deploy's progress lines are best effort: printing them can never stop the deploy."""

from __future__ import annotations

import pytest

from nbaops.deploy.progress import Progress
from nbaops.verdict import Verdict


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ValueError("closed file")])
def test_a_sink_that_fails_is_dropped_and_the_steps_go_on(error: Exception) -> None:
    """``inv deploy 2>&1 | head -1``: the stderr sink raised BrokenPipeError out of a
    step, so the deploy stopped between its traffic change and its observation, and the
    error path's own progress line raised again before the rollback. Now the sink is
    dropped and every step is still recorded."""
    printed: list[str] = []

    def sink(line: str, _style: str | None) -> None:
        if printed:
            raise error
        printed.append(line)

    progress = Progress(sink)
    progress.step("traffic", "100% to rev-2")
    progress.step("observe", "round 1", Verdict.PASS)  # the reader has gone
    progress.step("error", "boom", Verdict.ERROR)
    assert progress.sink is None
    assert len(printed) == 1 and [line.split("]", 1)[1].split()[0] for line in progress.lines] == [
        "traffic",
        "observe",
        "error",
    ]


def test_a_progress_line_never_prints_a_secret_or_a_terminal_sequence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A post-deploy check's message may quote a log line holding a token or an ESC
    sequence: the stderr line is redacted and escaped like every other output."""
    hook = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnopqrstuvwx"
    Progress.stderr().step("verify", f"error_logs: posted to {hook} \x1b]0;x\x07", Verdict.FAIL)
    err = capsys.readouterr().err
    assert "error_logs: posted to" in err
    assert "abcdefghijkl" not in err and "\x1b]" not in err and "\\x1b]0;x" in err


def test_a_progress_line_prints_the_message_as_it_is_not_as_emoji(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A check's message is data: Rich's console on stderr read emoji codes in it, so a
    log line quoting ``phase:new:ok`` or ``:warning:`` was printed as ``phase🆕ok`` and
    ``⚠`` (stderr_line, and every report console, read none)."""
    message = "error_logs: state:new:ok :warning: 12:30:45"
    Progress.stderr().step("verify", message, Verdict.WARN)
    err = capsys.readouterr().err
    assert err.endswith(f"{message}\n"), err
