"""Ctrl-C while a worker thread is inside a DuckDB query: the process exits 130.

A daemon thread still running a DuckDB query when the interpreter shuts down is ended by
a forced unwind that DuckDB's C++ swallows: the process aborted ("terminate called after
throwing an instance of ''", "FATAL: exception not rethrown", SIGABRT) instead of exiting
130 after `inv system-health` was interrupted. The runner now stops the local queries
first (``nbaops.adapters.warehouse.interrupt_local_queries``), and no DuckDB call starts
after that: a thread still building its SQL when Ctrl-C came (the race that made the first
test abort now and then under load) gets an error instead of entering DuckDB during the
shutdown.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nbaops.adapters import duckdb_files
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.errors import WarehouseError

ROOT = Path(__file__).resolve().parents[2]
LONG = (
    "SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 100000)) AS x "
    "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 100000)) AS y"
)

SCRIPT = f"""
import sys, threading, time
from pathlib import Path
from nbaops.adapters import duckdb_files
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.cli.runner import run
from nbaops.report import CheckReport

wh = DuckDBWarehouse(Path(sys.argv[1]), root=Path({str(ROOT)!r}))

def long_query():
    try:
        wh.query({LONG!r})
    except Exception:
        if sys.argv[2] == "report-slow-unwind":  # as a loaded machine makes it
            time.sleep(0.3)
            Path(sys.argv[1] + ".unwound").write_text("the thread ended its error")

def action(ctx):
    threading.Thread(target=long_query, daemon=True).start()
    while not any(c.active for c in duckdb_files._CONNECTIONS.values()):
        time.sleep(0.01)  # the query is running in DuckDB now
    if sys.argv[2] == "ctrl-c":
        raise KeyboardInterrupt
    return CheckReport("ends while a timed-out check is still querying", [])

sys.exit(run(action))
"""


def _run_script(tmp_path: Path, ending: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NBAOPS_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "wh.duckdb"), ending],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ctrl_c_with_a_query_running_in_a_worker_exits_130_not_abort(tmp_path: Path) -> None:
    done = _run_script(tmp_path, "ctrl-c")
    assert done.returncode == 130, done.stderr[-500:]
    assert done.stderr.strip() == "nbaops: interrupted", done.stderr[-500:]


def test_a_normal_exit_with_a_query_still_running_exits_with_the_report_code(
    tmp_path: Path,
) -> None:
    # A check past checks.timeout_s is reported ERROR while its thread is still inside
    # DuckDB; the process then ended with SIGABRT (134, "FATAL: exception not rethrown")
    # instead of the report's exit code. The warehouse stops its queries at exit.
    done = _run_script(tmp_path, "report")
    assert done.returncode == 3, done.stderr[-500:]
    assert "FATAL" not in done.stderr and "terminate called" not in done.stderr


def test_the_exit_waits_for_an_interrupted_thread_to_end_its_error(tmp_path: Path) -> None:
    # Out of DuckDB's call, the interrupted thread still holds its cursor in the frames of
    # the error it unwinds; freed there while the interpreter shut down, DuckDB's
    # destructor was unwound by the exiting thread: SIGABRT as above (gdb on a core of the
    # same race with a timer thread, 2026-12-02). The exit now waits for such a thread.
    done = _run_script(tmp_path, "report-slow-unwind")
    assert done.returncode == 3, done.stderr[-500:]
    assert (tmp_path / "wh.duckdb.unwound").exists()


def test_interrupt_all_ends_a_running_query_and_waits_for_it(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb", root=ROOT)
    errors: list[str] = []

    def long_query() -> None:
        try:
            wh.query(LONG)
        except WarehouseError as exc:
            errors.append(str(exc))

    worker = threading.Thread(target=long_query, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while not any(c.active for c in duckdb_files._CONNECTIONS.values()):
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.01)
    assert duckdb_files.interrupt_all(wait_s=10) is True
    worker.join(5)
    assert not worker.is_alive() and errors == ["query interrupted"]


def test_no_duckdb_call_starts_once_the_process_is_ending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A check thread that reaches the warehouse only after Ctrl-C was handled, or after
    # the report was printed: it must not open the file or query while the interpreter
    # shuts down (what atexit's interrupt_all(refuse_new=True) is for).
    monkeypatch.setattr(duckdb_files, "_STOPPED", False)  # restored after the test
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb", root=ROOT)
    assert duckdb_files.interrupt_all(wait_s=1) is True  # the runner's Ctrl-C call
    assert wh.query("SELECT 1 AS x").rows == [{"x": 1}]  # in-process callers go on
    assert duckdb_files.interrupt_all(wait_s=1, refuse_new=True) is True
    with pytest.raises(WarehouseError, match="interrupted, no new query starts"):
        wh.query("SELECT 1 AS x")
    assert duckdb_files._IN_FLIGHT == 0


def test_interrupt_all_waits_for_a_thread_still_opening_the_file(tmp_path: Path) -> None:
    # Inside hold() but not yet in a query (opening the file, making a cursor): counted, so
    # interrupt_all does not return while that thread is still in DuckDB's code.
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb", root=ROOT)
    shared = wh._conn
    inside, release = threading.Event(), threading.Event()

    def opening() -> None:
        with shared.hold():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=opening, daemon=True)
    worker.start()
    assert inside.wait(10)
    assert duckdb_files.interrupt_all(wait_s=0.2) is False  # still inside: not done
    release.set()
    worker.join(5)
    assert duckdb_files.interrupt_all(wait_s=1) is True
