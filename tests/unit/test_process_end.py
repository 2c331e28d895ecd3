"""An ``inv`` process ends without Python's teardown, but with everything an exit is for.

Each case runs a small child Python (the behaviour is the process's end, which a test
process cannot go through itself) and reads what it left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A module-level object whose __del__ speaks at Python's teardown.
TEARDOWN_WITNESS = """
class Witness:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")
witness = Witness()
"""


def child(code: str, *flags: str, argv: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python with buffered output, as a user's pipe or file gets
    it (``PYTHONUNBUFFERED`` would also make C's stdio unbuffered and hide a lost flush)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_end_process_waits_for_threads_runs_exit_handlers_and_flushes(tmp_path: Path) -> None:
    done = child(
        f"""
        import atexit, ctypes, sys, tempfile, threading, time
        from pathlib import Path
        from nbaops.cli.process_end import end_process
        out = Path({str(tmp_path)!r})

        def late_writer():
            time.sleep(0.1)  # still running when end_process is called
            (out / "thread").write_text("joined")

        threading.Thread(target=late_writer).start()
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        kept = tempfile.TemporaryDirectory(dir=out)  # removed by its weakref.finalize
        (out / "tmpdir").write_text(kept.name)
        sys.stdout.write("buffered, no newline")
        sys.stdout.flush()
        ctypes.CDLL(None).printf(b" + C stdio")  # a native extension's buffered output
        end_process(7)
        print("not reached")
        """
    )
    assert done.returncode == 7, done.stderr
    assert done.stdout == "buffered, no newline + C stdio"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not Path((tmp_path / "tmpdir").read_text()).exists()


def test_a_failing_exit_handler_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    done = child(
        f"""
        import atexit
        from pathlib import Path
        from nbaops.cli.process_end import end_process

        atexit.register(lambda: Path({str(tmp_path)!r}, "first").write_text("ran"))
        atexit.register(lambda: 1 / 0)  # registered last: runs first
        end_process(0)
        """
    )
    assert done.returncode == 0
    assert "ZeroDivisionError" in done.stderr
    assert (tmp_path / "first").read_text() == "ran"


PROGRAM = (
    """
import sys
from invoke import Collection, task
from invoke.exceptions import Exit
from nbaops.cli.program import NbaopsProgram
"""
    + TEARDOWN_WITNESS
    + """
@task
def fails(c):
    raise Exit(code=3)

@task
def passes(c):
    print("done")

program = NbaopsProgram(namespace=Collection(fails, passes), name="t", binary="inv")
program.ends_process = sys.argv[1] == "own"
program.run(["inv", sys.argv[2]])
"""
)


def run_program(mode: str, task: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return child(PROGRAM, *flags, argv=(mode, task))


def test_the_processs_own_program_exits_with_the_tasks_code_without_teardown() -> None:
    for task, code, out in (("fails", 3, ""), ("passes", 0, "done\n")):
        own = run_program("own", task)
        assert (own.returncode, own.stdout) == (code, out), own.stderr
        assert "teardown ran" not in own.stderr
        # a program run inside another process returns to Invoke's sys.exit: torn down
        embedded = run_program("embedded", task)
        assert (embedded.returncode, embedded.stdout) == (code, out), embedded.stderr
        assert "teardown ran" in embedded.stderr


def test_development_mode_keeps_pythons_teardown() -> None:
    done = run_program("own", "fails", "-X", "dev")
    assert done.returncode == 3
    assert "teardown ran" in done.stderr
