"""``inv doctor``: the read-only preflight against the stand-in, and with unusable credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import deploy_world
import pytest
from deploy_world import DeployWorld

from nbaops.doctor import run_doctor
from nbaops.verdict import Verdict, exit_code_for

pytestmark = pytest.mark.integration

dworld = deploy_world.dworld  # the fixture

REPO = Path(__file__).resolve().parents[2]
NAMES = {
    "credentials",
    "project",
    "service",
    "permissions",
    "id_token",
    "dataset",
    "table_schema",
}


def test_doctor_passes_on_the_local_profile_and_changes_nothing(dworld: DeployWorld) -> None:
    mark = len(dworld.requests())
    report = run_doctor(dworld.context())
    failing = [(c.name, c.service, c.message) for c in report.checks if c.verdict != "PASS"]
    assert report.verdict is Verdict.PASS, failing
    assert exit_code_for(report.verdict) == 0
    assert {c.name for c in report.checks} == NAMES
    services = {c.service for c in report.checks if c.name == "id_token"}
    assert services == set(dworld.context().config.service_names)
    # the ID token went through user ADC → IAM Credentials generateIdToken, like prod
    assert any("generateIdToken" in r["path"] for r in dworld.requests()[mark:])
    assert dworld.mutating(mark) == []  # read-only: token requests are not mutations
    assert set(report.not_applicable) == {"slack_secret", "scheduler_job", "github_issues"}
    document = report.to_json()
    assert all(c["fix"] for c in document["checks"])


def test_a_drifted_table_is_named_and_fails(dworld: DeployWorld) -> None:
    dworld.wh.execute("ALTER TABLE nba_ops.deploys DROP COLUMN outcome")
    report = run_doctor(dworld.context())
    drifted = [c for c in report.checks if c.name == "table_schema" and c.verdict != "PASS"]
    assert [c.service for c in drifted] == ["nba_ops.deploys"]
    assert drifted[0].verdict is Verdict.FAIL and drifted[0].details["rules"]
    assert exit_code_for(report.verdict) == 1


def _doctor_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "doctor", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "adc", [None, '{"type": "authorized_user"}', "not json"], ids=["missing", "invalid", "garbage"]
)
def test_unusable_credentials_answer_one_json_document_and_exit_3(
    tmp_path: Path, adc: str | None
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GOOGLE_"))}
    env["NBAOPS_HOME"] = str(tmp_path / "home")
    path = tmp_path / "adc.json"
    if adc is not None:
        path.write_text(adc)
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(path)
    # no metadata server either: google.auth must not find credentials elsewhere
    env["GCE_METADATA_HOST"] = "127.0.0.1:9"
    env["GCE_METADATA_IP"] = "127.0.0.1:9"
    done = _doctor_process(env, "--profile", "prod", "--json")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    document: dict[str, Any] = json.loads(done.stdout)  # exactly one JSON document
    assert document["verdict"] == "ERROR"
    credentials = document["checks"][0]
    assert credentials["name"] == "credentials" and credentials["verdict"] == "ERROR"
    assert "application-default login" in credentials["fix"]
    assert all(c["verdict"] == "ERROR" for c in document["checks"] if c["name"] != "github_issues")
