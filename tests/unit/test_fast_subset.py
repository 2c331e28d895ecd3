"""The pre-deploy subset: `pytest -m fast` is what the local profile's pre-deploy runs."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from fast_subset import FAST_DIRS, SLOW_MODULES, SLOW_TESTS

from nbaops.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_local_pre_deploy_runs_the_fast_subset_and_prod_the_full_unit_suite() -> None:
    local = shlex.split(
        load_config(ROOT / "nbaops.yaml", "local").section("deploy")["test_command"]
    )
    prod = shlex.split(load_config(ROOT / "nbaops.yaml", "prod").section("deploy")["test_command"])
    assert local[:3] == ["python", "-m", "pytest"] and "fast" in local[local.index("-m", 3) + 1]
    assert "-m" not in prod[3:], "the full suite must not be narrowed outside the local profile"


def test_fast_subset_is_the_unit_tests_minus_the_slow_ones() -> None:
    # no:unraisableexception: that plugin's only work in a run that collects and runs no
    # test is five full garbage collections at exit (~0.6 s of ~3.6 s); selection is ours.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-m", "fast", "-p", "no:cacheprovider"]
        + ["-p", "no:unraisableexception"]
        + ["tests/unit", "tests/static", "tests/integration", "tests/reliability"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-500:]
    assert len(ids) > 200, "the fast subset lost most of the unit tests"
    assert all(i.split("/")[1] in FAST_DIRS for i in ids), "only tests/unit is fast"
    modules = {i.split("::")[0].rsplit("/", 1)[-1] for i in ids}
    assert not modules & set(SLOW_MODULES)
    named = {
        f"{i.split('::')[0].rsplit('/', 1)[-1]}::{i.split('::')[1].split('[')[0]}" for i in ids
    }
    assert not named & set(SLOW_TESTS)
    assert "test_fast_subset.py" not in modules, "this test runs pytest again: it is slow"
