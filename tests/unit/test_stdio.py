"""The process's standard streams (nbaops.stdio), in child processes: what a shell, cron
or CI hands the process is real file descriptors, which a test's capture would hide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(script: str) -> subprocess.CompletedProcess[str]:
    """``python -c script`` with stdout and stderr pipes, and C's stdout buffered as on
    any pipe (no PYTHONUNBUFFERED)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_users_code_prints_to_stderr_even_through_buffers() -> None:
    """``inv regression --model M --json``: a native library's printf (C's buffer, full on
    a pipe) and a write to the real stdout object were still buffered when stdout was put
    back, and came out after the JSON document: flushed into stderr while it is stderr."""
    shown = _python(
        "import ctypes, json, sys\n"
        "from nbaops import stdio\n"
        "stdio.prepare()\n"
        "print('before', flush=False)\n"
        "with stdio.stdout_to_stderr():\n"
        "    ctypes.CDLL(None).printf(b'native printf says hi\\n')\n"
        "    print('to __stdout__', file=sys.__stdout__)\n"
        "    print('plain print')\n"
        "print(json.dumps({'doc': 1}))\n"
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == 'before\n{"doc": 1}\n'
    for line in ("native printf says hi", "to __stdout__", "plain print"):
        assert line in shown.stderr


def test_closed_descriptors_become_dev_null_and_files_never_take_their_numbers() -> None:
    """``>&- 2>&-``: Python starts without sys.stdout/sys.stderr, and the next file
    opened would take descriptor 1 (its writes landing in that file). After prepare()
    both are /dev/null and printing works (exit 3: the check itself failed)."""
    script = (
        "import os, sys\n"
        "from nbaops import stdio\n"
        "assert sys.stdout is None and sys.stderr is None\n"
        "stdio.prepare()\n"
        "print('into the void')\n"
        "sys.stderr.write('also nowhere\\n')\n"
        "fd = os.open(os.devnull, os.O_RDONLY)\n"
        "sys.exit(0 if fd > 2 else 3)\n"
    )
    # closed by the shell, not by a preexec_fn (tests/worlds/closed_streams.py says why)
    closed = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" >&- 2>&-', "sh", sys.executable, "-c", script],
        cwd=ROOT,
        timeout=60,
    )
    assert closed.returncode == 0


def test_a_full_stdout_loses_the_rest_and_settles_a_success_as_3() -> None:
    """``> /dev/full``: a write or flush failing with ENOSPC raised out of print (a deploy
    that had succeeded ended in a traceback and exit 1). Now the stream is silenced, the
    work goes on, and settle() says in one line (once, however often it is called) that
    the report was not delivered: a success becomes 3, a FAIL stays 1; a reader that went
    away (EPIPE) changes nothing."""
    script = (
        "import errno, io, sys\n"
        "from nbaops import stdio\n"
        "class Full(io.StringIO):\n"
        "    def fileno(self): return sys.__stdout__.fileno()\n"
        "    def write(self, s): raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "class Gone(Full):\n"
        "    def write(self, s): raise BrokenPipeError(errno.EPIPE, 'Broken pipe')\n"
        "real = sys.__stdout__\n"
        "gone = stdio.ForgivingStream(Gone())\n"
        "gone.write('cut short on purpose')\n"
        "assert stdio.settle(0) == 0\n"
        "full = stdio.ForgivingStream(Full())\n"
        "full.write('the report'); full.flush()\n"
        "print('work goes on', file=sys.stderr)\n"
        "assert stdio.settle(0) == 3 and stdio.settle(1) == 1\n"
    )
    shown = _python(script)
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    assert "work goes on" in shown.stderr
    assert shown.stderr.count("could not be written to stdout: No space left on device") == 1
    assert shown.stdout == ""  # the descriptor was sent to /dev/null once it failed
