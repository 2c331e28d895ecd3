"""The BigQuery engine when the API cannot be reached or never answers: a bounded ERROR.

The client's defaults retry a connection error for 10 minutes (40 for a job) and send
requests without a timeout: `inv system-health --profile prod` sat silent past any
schedule, and a check said "timed out after 60s (raise checks.timeout_s)" for an endpoint
that refused every connection. Each test runs against 127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.errors import WarehouseError

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_endpoint_that_refuses_connections_is_reported_unreachable_at_once() -> None:
    warehouse = BigQueryWarehouse("p", endpoint=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(WarehouseError, match="BigQuery query: cannot reach the API"):
        warehouse.query("SELECT 1 AS x", timeout_s=60)


def test_an_endpoint_that_never_answers_is_bounded_by_the_call_time(silent_endpoint: str) -> None:
    warehouse = BigQueryWarehouse("p", endpoint=silent_endpoint, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(WarehouseError, match="BigQuery"):
        warehouse.table_schema("nba_raw.games")
    with pytest.raises(WarehouseError, match="BigQuery query"):
        warehouse.query("SELECT 1 AS x", timeout_s=0.5)
    assert time.monotonic() - started < 60  # was: 10 minutes per call, then more


def test_a_task_on_an_unreachable_warehouse_exits_3_not_hangs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NBAOPS_HOME": str(tmp_path / "home"),
        "NBAOPS_BQ_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "deploys", "--profile", "prod"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # hung for 10+ minutes
        check=False,
    )
    assert done.returncode == 3, done.stderr
    # the report's ERROR line (deploys still lists what is spooled locally below it)
    assert "BigQuery query: cannot reach the API" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_reply_that_is_not_the_apis_is_an_error_not_an_internal_error() -> None:
    """`{}` where a job was expected: the client's KeyError 'jobReference' escaped as an
    internal error. A KeyError of nbaops' own code still is one (a bug)."""
    from worlds.http_fake import FakeServer

    with FakeServer(lambda _request: (200, {})) as server:
        warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=10)
        with pytest.raises(WarehouseError, match="the reply could not be read \\(KeyError"):
            warehouse.query("SELECT 1 AS x")

    from nbaops.adapters.errors import google_call

    def ours() -> None:
        raise KeyError("a bug in nbaops")

    with pytest.raises(KeyError):
        google_call("BigQuery", "query", ours, error=WarehouseError)


def test_a_server_that_hangs_after_the_job_started_is_bounded_cancel_included() -> None:
    """The network drops mid-query: jobs.insert answered, every later request hangs. The
    query times out on time, and the job cancel after it (a job left running still bills)
    is bounded too: it ran with the client's default 10-minute retry and no timeout, so
    validate-daily, `inv deploys` and deploy recovery hung after the query had failed."""
    from worlds.http_fake import FakeServer

    release = threading.Event()
    cancels: list[str] = []

    def route(request: Any) -> tuple[int, Any]:
        if request.method == "POST" and request.path.endswith("/jobs"):
            body = request.json()
            ref = {**body.get("jobReference", {"projectId": "p", "jobId": "j1"}), "location": "US"}
            job = {"configuration": body.get("configuration", {}), "status": {"state": "RUNNING"}}
            return 200, {**job, "jobReference": ref}
        if request.path.endswith("/cancel"):
            cancels.append(request.path)
        release.wait(120)  # a hung server from here on
        return 503, {}

    outcome: list[BaseException] = []

    def run(warehouse: BigQueryWarehouse) -> None:
        try:
            warehouse.query("SELECT 1 AS x", timeout_s=1)
        except BaseException as exc:  # the test inspects it
            outcome.append(exc)

    with FakeServer(route) as server:
        try:
            worker = threading.Thread(
                target=run, args=(BigQueryWarehouse("p", endpoint=server.url, timeout_s=1),)
            )
            worker.daemon = True
            worker.start()
            worker.join(60)
            assert not worker.is_alive(), "query() still blocked (in the job cancel)"
        finally:
            release.set()
    (error,) = outcome
    assert isinstance(error, WarehouseError) and "BigQuery query" in str(error)
    assert cancels, "the started job was asked to stop"


@pytest.mark.parametrize(
    "reason", ["quotaExceeded", "rateLimitExceeded", "billingNotEnabled", "blocked"]
)
def test_a_quota_403_is_not_a_permission_denied(reason: str) -> None:
    """BigQuery answers a quota or rate limit, a project without billing and an operation
    it blocks for a while with HTTP 403 and the reason in error.errors[0].reason
    (troubleshoot-quotas; the error table of troubleshooting-errors): it was read as
    "permission denied" and the doctor failed it (exit 1) with "grant this identity the
    role ..." (billingNotEnabled and blocked until this round)."""
    from worlds.http_fake import FakeServer

    from nbaops.adapters.errors import PermissionDeniedError
    from nbaops.doctor import PERMISSION_FIX, _Probe

    message = "Quota exceeded: Your project exceeded quota for free query bytes scanned."
    body = {
        "error": {
            "code": 403,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": "PERMISSION_DENIED",
        }
    }
    with FakeServer(lambda _request: (403, body)) as server:
        warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=0.5)
        with pytest.raises(WarehouseError) as raised:  # a rate limit: retried for 0.5 s
            warehouse.query("SELECT 1 AS x", timeout_s=0.5)
    error = raised.value
    assert not isinstance(error, PermissionDeniedError)
    assert "permission denied" not in str(error)
    # a rate limit is retried (bounded_retry) until the call's deadline, a quota is not
    said = "gave up retrying" if reason == "rateLimitExceeded" else f"HTTP 403 {reason}"
    assert said in str(error)

    def body_raising(_probe: _Probe) -> Any:
        raise error

    result = _Probe("dataset", "*", "create it", "datasets.get").run(body_raising)
    assert result.verdict == "ERROR"  # nothing proved about the caller's roles
    assert result.details["fix"] != PERMISSION_FIX


def test_a_403_without_a_limit_reason_stays_a_permission_denied() -> None:
    from worlds.http_fake import FakeServer, google_error

    from nbaops.adapters.errors import PermissionDeniedError

    reply = google_error(403, "PERMISSION_DENIED", "Access Denied: Project p: User does not have")
    with FakeServer(lambda _request: reply) as server:
        warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=2)
        with pytest.raises(PermissionDeniedError, match="permission denied"):
            warehouse.query("SELECT 1 AS x", timeout_s=2)


def test_schema_diff_of_a_table_without_a_file_names_the_unreachable_warehouse(
    tmp_path: Path,
) -> None:
    """``schema-diff --live --table T`` for a table no schema file declares asks the
    warehouse whether T still exists: unreachable, that was "unknown table" (exit 2), a
    wrong answer; it is the cause (exit 3)."""
    env = {
        **os.environ,
        "NBAOPS_HOME": str(tmp_path / "home"),
        "NBAOPS_BQ_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
    }
    command = ["schema-diff", "--live", "--table", "nba_raw.gone", "--profile", "prod"]
    done = subprocess.run(
        [sys.executable, "-m", "invoke", *command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "cannot reach the API" in out and "unknown table" not in out
    assert "Traceback" not in out
