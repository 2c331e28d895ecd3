"""`inv ... | head` (and a hook's): a reader that stops reading cuts the output, never adds a
traceback or changes the exit code; and `inv TASK --help` shows help even for a task whose first
argument is positional (Invoke handed `--help` to it: `inv sandbox.sql --help` ran SQL).

Whole ``inv`` processes: the broken pipe is the operating system's (a pipe whose read end
is closed before the process starts, so every write fails with EPIPE).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from worlds.closed_streams import with_output_closed
from worlds.sandbox import sandbox_home

ROOT = Path(__file__).resolve().parents[2]


NOW = "2026-01-14T17:00:00Z"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NBAOPS_HOME": str(tmp_path / "home"), "NBAOPS_NOW": NOW}
    env.pop("NBAOPS_PROFILE", None)
    return env


def _into_closed_pipe(tmp_path: Path, module: str, *args: str) -> tuple[int, str]:
    """``python -m module args`` with a stdout nobody reads: (exit code, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=_env(tmp_path),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


def _inv(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--list",),
        ("--help", "deploys"),
        ("regression", "--golden"),
        ("regression", "--golden", "--json"),
        ("sandbox.sql", "SELECT game_id FROM `nba_raw.games`"),  # rows streamed past capture
        ("check-lines",),
    ],
    ids=["list", "task-help", "report", "json", "streamed-rows", "check"],
)
def test_a_closed_stdout_keeps_the_exit_code_and_prints_no_traceback(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, args: tuple[str, ...]
) -> None:
    if args[0] in ("sandbox.sql", "check-lines"):
        sandbox_home(tmp_path_factory, tmp_path / "home", NOW)
    expected = _inv(tmp_path, *args)
    assert expected.stdout, "the command prints something: the pipe case is exercised"
    code, err = _into_closed_pipe(tmp_path, "invoke", *args)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == expected.returncode, err


@pytest.mark.parametrize(
    "args",
    [
        ("regression", "--golden", "--json"),
        ("check-lines",),
        ("--list",),  # printed by the program, not a task
        ("docs.reference", "--check"),  # a task without a context (no runner)
    ],
)
def test_a_stdout_on_a_full_disk_is_one_line_and_never_a_success(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, args: tuple[str, ...]
) -> None:
    """``inv deploy ... > /dev/full``: the ENOSPC of the report's write went up through
    Invoke as a traceback and exit 1 (a FAIL, "rolled back", after a deploy that had
    succeeded). The work is done as without the redirection; the lost report is one line
    and a success becomes 3 (README, exit codes); a FAIL keeps its 1."""
    if args[0] == "check-lines":
        sandbox_home(tmp_path_factory, tmp_path / "home", NOW)
    expected = _inv(tmp_path, *args)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=ROOT,
            env=_env(tmp_path),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "could not be written to stdout: No space left on device" in proc.stderr
    assert proc.returncode == (expected.returncode or 3), proc.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_after_a_task_with_a_positional_argument_shows_the_help(
    tmp_path: Path, flag: str
) -> None:
    shown = _inv(tmp_path, "sandbox.sql", flag)
    assert shown.returncode == 0, shown.stderr
    assert "Run BigQuery SQL on the sandbox warehouse" in shown.stdout
    assert "--query" in shown.stdout and shown.stderr == ""
    assert not (tmp_path / "home").exists(), "help built no sandbox"


def test_a_hook_into_a_closed_stdout_keeps_its_exit_code(tmp_path: Path) -> None:
    """The pre-commit hooks print through one runner (hooks.run): the same contract."""
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "a", "type": "STRANG"}]', encoding="utf-8")
    assert _into_closed_pipe(tmp_path, "hooks.bq_schema_lint", str(bad)) == (1, "")


LATER = "2026-01-14T17:40:00Z"  # the sandbox copy built for NOW is stale: it is refreshed


def test_closed_standard_streams_still_run_the_task_with_its_exit_code(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A cron line ending ``>&- 2>&-``: Python starts with no sys.stdout/sys.stderr. The
    checks ran as 12 ERRORs (the refresh's note on stderr failed) with an alert each, or
    not at all ("internal error: ... isatty"), exit 3; now the task runs as usual and only
    its output is lost (nbaops.stdio puts /dev/null in their place)."""
    sandbox_home(tmp_path_factory, tmp_path / "home", NOW)
    env = {**_env(tmp_path), "NBAOPS_NOW": LATER}

    proc = subprocess.run(
        with_output_closed([sys.executable, "-m", "invoke", "check-lines"]),
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0
    shown = subprocess.run(
        [sys.executable, "-m", "invoke", "check-lines", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0 and '"verdict": "PASS"' in shown.stdout, shown.stderr


def test_a_reader_that_leaves_stderr_does_not_stop_the_work(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``inv deploy ... 2>&1 | head -1``: once the reader is gone every stderr write
    fails (EPIPE). A progress line or the refresh's note raising BrokenPipeError stopped
    the work half done (a deploy's rollback never ran); now the rest of stderr goes
    nowhere and the task finishes with its own exit code."""
    sandbox_home(tmp_path_factory, tmp_path / "home", NOW)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "check-lines", "--json"],
            cwd=ROOT,
            env={**_env(tmp_path), "NBAOPS_NOW": LATER},
            stdout=subprocess.PIPE,
            stderr=write_end,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0 and '"verdict": "PASS"' in proc.stdout


@pytest.mark.parametrize("args", [("--list",), ("--help", "validate-daily")])
def test_an_ascii_only_output_gets_escapes_not_a_usage_error(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """``PYTHONIOENCODING=ascii``: the arrows in the help were a UnicodeEncodeError, which
    the flag parser reported as "bad flag value" (exit 2) with the output cut off."""
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env={**_env(tmp_path), "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\\u2192" in proc.stdout and proc.stderr == ""
