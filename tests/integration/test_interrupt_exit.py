"""Ctrl-C while a worker thread is inside a DuckDB query: the process exits 130.

A daemon thread still running a DuckDB query when the interpreter shuts down is ended by
a forced unwind that DuckDB's C++ swallows: the process aborted ("terminate called after
throwing an instance of ''", "FATAL: exception not rethrown", SIGABRT) instead of exiting
130 after `inv system-health` was interrupted. The runner now stops the local queries
first (``nbaops.adapters.warehouse.interrupt_local_queries``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from nbaops.adapters import warehouse_duckdb
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
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.cli.runner import run

wh = DuckDBWarehouse(Path(sys.argv[1]), root=Path({str(ROOT)!r}))

def long_query():
    try:
        wh.query({LONG!r})
    except Exception:
        pass

def action(ctx):
    threading.Thread(target=long_query, daemon=True).start()
    time.sleep(0.5)
    raise KeyboardInterrupt

sys.exit(run(action))
"""


def test_ctrl_c_with_a_query_running_in_a_worker_exits_130_not_abort(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "NBAOPS_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "wh.duckdb")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 130, done.stderr[-500:]
    assert done.stderr.strip() == "nbaops: interrupted", done.stderr[-500:]


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
    while not any(c.active for c in warehouse_duckdb._CONNECTIONS.values()):
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.01)
    assert warehouse_duckdb.interrupt_all(wait_s=10) is True
    worker.join(5)
    assert not worker.is_alive() and errors == ["query interrupted"]
