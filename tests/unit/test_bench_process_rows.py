"""The whole-process bench rows never call a failed measured process's goal met.

``benchmarks`` is not an installed package: the nox ``tests`` session puts the checkout on
``PYTHONPATH`` (noxfile.py), as ``nox -s bench`` runs ``python -m benchmarks.run`` from it.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from benchmarks.process_rows import nox_tests_summary, predeploy_tests_check


def _done(returncode: int, stdout: str, stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["cmd"], returncode, stdout, stderr)


def test_a_failed_nox_tests_session_is_an_error_not_goal_met() -> None:
    summary = "===== 3 failed, 2100 passed in 301.2s ====="
    done = _done(1, f"...\n{summary}\n", "nox > Session tests failed.")
    with pytest.raises(AssertionError, match=r"nox -s tests failed \(exit 1\): .*3 failed"):
        nox_tests_summary(done)


def test_a_passing_nox_tests_session_gives_pytests_summary() -> None:
    done = _done(0, "===== 2100 passed in 301.2s =====\n", "nox > Session tests was successful.")
    assert nox_tests_summary(done) == "===== 2100 passed in 301.2s ====="


def _predeploy(verdict: str, message: str) -> subprocess.CompletedProcess[str]:
    checks = [{"name": "tests", "verdict": verdict, "message": message, "duration_s": 12.5}]
    return _done(1 if verdict == "FAIL" else 0, json.dumps({"verdict": verdict, "checks": checks}))


def test_a_predeploy_whose_tests_failed_is_an_error_not_goal_met() -> None:
    with pytest.raises(AssertionError, match="pre-deploy's tests failed: 2 failed"):
        predeploy_tests_check(_predeploy("FAIL", "2 failed, 40 passed"))


def test_a_predeploy_whose_tests_passed_gives_its_tests_check() -> None:
    tests = predeploy_tests_check(_predeploy("PASS", "42 passed"))
    assert tests["duration_s"] == 12.5
