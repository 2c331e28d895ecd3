"""The pre-deploy test command's process group (nbaops.deploy.test_command)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from nbaops.deploy.test_command import stop_group


def test_a_second_interrupt_during_the_grace_still_kills_the_group() -> None:
    """A second Ctrl-C or SIGTERM while stop_group waits out the SIGTERM grace skipped the
    SIGKILL: a test command that ignores SIGTERM (or is slow to die) ran on, and the
    checklist's threads then waited for it, up to deploy.test_timeout_s."""
    proc = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # TERM ignored
    real_wait = proc.wait
    calls: list[Any] = []

    def second_signal(timeout: float | None = None) -> int:
        calls.append(timeout)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the second Ctrl-C, in the grace's wait
        return real_wait(timeout)

    proc.wait = second_signal  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            stop_group(proc, grace_s=30)
        assert proc.wait(10) == -9  # SIGKILLed at once, not left running
    finally:
        if proc.poll() is None:
            proc.kill()
            real_wait()
        proc.stdout.close()
