"""A deploy (or a rollback: :class:`RollbackCall`) in a child process, the way ``inv deploy``
(``inv rollback``) runs it, started from a clean parent.

The children start from a ``forkserver`` (a fresh interpreter that forks them), not from
the pytest worker: gRPC does not support ``fork()`` once a process has created gRPC
objects ("pre-fork" usage, grpc/grpc ``doc/fork_support.md``), and a worker that ran a
Monitoring stand-in test (a gRPC server and channel) earlier has. Forked from such a
worker, a child's own Monitoring call could deadlock on the inherited gRPC state and hang
the suite. The fork server only imports modules, so its children start clean and still
skip the interpreter start-up. A child still running after ``timeout_s`` is killed and
its test fails with the child's output.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbaops.context import Context
from nbaops.deploy.deploy import DeployRequest

_SERVER = multiprocessing.get_context("forkserver")
# Imported once in the fork server, not per child (importing creates no gRPC channel,
# server or thread: only using them does).
_SERVER.set_forkserver_preload(
    [
        "worlds.forked_deploy",
        "nbaops.cli.runner",
        "nbaops.sandbox.world",
        "nbaops.local.standin",
        "nbaops.adapters.warehouse_duckdb",
        "google.cloud.run_v2",
        "google.cloud.monitoring_v3",
        "google.iam.v1.iam_policy_pb2",
        "_duckdb",
    ]
)
CHILD_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class RollbackCall:
    """``inv rollback --service S [--to REVISION]`` for a child to run."""

    service: str
    to: str | None = None


def sandbox_context(home: Path) -> Context:
    """A local context on ``home``: its stand-in, its DuckDB file, a Cloud Run client that
    fails fast (10 s, no retries): what the harness and its children deploy through."""
    from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
    from nbaops.local.standin import StandIn
    from nbaops.sandbox.world import HOOKS
    from worlds.deploy_world import REPO, local_context

    warehouse = DuckDBWarehouse(home / "warehouse.duckdb", root=REPO)
    return local_context(StandIn.start(home, HOOKS), warehouse)


def _child(home: str, env: dict[str, str], out: str, req: DeployRequest | RollbackCall) -> None:
    """The child: output to ``out``, the parent's environment, one deploy (or rollback);
    exits with the task's exit code (a crash point may kill it first)."""
    sys.settrace(None)  # a tracer inherited from the fork server would only cost CPU
    threading.settrace(None)
    code = 98
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        os.environ.clear()
        os.environ.update(env)
        from nbaops import clock
        from nbaops.cli.runner import run
        from nbaops.deploy import journal
        from nbaops.deploy.deploy import run_deploy
        from nbaops.deploy.rollback import run_rollback
        from nbaops.deploy.signals import terminate_as_interrupt
        from worlds.fake_clock import FakeClock

        journal.reset_crash_points()
        ctx = sandbox_context(Path(home))
        # a canary collects its metrics over rounds: on a fake clock that moves NBAOPS_NOW
        fake = FakeClock(wall=clock.now())

        def task(_ctx: object) -> object:
            with terminate_as_interrupt():
                if isinstance(req, RollbackCall):
                    return run_rollback(ctx, req.service, to=req.to)
                return run_deploy(ctx, req, sleep=fake.sleep, monotonic=fake.monotonic)

        code = run(task, json_output=True)
    except BaseException:
        code = 99
    finally:
        sys.stdout.flush()
        os._exit(code)


class ForkedDeploy:
    """A started child; :meth:`wait` returns its status encoded like ``os.waitpid``'s."""

    def __init__(
        self, home: Path, env: dict[str, str], out: Path, req: DeployRequest | RollbackCall
    ) -> None:
        self.out = out
        child_env = {**os.environ, **env}
        self.process = _SERVER.Process(target=_child, args=(str(home), child_env, str(out), req))
        self.process.start()

    def output_tail(self, chars: int = 2000) -> str:
        """The end of what the child printed ("(no output)" when it printed nothing)."""
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        return text[-chars:] or "(no output)"

    def wait(self, timeout_s: float = CHILD_TIMEOUT_S) -> int:
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            tail = self.output_tail()
            pytest.fail(f"deploy child still running after {timeout_s:g}s, killed:\n{tail}")
        code = self.process.exitcode
        assert code is not None
        return -code if code < 0 else code << 8  # WIFSIGNALED/WEXITSTATUS read it
