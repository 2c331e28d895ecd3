"""The bqemulator readiness probe reaches 127.0.0.1 even when a proxy is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from worlds.http_fake import FakeServer, Request

from nbaops import bq_emulator


def test_probe_reaches_loopback_despite_a_dead_http_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def route(request: Request) -> tuple[int, object]:
        seen.append(request.path)
        return 200, {"kind": "bigquery#datasetList"}

    dead = f"http://127.0.0.1:{bq_emulator.free_port()}"  # nothing listens there
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with FakeServer(route) as server:
        assert bq_emulator._ready(server.url)
    assert seen == ["/bigquery/v2/projects/probe/datasets"]


def test_probe_says_not_ready_when_nothing_listens() -> None:
    assert not bq_emulator._ready(f"http://127.0.0.1:{bq_emulator.free_port()}")


def test_a_failed_start_prints_the_log_line_masked_and_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error quotes the emulator's last log line: it went to stderr as it was, an
    escape sequence from the log (here one retitling the terminal) and a token unmasked."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_s3cr3tT0k3nV4lue")
    python = _venv(
        tmp_path,
        "#!/bin/sh\nprintf 'boom \\033]0;pwned\\007 with ghp_s3cr3tT0k3nV4lue\\n'\nexit 1\n",
    )
    code = bq_emulator.main(
        ["--python", str(python), "--workdir", str(tmp_path / "w"), "--", "true"]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "bqemulator exited with 1: boom \\x1b]0;pwned\\x07 with *** (log: " in err
    assert "\x1b" not in err and "s3cr3t" not in err


def _venv(tmp_path: Path, bqemulator: str) -> Path:
    """A venv whose ``python`` names a DuckDB version and a spatial extension, and whose
    ``bqemulator`` is the script ``bqemulator``; its ``python``."""
    extension = tmp_path / "spatial.duckdb_extension"
    extension.write_bytes(b"")
    venv = tmp_path / "venv"
    venv.mkdir()
    python = venv / "python"
    python.write_text(f"#!/bin/sh\necho 1.1.0\necho {extension}\n", encoding="utf-8")
    emulator = venv / "bqemulator"
    emulator.write_text(bqemulator, encoding="utf-8")
    python.chmod(0o755)
    emulator.chmod(0o755)
    return python


def _fake_emulator(tmp_path: Path) -> Path:
    """A venv whose ``bqemulator`` answers HTTP on the ``--rest-port`` it is given, until
    it is stopped."""
    import sys

    return _venv(
        tmp_path,
        f"#!{sys.executable}\n"
        "import http.server, sys\n"
        "port = int(sys.argv[sys.argv.index('--rest-port') + 1])\n"
        "class Ok(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'{}')\n"
        "    def log_message(self, *args):\n"
        "        pass\n"
        "http.server.HTTPServer(('127.0.0.1', port), Ok).serve_forever()\n",
    )


def test_the_command_keeps_its_own_double_dashes_and_one_that_cannot_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the ``--`` that ends nbaops' own arguments is dropped: every ``--`` of the
    command was (``pytest -- tests/x.py``, ``git log -- path``, a shell's ``sh -c ... --``
    lost theirs). A command that cannot be started is bad input, one line and exit 2: it
    was a FileNotFoundError traceback."""
    python = _fake_emulator(tmp_path)
    out = tmp_path / "args"
    script = 'printf "%s|" "$@" > "$0"'
    code = bq_emulator.main(
        ["--python", str(python), "--workdir", str(tmp_path / "w"), "--"]
        + ["sh", "-c", script, str(out), "a", "--", "b"]
    )
    assert code == 0
    assert out.read_text(encoding="utf-8") == "a|--|b|"
    capsys.readouterr()
    code = bq_emulator.main(
        ["--python", str(python), "--workdir", str(tmp_path / "w"), "--", "no-such-command-x"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("nbaops: error: cannot run no-such-command-x: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_while_the_command_runs_is_one_line_and_130(tmp_path: Path) -> None:
    """``python -m nbaops.bq_emulator`` interrupted printed a KeyboardInterrupt traceback
    (and died of SIGINT) instead of the tasks' "nbaops: interrupted" and 130; the command
    and the emulator are still stopped."""
    import os
    import signal
    import subprocess
    import sys

    python = _fake_emulator(tmp_path)  # answers the readiness probe on its --rest-port
    command = [sys.executable, "-m", "nbaops.bq_emulator", "--python", str(python)]
    command += ["--workdir", str(tmp_path / "w"), "--", "sh", "-c", "echo started; exec sleep 30"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert "bqemulator ready" in proc.stdout.readline()
        # as a terminal sends Ctrl-C: to the whole process group, here while the command is
        # being spawned. With subprocess.run the command was lost about once in a few
        # hundred runs (it joined the group after the signal, and the KeyboardInterrupt
        # came inside Popen()): it ran on and this test waited out its 30 s.
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, err) == (130, "nbaops: interrupted\n")


_CTRL_C_TO_US_ONLY = """
import os, signal, sys, threading, time
from pathlib import Path
from nbaops.bq_emulator import run_foreground

pid_file = Path(sys.argv[1])
def interrupt_us_once_the_command_runs():
    while not pid_file.exists() or not pid_file.read_text().strip():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)  # to us alone, as when the Ctrl-C came before the spawn
threading.Thread(target=interrupt_us_once_the_command_runs, daemon=True).start()
script = 'echo $$ > "$0"; exec sleep 30'
try:
    run_foreground(["sh", "-c", script, str(pid_file)], os.environ, grace_s=0.2)
except KeyboardInterrupt:
    child = int(pid_file.read_text())
    try:
        os.kill(child, 0)
        print("command still running")
    except ProcessLookupError:
        print("command stopped")
"""


def test_a_ctrl_c_that_only_we_received_still_stops_the_command(tmp_path: Path) -> None:
    """A Ctrl-C that reached us before the command joined the process group is raised in
    us once the command exists: the command is sent SIGINT after the grace period and
    reaped, so it never runs on after we have exited."""
    import subprocess
    import sys

    pid_file = tmp_path / "pid"
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_TO_US_ONLY, str(pid_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "command stopped\n", done.stderr


def test_the_command_runs_with_sigint_unblocked_and_its_exit_code_is_ours(
    tmp_path: Path,
) -> None:
    """SIGINT is blocked in us while the command is spawned; the command itself must not
    inherit that mask (exec keeps it), or a Ctrl-C would never reach it."""
    import os
    import signal
    import sys

    status = tmp_path / "status"
    # the command's own status (a shell would clear the mask for the programs it forks)
    script = "import shutil, sys; shutil.copy('/proc/self/status', sys.argv[1]); sys.exit(7)"
    code = bq_emulator.run_foreground([sys.executable, "-c", script, str(status)], os.environ)
    assert code == 7
    lines = status.read_text().splitlines()
    masks = dict(line.split(":\t", 1) for line in lines if line.startswith("Sig"))
    sigint = 1 << (signal.SIGINT - 1)
    assert int(masks["SigBlk"], 16) & sigint == 0
    assert int(masks["SigIgn"], 16) & sigint == 0
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == set()  # ours is restored


_CTRL_C_JUST_AFTER_THE_REAP = """
import linecache, os, sys
from nbaops import bq_emulator

def tracer(frame, event, arg):
    if frame.f_code is not bq_emulator.run_foreground.__code__:
        return None
    def line(frame, event, arg):
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if event == "line" and text == "pid = None":  # waitpid has returned: the command is reaped
            raise KeyboardInterrupt
        return line
    return line

sys.settrace(tracer)
try:
    bq_emulator.run_foreground(["sh", "-c", "exit 3"], os.environ, grace_s=0.2)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_ctrl_c_raised_just_after_the_command_was_reaped_is_still_an_interrupt(
    tmp_path: Path,
) -> None:
    """A group Ctrl-C can end the command and reach us while we are in ``waitpid``; Python
    raises the KeyboardInterrupt once the call has returned, so the command is already
    reaped. Waiting for it again failed with ECHILD, which ``main`` printed as "cannot run
    sh: No child processes" and exit 2 instead of "nbaops: interrupted" and 130 (seen in
    CI). The trace function raises the interrupt at exactly that point, every run."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_JUST_AFTER_THE_REAP],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.stdout, done.stderr) == ("interrupted\n", "")
