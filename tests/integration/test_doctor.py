"""``inv doctor``: the read-only preflight against the stand-in, and with unusable credentials."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from worlds.deploy_world import DeployWorld

from nbaops.doctor import run_doctor
from nbaops.verdict import Verdict, exit_code_for

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
    document = report.to_json()
    assert list(document) == ["verdict", "profile", "checks", "not_applicable", "summary"]
    assert set(document["not_applicable"]) == {"slack_secret", "scheduler_job", "github_issues"}
    assert all(c["fix"] for c in document["checks"])
    # the embedded warehouse has no locations: no blank value, no "in US" to satisfy
    datasets = [c for c in report.checks if c.name == "dataset"]
    assert datasets and all(c.value is None and c.threshold == "exists" for c in datasets)


def test_a_root_without_schemas_is_an_error_not_a_green_preflight(
    dworld: DeployWorld, tmp_path: Path
) -> None:
    # No schemas/ under the root (a config copied elsewhere): every dataset and table check
    # was silently skipped and the preflight PASSed.
    dworld.monkeypatch.setenv("NBAOPS_ROOT", str(tmp_path))
    report = run_doctor(dworld.context())
    rows = [c for c in report.checks if c.name == "dataset"]
    assert [(c.verdict, c.service) for c in rows] == [(Verdict.ERROR, "*")]
    assert f"no table schemas in {tmp_path / 'schemas'}: nothing checked" in rows[0].message
    assert report.verdict is Verdict.ERROR


def test_a_drifted_table_is_named_and_fails(dworld: DeployWorld) -> None:
    dworld.wh.execute("ALTER TABLE nba_ops.deploys DROP COLUMN outcome")
    report = run_doctor(dworld.context())
    drifted = [c for c in report.checks if c.name == "table_schema" and c.verdict != "PASS"]
    assert [c.service for c in drifted] == ["nba_ops.deploys"]
    assert drifted[0].verdict is Verdict.FAIL and drifted[0].details["rules"]
    assert exit_code_for(report.verdict) == 1
    stream = io.StringIO()  # a log or a pipe: the failing table's line, its fix, the rest
    report.render(Console(file=stream, width=200, color_system=None))
    lines = stream.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL table_schema"))
    assert lines[at + 1] == f"    fix: {drifted[0].details['fix']}"
    assert "  -  scheduler_job: not applicable: Cloud Scheduler has no local stand-in" in lines
    assert lines[-1].startswith("FAIL nbaops doctor: ") and "1 FAIL" in lines[-1]


def test_a_table_no_schema_file_declares_is_a_warning_naming_it(dworld: DeployWorld) -> None:
    """schema-diff --live lists the warehouse's tables no schema file declares (a table whose
    file was removed while it stays); the doctor's table_schema check ignored that list and
    passed."""
    dworld.wh.execute("CREATE TABLE nba_ops.stray_copy (x INT64)")
    report = run_doctor(dworld.context())
    flagged = [c for c in report.checks if c.name == "table_schema" and c.verdict != "PASS"]
    assert [(c.verdict, c.service) for c in flagged] == [(Verdict.WARN, "*")]
    assert flagged[0].message == "in the warehouse, no schema file: nba_ops.stray_copy"
    assert flagged[0].value == 1 and flagged[0].query == "bigquery ListTables nba_ops"
    assert report.verdict is Verdict.WARN


def test_a_dataset_whose_tables_cannot_be_listed_names_the_list_call(dworld: DeployWorld) -> None:
    """tables.get and tables.list are separate permissions (bigquery.tables.get,
    bigquery.tables.list): a refused list of a dataset (for its unmanaged tables) was shown
    as the query 'bigquery GetTable nba_ops', a call never made."""
    from worlds.http_fake import FakeServer

    from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
    from nbaops.doctor import PERMISSION_FIX, check_table_schemas

    def route(request: Any) -> tuple[int, Any]:
        if request.path.endswith("/tables"):  # tables.list
            message = "Access Denied: Permission bigquery.tables.list denied"
            return 403, {"error": {"code": 403, "message": message}}
        return 404, {"error": {"code": 404, "message": "Not found: Table"}}

    ctx = dworld.context()
    with FakeServer(route) as server:
        ctx.warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=10)
        results = check_table_schemas(ctx)
    listing = [r for r in results if "." not in r.service]
    assert listing and all(r.query == f"bigquery ListTables {r.service}" for r in listing)
    # refused: proved, as every check's 403 is (_Probe.run), with the role to grant
    assert all(r.verdict is Verdict.FAIL for r in listing)
    assert all(r.details["fix"] == PERMISSION_FIX for r in listing)
    tables = [r for r in results if "." in r.service]
    assert tables and all(r.query == f"bigquery GetTable {r.service}" for r in tables)


def test_a_table_is_missing_by_its_error_type_not_by_the_words_not_found(
    dworld: DeployWorld,
) -> None:
    """table_schema judged a table missing (FAIL, fix: `inv schema-apply` creates it) by
    "not found" in the error's text: a 400 whose message quotes a name "not found" (or a
    credentials file that "was not found") was a missing table. A 404 is; so is a table
    the local warehouse lacks."""
    from worlds.http_fake import FakeServer

    from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
    from nbaops.doctor import check_table_schemas

    def route(request: Any) -> tuple[int, Any]:
        if request.path.endswith("/tables"):  # tables.list: nothing unmanaged
            return 200, {"tables": []}
        if request.path.endswith("/deploys"):
            return 404, {"error": {"code": 404, "message": "Not found: Table p:nba_ops.deploys"}}
        message = "Invalid default value expression: function not found: GENERATE_UID"
        return 400, {"error": {"code": 400, "message": message}}

    ctx = dworld.context()
    with FakeServer(route) as server:
        ctx.warehouse = BigQueryWarehouse("p", endpoint=server.url, timeout_s=10)
        results = {r.service: r for r in check_table_schemas(ctx) if "." in r.service}
    gone = results.pop("nba_ops.deploys")
    assert gone.verdict is Verdict.FAIL and "schema-apply" in gone.details["fix"]
    assert results and all(r.verdict is Verdict.ERROR for r in results.values())
    assert not any("schema-apply` creates" in r.details["fix"] for r in results.values())
    dworld.wh.execute("DROP TABLE nba_ops.deploys")  # the local warehouse lacks it
    local = next(r for r in check_table_schemas(dworld.context()) if r.service == "nba_ops.deploys")
    assert local.verdict is Verdict.FAIL and "schema-apply" in local.details["fix"]


def test_unusable_local_credentials_leave_scheduler_and_github_not_applicable(
    dworld: DeployWorld,
) -> None:
    """Without usable credentials the local profile reported the Cloud Scheduler job as
    ERROR and ran the GitHub check, which it lists as not applicable when they work: the
    module promises both are never judged there."""
    from google.auth.credentials import AnonymousCredentials

    ctx = dworld.context()
    ctx.credentials = AnonymousCredentials()  # what an unusable credential proves: nothing
    report = run_doctor(ctx)
    assert report.checks[0].name == "credentials" and report.checks[0].verdict is Verdict.FAIL
    names = {c.name for c in report.checks}
    assert not names & {"scheduler_job", "github_issues"}, names
    assert {"scheduler_job", "github_issues"} <= set(report.to_json()["not_applicable"])


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


def test_a_missing_grant_and_a_refused_invoker_are_proved_failures(dworld: DeployWorld) -> None:
    from nbaops.doctor import check_id_token, check_permissions
    from nbaops.local.cloudrun_state import load_state, save_state, service_name

    state = load_state(dworld.standin.home)
    svc = state["services"][service_name("nbaops-local", "us-west2", "grading-service")]
    svc["_denied_permissions"] = ["run.services.update"]
    svc["_invokers"] = ["someone-else@nbaops-local.iam.gserviceaccount.com"]
    save_state(dworld.standin.home, state)
    ctx = dworld.context()
    permissions = check_permissions(ctx, "grading-service")
    assert permissions.verdict is Verdict.FAIL
    assert permissions.details["missing"] == ["run.services.update"]
    assert "roles/run.developer" in permissions.details["fix"]
    refused = check_id_token(ctx, "grading-service")
    assert refused.verdict is Verdict.FAIL and "HTTP 403" in refused.message
    assert "roles/run.invoker" in refused.details["fix"]
    assert check_id_token(ctx, "phase3-processors").verdict is Verdict.PASS


def test_an_invoker_account_without_the_token_creator_role_fails_with_that_role(
    dworld: DeployWorld,
) -> None:
    """IAM Credentials refused generateIdToken: the fix is the role on the invoker account
    (the stand-in minted for any caller, so this path never ran)."""
    from nbaops.doctor import check_id_token
    from nbaops.local import iam_accounts

    ctx = dworld.context()
    invoker = ctx.config.profile.invoker_service_account
    assert invoker is not None
    iam_accounts.revoke(dworld.home, invoker, iam_accounts.LOCAL_USER)
    refused = check_id_token(ctx, "grading-service")
    assert refused.verdict is Verdict.FAIL
    assert "Permission 'iam.serviceAccounts.getOpenIdToken' denied" in refused.message
    assert refused.details["fix"] == (
        f"grant yourself roles/iam.serviceAccountTokenCreator on {invoker}"
    )
    iam_accounts.remove_account(dworld.home, invoker)
    gone = dworld.context()  # a new run: no cached token
    missing = check_id_token(gone, "grading-service")
    assert missing.verdict is Verdict.FAIL and "Gaia id not found" in missing.message
    assert f"service account {invoker} does not exist" in missing.details["fix"]


def test_a_refused_cloud_run_call_is_a_proved_failure_not_undetermined(
    dworld: DeployWorld,
) -> None:
    # docs/first-prod-run.md: exit 1 when a check proved something wrong (a refused
    # permission). The Cloud Run adapter's 403 was only a CloudRunError: ERROR, exit 3.
    from nbaops.local.api_faults import set_api_fault

    set_api_fault(dworld.home, "http-4xx", count=100)
    report = run_doctor(dworld.context())
    cloud_run = [c for c in report.checks if c.name in ("project", "service", "permissions")]
    assert cloud_run and {c.verdict for c in cloud_run} == {Verdict.FAIL}
    assert all("permission denied (HTTP 403)" in c.message for c in cloud_run)
    assert exit_code_for(report.verdict) == 1
    # the fix is a role, not the check's usual one ("deploy it once, or fix its name")
    from nbaops.doctor import PERMISSION_FIX

    assert {c.details["fix"] for c in cloud_run} == {PERMISSION_FIX}


def test_cloud_run_that_does_not_answer_is_not_asked_once_per_service(
    dworld: DeployWorld,
) -> None:
    # An unreachable Cloud Run took 17 calls of one timeout each, one after another
    # (8.5 minutes); the project check's ERROR now stands for the per-service checks.
    from nbaops.local.api_faults import set_api_fault

    set_api_fault(dworld.home, "http-5xx", count=100)
    mark = len(dworld.requests())
    report = run_doctor(dworld.context())
    project = next(c for c in report.checks if c.name == "project")
    assert project.verdict is Verdict.ERROR
    skipped = [c for c in report.checks if c.name in ("service", "permissions", "id_token")]
    assert len(skipped) == 3 * len(dworld.context().config.service_names)
    assert all(c.verdict is Verdict.ERROR for c in skipped)
    assert all(c.message.startswith("not run: Cloud Run did not answer") for c in skipped)
    assert {c.details["fix"] for c in skipped} == {project.details["fix"]}  # not "log in"
    run_paths = [r["path"] for r in dworld.requests()[mark:] if "/services" in r["path"]]
    assert all(path.endswith("/services") for path in run_paths)  # only the project's list
