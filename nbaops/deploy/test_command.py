"""The pre-deploy test command, run as a process group that is stopped whole.

``deploy.test_command`` often starts more processes: ``nox`` runs ``pytest``, which may run
workers or an emulator. Run with ``subprocess.run``, a timeout killed the command alone, and
its children ran on, orphaned. And a Ctrl-C or SIGTERM during the checklist is raised in the
main thread, which then waited for the checklist's threads before it could leave, so for the
test command, up to ``deploy.test_timeout_s`` (900 s by default), before the deploy wrote its
``interrupted`` row (a CI runner sends SIGKILL a few seconds after its SIGTERM). Here the
command leads its own process group (``start_new_session``), and both its timeout and
:meth:`TestCommands.stop` (called when the checklist is interrupted) signal the whole group:
SIGTERM, then SIGKILL after :data:`GRACE_S`. A command the interrupt came before is never
started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence

# Seconds a stopped test command's processes get to exit on SIGTERM before SIGKILL.
GRACE_S = 3.0


class Stopped(Exception):
    """The checklist was interrupted before the test command started: it was not started."""


class TestCommands:
    """Test commands of one checklist; :meth:`stop` ends those running and any to come."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._stopped = False

    def run(
        self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str], timeout_s: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to its end with its output captured (an argument list, no shell).

        Raises:
            FileNotFoundError: the command does not exist.
            subprocess.TimeoutExpired: it ran past ``timeout_s``; its group was stopped.
            Stopped: :meth:`stop` came first; nothing was started.
        """
        with self._lock:  # stop() either sees this command or it is never started
            if self._stopped:
                raise Stopped
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            self._running.add(proc)
        try:
            try:
                out, err = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                stop_group(proc, self.grace_s)
                proc.communicate()  # the group is gone: its pipes are closed, it is reaped
                raise
        finally:
            with self._lock:
                self._running.discard(proc)
        return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)

    def stop(self) -> None:
        """Stop the running commands' process groups; no command starts after this."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for proc in running:
            stop_group(proc, self.grace_s)


def stop_group(proc: subprocess.Popen[str], grace_s: float) -> None:
    """SIGTERM ``proc``'s process group; SIGKILL it once ``proc`` has exited or after
    ``grace_s`` (children that ignore SIGTERM go too), or at once when a second Ctrl-C or
    SIGTERM cuts the grace short (it then goes on up)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s)
    except ProcessLookupError:  # the whole group has exited
        return
    finally:  # the group id is the leader's pid, not reused while any member lives
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
