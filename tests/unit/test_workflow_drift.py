"""The daily drift workflow: schedule, least privilege, pinned actions, and its shell logic.

GitHub Actions cannot run here, so the workflow's structure is asserted from the YAML and
its two ``run:`` scripts are executed with bash against a stand-in ``inv`` that writes a
report and exits with a chosen code.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops.cli.drift import check_drift

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "check-deployment-drift.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def run_script(workflow: dict[str, Any], job: str) -> str:
    (script,) = [s["run"] for s in steps(workflow, job) if "check-drift" in s.get("run", "")]
    return str(script)


def test_runs_daily_at_0600_utc_and_on_demand(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    assert triggers["schedule"] == [{"cron": "0 6 * * *"}]
    assert "workflow_dispatch" in triggers
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_least_privilege_permissions(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["issues"]["permissions"] == {"contents": "read", "issues": "write"}
    assert jobs["measure"]["permissions"] == {"contents": "read", "id-token": "write"}
    for name, job in jobs.items():
        perms = job["permissions"]
        # No job holds both cloud credentials (OIDC) and the GitHub write token.
        assert not ("id-token" in perms and "issues" in perms), name


def test_every_action_is_pinned_to_a_commit_sha_with_its_version(workflow: dict[str, Any]) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    uses = [s["uses"] for job in workflow["jobs"] for s in steps(workflow, job) if "uses" in s]
    assert uses, "the workflow uses actions"
    for ref in uses:
        assert PINNED.match(ref), ref
        assert re.search(re.escape(ref) + r" # v\d+\.\d+\.\d+", text), f"{ref}: version comment"


def test_checkouts_drop_credentials_and_measure_has_full_history(
    workflow: dict[str, Any],
) -> None:
    for job in workflow["jobs"]:
        for step in steps(workflow, job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    (checkout,) = [s for s in steps(workflow, "measure") if "checkout" in s.get("uses", "")]
    assert checkout["with"]["fetch-depth"] == 0


def test_token_only_in_the_issues_job_and_no_expressions_inside_scripts(
    workflow: dict[str, Any],
) -> None:
    for job in workflow["jobs"]:
        for step in steps(workflow, job):
            # Expressions go through env:, never spliced into shell (template injection).
            assert "${{" not in step.get("run", ""), step.get("name")
            if "GITHUB_TOKEN" in step.get("env", {}):
                assert job == "issues"
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8")
    auth = [
        s for s in steps(workflow, "measure") if "google-github-actions/auth" in s.get("uses", "")
    ]
    assert auth and "workload_identity_provider" in auth[0]["with"]
    assert "credentials_json" not in auth[0]["with"]  # keyless


def _inv_flags(script: str) -> list[str]:
    line = next(ln for ln in script.splitlines() if ln.strip().startswith("inv check-drift"))
    return [w for w in shlex.split(line) if w.startswith("--")]


def test_workflow_flags_exist_on_the_task(workflow: dict[str, Any]) -> None:
    params = {p.replace("_", "-") for p in inspect.signature(check_drift.body).parameters}
    measure, issues = (
        _inv_flags(run_script(workflow, "measure")),
        _inv_flags(run_script(workflow, "issues")),
    )
    assert "--profile" in measure and "--sync-issues" not in measure
    assert {"--profile", "--from-report", "--sync-issues"} <= set(issues)
    for flag in measure + issues:
        assert flag[2:] in params, flag


FAKE_INV = """#!/bin/sh
# Stand-in for `inv`: writes the report files named on the command line, exits $FAKE_CODE.
while [ $# -gt 0 ]; do
  case "$1" in
    --json-file) echo '{"verdict": "FAIL", "services": []}' > "$2"; shift ;;
    --markdown-file) echo '## Deployment drift: FAIL' > "$2"; shift ;;
  esac
  shift
done
[ -n "$FAKE_NO_REPORT" ] && rm -f drift.json drift.md
exit "$FAKE_CODE"
"""


def run_step(
    tmp_path: Path, script: str, code: int, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    inv = bin_dir / "inv"
    inv.write_text(FAKE_INV, encoding="utf-8")
    inv.chmod(0o755)
    work = tmp_path / f"work{code}"
    work.mkdir()
    output, summary = work / "output.txt", work / "summary.md"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],  # as Actions runs it
        cwd=work,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "FAKE_CODE": str(code),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    out = output.read_text(encoding="utf-8") if output.exists() else ""
    summ = summary.read_text(encoding="utf-8") if summary.exists() else ""
    return proc.returncode, out, summ


@pytest.mark.parametrize(("inv_code", "step_code"), [(0, 0), (1, 0), (3, 0), (2, 2)])
def test_measure_step_passes_the_report_on_unless_it_could_not_measure(
    workflow: dict[str, Any], tmp_path: Path, inv_code: int, step_code: int
) -> None:
    code, output, summary = run_step(tmp_path, run_script(workflow, "measure"), inv_code)
    assert code == step_code
    assert summary.startswith("## Deployment drift")
    encoded = output.strip().removeprefix("report=")
    assert base64.b64decode(encoded).decode().startswith('{"verdict": "FAIL"')


def test_measure_step_fails_when_no_report_was_written(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    code, output, _ = run_step(
        tmp_path, run_script(workflow, "measure"), 3, env={"FAKE_NO_REPORT": "1"}
    )
    assert code == 3 and output == ""


@pytest.mark.parametrize(("inv_code", "step_code"), [(0, 0), (1, 0), (2, 2), (3, 3)])
def test_issues_step_treats_drift_as_done_and_errors_as_failure(
    workflow: dict[str, Any], tmp_path: Path, inv_code: int, step_code: int
) -> None:
    report = base64.b64encode(b'{"verdict": "FAIL", "services": []}').decode()
    code, _, _ = run_step(
        tmp_path, run_script(workflow, "issues"), inv_code, env={"REPORT_B64": report}
    )
    assert code == step_code


@pytest.mark.parametrize("unmeasured", ["ERROR", "INCONCLUSIVE"])
def test_an_unmeasured_service_beside_a_drifting_one_turns_the_issues_job_red(
    workflow: dict[str, Any], tmp_path: Path, unmeasured: str
) -> None:
    """exit 1 (a FAIL outranks an ERROR) left the run green while a service could not be
    measured; docs/drift.md: it turns red on a service that could not be measured, which
    is ERROR or INCONCLUSIVE (no commit-sha label)."""
    doc = {
        "verdict": "FAIL",
        "services": [
            {"service": "a", "verdict": "FAIL"},
            {"service": "b", "verdict": unmeasured},
        ],
    }
    report = base64.b64encode(json.dumps(doc, indent=2).encode()).decode()
    code, _, _ = run_step(tmp_path, run_script(workflow, "issues"), 1, env={"REPORT_B64": report})
    assert code == 3
