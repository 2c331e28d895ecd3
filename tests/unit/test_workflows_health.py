"""The scheduled health workflow: least privilege, SHA-pinned actions, the right command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "health.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def text() -> str:
    return WORKFLOW.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def wf(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _triggers(wf: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as boolean True.
    return wf.get("on") or wf[True]


def _steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in wf["jobs"].values() for step in job["steps"]]


def test_runs_every_six_hours_and_on_demand(wf: dict[str, Any]) -> None:
    triggers = _triggers(wf)
    assert [s["cron"] for s in triggers["schedule"]] == ["0 */6 * * *"]
    assert "workflow_dispatch" in triggers
    assert set(triggers) == {"schedule", "workflow_dispatch"}  # no PR trigger with secrets


def test_no_permissions_by_default_and_only_what_the_job_needs(wf: dict[str, Any]) -> None:
    assert wf["permissions"] == {}
    for job in wf["jobs"].values():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_every_action_is_pinned_to_a_full_commit_sha_with_a_version_comment(
    wf: dict[str, Any], text: str
) -> None:
    uses = [step["uses"] for step in _steps(wf) if "uses" in step]
    assert uses, "the workflow uses no action?"
    for ref in uses:
        assert SHA_PIN.match(ref), f"{ref} is not pinned to a 40-hex commit"
        line = next(line for line in text.splitlines() if ref in line)
        assert re.search(r"#\s*v\d+", line), f"{ref} lacks a version comment"


def test_checkout_does_not_persist_credentials(wf: dict[str, Any]) -> None:
    checkouts = [s for s in _steps(wf) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False


def test_authenticates_with_workload_identity_not_a_key(wf: dict[str, Any]) -> None:
    auth = [s for s in _steps(wf) if s.get("uses", "").startswith("google-github-actions/auth@")]
    assert len(auth) == 1
    inputs = auth[0]["with"]
    assert set(inputs) == {"workload_identity_provider", "service_account"}
    assert "credentials_json" not in inputs
    # identifiers, read from repository variables as check-deployment-drift.yml reads the
    # same provider: from secrets here, one of the two workflows found it empty
    assert inputs == {
        "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
        "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}",
    }


def test_runs_system_health_on_prod_with_json_and_the_webhook_from_secrets(
    wf: dict[str, Any],
) -> None:
    runs = [s for s in _steps(wf) if "inv system-health" in s.get("run", "")]
    assert len(runs) == 1
    assert "--profile prod" in runs[0]["run"] and "--json" in runs[0]["run"]
    assert runs[0]["env"]["SLACK_WEBHOOK_URL"] == "${{ secrets.SLACK_WEBHOOK_URL }}"


def test_install_happens_before_credentials_exist(wf: dict[str, Any]) -> None:
    steps = _steps(wf)
    install = next(i for i, s in enumerate(steps) if "pip install" in s.get("run", ""))
    auth = next(i for i, s in enumerate(steps) if "auth@" in s.get("uses", ""))
    assert install < auth


def test_secrets_are_documented(text: str) -> None:
    header = text.split("\nname:")[0]
    for secret in ("GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_SERVICE_ACCOUNT", "SLACK_WEBHOOK_URL"):
        assert secret in header
