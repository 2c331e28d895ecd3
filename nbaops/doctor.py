"""``inv doctor``: a read-only preflight of everything a prod run relies on.

The first command of a new prod user. Every check reads, none writes; each answers PASS,
WARN, FAIL or ERROR with what was measured, the call behind it and **the fix**:

================  ==========================================================================
check             what it proves
================  ==========================================================================
credentials       Google credentials found, their kind, and that they refresh (a token)
project           the Cloud Run API answers for the project/region (list services)
service           each configured service exists and is readable
permissions       Cloud Run ``testIamPermissions``: ``run.services.update`` (deploy,
                  rollback, lock) and ``run.routes.invoke`` (probe) on each service
id_token          an ID token for each service's audience can be minted and the service's
                  invoker check accepts it (a probe that is not refused with 401/403)
dataset           every dataset of ``schemas/`` exists in ``bigquery.location``
table_schema      every table's live schema equals ``schemas/`` (the breaking-rule diff of
                  ``nbaops.bqschema``: a drifted table is named with the rule ids)
slack_secret      the Slack webhook secret is readable (the value is never shown)
scheduler_job     the Cloud Scheduler job exists with the configured cron and time zone
github_issues     ``GITHUB_TOKEN`` may open issues in ``GITHUB_REPOSITORY`` (drift issues)
================  ==========================================================================

Verdicts: FAIL when a check *proved* something wrong (missing, refused, drifted); ERROR
when it could not tell (network, unusable credentials). When the credentials are unusable
the checks that need them are ERROR "not run" at once (no minutes of retries), so the
answer is one report, exit 3. The local profile runs the same checks against the stand-in
and the embedded warehouse; Cloud Scheduler and GitHub have no local stand-in, so there
those two are listed under ``not_applicable`` with the reason, never reported as PASS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbaops.environment import read
from nbaops.errors import NbaopsError, first_line
from nbaops.report import CheckReport, summary_counts
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.context import Context

UPDATE_PERMISSION = "run.services.update"
INVOKE_PERMISSION = "run.routes.invoke"
CREDENTIALS_FIX = (
    "run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS "
    "at a service-account key / Workload Identity config"
)


def doctor_report(
    profile: str, checks: list[CheckResult], not_applicable: dict[str, str]
) -> CheckReport:
    """The preflight's checks; each carries its fix (``details.fix``, also ``fix`` in the
    JSON, shown under a check that is not PASS)."""
    title = "nbaops doctor"
    return CheckReport(
        f"{title} ({profile})",
        checks,
        extra={
            "profile": profile,
            "checks": [{**c.to_json(), "fix": c.details.get("fix", "")} for c in checks],
            "not_applicable": not_applicable,
            "summary": summary_counts(checks),
        },
        notes=[f"  -  {name}: not applicable: {why}" for name, why in not_applicable.items()],
        summary=f"{title}: {summary_counts(checks)}",
    )


def _result(
    name: str,
    service: str,
    verdict: Verdict,
    message: str,
    *,
    fix: str,
    query: str,
    started: float,
    value: float | int | str | None = None,
    threshold: str = "",
    **details: Any,
) -> CheckResult:
    return CheckResult.timed(
        name,
        service,
        verdict,
        message,
        value=value,
        threshold=threshold,
        query=query,
        started=started,
        details={"fix": fix, **details},
    )


def _guarded(
    name: str, service: str, query: str, fix: str, body: Callable[[float], CheckResult]
) -> CheckResult:
    """Run one check; an error it raises becomes FAIL (proved) or ERROR (undetermined)."""
    from nbaops.adapters.errors import NotFoundError, PermissionDeniedError

    started = time.perf_counter()
    try:
        return body(started)
    except (NotFoundError, PermissionDeniedError) as exc:
        return _result(
            name, service, Verdict.FAIL, _line(exc), fix=fix, query=query, started=started
        )
    except NbaopsError as exc:
        verdict = Verdict.FAIL if exc.exit_code in (1, 2) else Verdict.ERROR
        return _result(name, service, verdict, _line(exc), fix=fix, query=query, started=started)
    except Exception as exc:  # a library surprise is still one line, never a traceback
        return _result(
            name,
            service,
            Verdict.ERROR,
            f"{type(exc).__name__}: {_line(exc)}",
            fix=fix,
            query=query,
            started=started,
        )


def _line(exc: BaseException) -> str:
    return first_line(exc)[:500]


# ---------------------------------------------------------------- credentials


def check_credentials(ctx: Context) -> tuple[CheckResult, bool]:
    """Credentials found, their kind, and a successful refresh. Returns (result, usable)."""
    from nbaops.adapters.credentials import refresh_outcome
    from nbaops.adapters.idtoken import credential_kind

    started = time.perf_counter()

    def result(verdict: Verdict, message: str, kind: str | None = None) -> CheckResult:
        query = "google.auth.default() + credentials.refresh()"
        return _result(
            "credentials",
            "*",
            verdict,
            message,
            fix=CREDENTIALS_FIX,
            query=query,
            started=started,
            value=kind,
            threshold="a token is issued",
        )

    try:
        credentials = ctx.credentials
    except NbaopsError as exc:
        return result(Verdict.ERROR, _line(exc)), False
    kind = credential_kind(credentials)
    if kind == "anonymous":
        return result(Verdict.FAIL, "anonymous credentials cannot call Google APIs", kind), False
    issued, message = refresh_outcome(credentials)
    verdict = {True: Verdict.PASS, False: Verdict.FAIL, None: Verdict.ERROR}[issued]
    return result(verdict, f"{kind} credentials: {message}", kind), issued is True


# ---------------------------------------------------------------- Cloud Run


def check_project(ctx: Context) -> CheckResult:
    profile = ctx.config.profile
    where = f"projects/{profile.project}/locations/{profile.region}"
    fix = (
        f"check profiles.{profile.name}.project/region in nbaops.yaml, enable "
        "run.googleapis.com, and grant yourself roles/run.viewer"
    )

    def body(started: float) -> CheckResult:
        services = ctx.cloudrun.list_services()
        return _result(
            "project",
            "*",
            Verdict.PASS,
            f"{where} answers: {len(services)} Cloud Run services",
            fix=fix,
            query=f"run_v2 ListServices {where}",
            started=started,
            value=len(services),
        )

    return _guarded("project", "*", f"run_v2 ListServices {where}", fix, body)


def check_service(ctx: Context, service: str) -> CheckResult:
    query = f"run_v2 GetService {ctx.cloudrun.service_path(service)}"
    fix = f"deploy {service} once with gcloud, or fix its name in nbaops.yaml"

    def body(started: float) -> CheckResult:
        info = ctx.cloudrun.get_service(service)
        return _result(
            "service",
            service,
            Verdict.PASS,
            f"readable; serving {info.serving_revision or 'nothing'} at {info.uri}",
            fix=fix,
            query=query,
            started=started,
            value=info.uri,
        )

    return _guarded("service", service, query, fix, body)


def check_permissions(ctx: Context, service: str) -> CheckResult:
    wanted = [UPDATE_PERMISSION, INVOKE_PERMISSION]
    query = f"run_v2 TestIamPermissions {ctx.cloudrun.service_path(service)} {wanted}"
    fix = (
        f"grant roles/run.developer (update) and roles/run.invoker (invoke) on {service} "
        "to the identity running nbaops"
    )

    def body(started: float) -> CheckResult:
        held = set(ctx.cloudrun.test_iam_permissions(service, wanted))
        missing = [p for p in wanted if p not in held]
        verdict = Verdict.FAIL if missing else Verdict.PASS
        message = f"missing {', '.join(missing)}" if missing else "update and invoke allowed"
        return _result(
            "permissions",
            service,
            verdict,
            message,
            fix=fix,
            query=query,
            started=started,
            value=len(held),
            threshold=f"all of {wanted}",
            missing=missing,
        )

    return _guarded("permissions", service, query, fix, body)


def check_id_token(ctx: Context, service: str) -> CheckResult:
    from nbaops.adapters.idtoken import service_audience

    invoker = ctx.config.profile.invoker_service_account
    fix = (
        f"set profiles.{ctx.profile}.invoker_service_account and grant yourself "
        "roles/iam.serviceAccountTokenCreator on it; grant it roles/run.invoker"
        if invoker is None
        else f"grant yourself roles/iam.serviceAccountTokenCreator on {invoker} and "
        f"grant {invoker} roles/run.invoker on {service}"
    )

    def body(started: float) -> CheckResult:
        info = ctx.cloudrun.get_service(service)
        audience = service_audience(info.uri)
        ctx.id_tokens.token(audience)
        probe = ctx.health.probe(info.uri + ctx.config.service(service).health_path)
        query = f"ID token aud={audience} ({ctx.id_tokens.plan()}); GET {probe.url}"
        if probe.status in (401, 403):
            verdict = Verdict.FAIL
            message = f"token minted but the service refused it (HTTP {probe.status})"
        elif probe.status is None:
            verdict = Verdict.ERROR
            message = f"token minted; the probe could not tell: {probe.error}"
        else:
            verdict = Verdict.PASS
            message = f"ID token for {audience} accepted (health answered HTTP {probe.status})"
        return _result(
            "id_token",
            service,
            verdict,
            message,
            fix=fix,
            query=query,
            started=started,
            value=probe.status,
        )

    return _guarded("id_token", service, f"ID token for {service}", fix, body)


# ---------------------------------------------------------------- BigQuery


def check_datasets(ctx: Context) -> list[CheckResult]:
    from nbaops.table_catalog import load_catalog

    location = ctx.config.profile.bigquery_location
    out = []
    for dataset in load_catalog(ctx.root).datasets:
        real = ctx.config.dataset(dataset)
        fix = (
            f"create dataset {real} in {location} (`inv schema-apply`), or set "
            f"profiles.{ctx.profile}.bigquery.location to where it is"
        )
        query = f"bigquery GetDataset {ctx.config.profile.project}.{real}"

        def body(
            started: float, dataset: str = dataset, fix: str = fix, query: str = query
        ) -> CheckResult:
            found = ctx.warehouse.dataset_location(dataset)  # type: ignore[attr-defined]
            if found is None:
                return _result(
                    "dataset",
                    dataset,
                    Verdict.FAIL,
                    "missing",
                    fix=fix,
                    query=query,
                    started=started,
                    threshold=f"exists in {location}",
                )
            if found and found.upper() != location.upper():
                return _result(
                    "dataset",
                    dataset,
                    Verdict.FAIL,
                    f"in {found}, but jobs run in {location}: queries would fail",
                    fix=fix,
                    query=query,
                    started=started,
                    value=found,
                    threshold=f"exists in {location}",
                )
            where = found or "the embedded local warehouse"
            return _result(
                "dataset",
                dataset,
                Verdict.PASS,
                f"present in {where}",
                fix=fix,
                query=query,
                started=started,
                value=found,
                threshold=f"exists in {location}",
            )

        out.append(_guarded("dataset", dataset, query, fix, body))
    return out


def check_table_schemas(ctx: Context) -> list[CheckResult]:
    from nbaops.bqschema.diff import diff_live

    started = time.perf_counter()
    fix_drift = "review `inv schema-diff --live`, then `inv schema-apply` or fix schemas/"
    try:
        report = diff_live(ctx, None)
    except NbaopsError as exc:
        return [
            _result(
                "table_schema",
                "*",
                Verdict.ERROR,
                _line(exc),
                fix=fix_drift,
                query="schema-diff --live",
                started=started,
            )
        ]
    out = []
    for table, message in report.errors.items():
        missing = "not found" in message.lower()
        out.append(
            _result(
                "table_schema",
                table,
                Verdict.FAIL if missing else Verdict.ERROR,
                message,
                fix="`inv schema-apply` creates missing tables" if missing else fix_drift,
                query=f"bigquery GetTable {table}",
                started=started,
            )
        )
    for diff in report.tables:
        findings = diff.verdicts.findings
        rules = sorted({f.rule for f in findings})
        if any(f.is_error for f in findings):
            verdict, message = (
                Verdict.FAIL,
                f"live schema drifted from schemas/: {', '.join(rules)}",
            )
        elif diff.comparison.changed:
            verdict, message = Verdict.WARN, "live schema differs from schemas/ (non-breaking)"
        else:
            verdict, message = Verdict.PASS, "live schema equals schemas/"
        out.append(
            _result(
                "table_schema",
                diff.table,
                verdict,
                message,
                fix=fix_drift,
                query=f"bigquery GetTable {diff.table} vs {diff.path}",
                started=started,
                rules=rules,
            )
        )
    for finding in report.findings:
        out.append(
            _result(
                "table_schema",
                "*",
                Verdict.FAIL if finding.is_error else Verdict.WARN,
                finding.format(),
                fix="fix the schema file",
                query="schemas/",
                started=started,
            )
        )
    return out


# ---------------------------------------------------------------- Slack, Scheduler, GitHub


def check_slack_secret(ctx: Context) -> CheckResult | None:
    """None on the local profile when no webhook is configured (alerts only print)."""
    from nbaops.alerts import webhook_store

    fix = "`inv slack.configure` stores the webhook (Secret Manager in prod)"

    def body(started: float) -> CheckResult:
        secret, source = webhook_store.resolve_webhook(ctx)
        if secret is None:
            return _result(
                "slack_secret",
                "*",
                Verdict.FAIL,
                f"no webhook in {source}",
                fix=fix,
                query=f"read {source}",
                started=started,
            )
        return _result(
            "slack_secret",
            "*",
            Verdict.PASS,
            f"webhook readable from {source} (not shown)",
            fix=fix,
            query=f"read {source}",
            started=started,
        )

    if ctx.is_local:
        secret, _source = webhook_store.resolve_webhook(ctx)
        if secret is None:
            return None
    return _guarded("slack_secret", "*", "read the Slack webhook secret", fix, body)


def check_scheduler(ctx: Context, *, endpoint: str | None = None) -> CheckResult:
    from nbaops.adapters.scheduler import get_job
    from nbaops.schedule import build_plan

    plan = build_plan(ctx)
    fix = "`inv schedule.install --profile prod` creates or updates the job"
    query = f"cloudscheduler GetJob {plan.name}"

    def body(started: float) -> CheckResult:
        job = get_job(plan.name, endpoint=endpoint, credentials=ctx.credentials)
        if job is None:
            return _result(
                "scheduler_job",
                "*",
                Verdict.FAIL,
                f"job {plan.job_id} does not exist",
                fix=fix,
                query=query,
                started=started,
            )
        found = (str(job.schedule), str(job.time_zone))
        want = (plan.cron, plan.time_zone)
        verdict = Verdict.PASS if found == want else Verdict.FAIL
        message = (
            f"job {plan.job_id} runs {found[0]} ({found[1]})"
            if verdict is Verdict.PASS
            else f"job {plan.job_id} runs {found[0]} ({found[1]}), configured {want[0]} ({want[1]})"
        )
        return _result(
            "scheduler_job",
            "*",
            verdict,
            message,
            fix=fix,
            query=query,
            started=started,
            value=found[0],
            threshold=f"{want[0]} ({want[1]})",
        )

    return _guarded("scheduler_job", "*", query, fix, body)


def check_github(ctx: Context) -> CheckResult:
    from nbaops.adapters.github import GitHubClient, GitHubSettings

    fix = (
        "export GITHUB_TOKEN (issues: write) and GITHUB_REPOSITORY=owner/name of the drift "
        "repository (the daily workflow sets both)"
    )
    started = time.perf_counter()
    if not read("GITHUB_TOKEN") or not read("GITHUB_REPOSITORY"):
        return _result(
            "github_issues",
            "*",
            Verdict.WARN,
            "GITHUB_TOKEN/GITHUB_REPOSITORY not set here: drift issues cannot be opened "
            "from this shell",
            fix=fix,
            query="environment",
            started=started,
        )

    def body(started: float) -> CheckResult:
        settings = GitHubSettings.from_env()
        reply = GitHubClient(settings).request("GET", f"/repos/{settings.repository}")
        permissions = dict(reply.get("permissions") or {})
        can_open = any(permissions.get(k) for k in ("triage", "push", "maintain", "admin"))
        if not reply.get("has_issues", True):
            verdict, message = Verdict.FAIL, f"{settings.repository} has issues turned off"
        elif permissions and not can_open:
            verdict, message = Verdict.FAIL, f"the token may only read {settings.repository}"
        else:
            verdict, message = Verdict.PASS, f"the token can open issues in {settings.repository}"
        return _result(
            "github_issues",
            "*",
            verdict,
            message,
            fix=fix,
            query=f"GET /repos/{settings.repository}",
            started=started,
        )

    return _guarded("github_issues", "*", "GET /repos/{GITHUB_REPOSITORY}", fix, body)


# ---------------------------------------------------------------- the preflight


def run_doctor(ctx: Context) -> CheckReport:
    """Every check, in dependency order (credentials first). Read-only."""
    checks: list[CheckResult] = []
    not_applicable: dict[str, str] = {}
    credentials, usable = check_credentials(ctx)
    checks.append(credentials)
    services = ctx.config.service_names
    if not usable:
        for name in (
            "project",
            "service",
            "permissions",
            "id_token",
            "dataset",
            "table_schema",
            "slack_secret",
            "scheduler_job",
        ):
            checks.append(
                _result(
                    name,
                    "*",
                    Verdict.ERROR,
                    "not run: the credentials are not usable",
                    fix=CREDENTIALS_FIX,
                    query="",
                    started=time.perf_counter(),
                )
            )
        checks.append(check_github(ctx))
        return doctor_report(ctx.profile, checks, not_applicable)
    checks.append(check_project(ctx))
    for service in services:
        checks.append(check_service(ctx, service))
    for service in services:
        checks.append(check_permissions(ctx, service))
    for service in services:
        checks.append(check_id_token(ctx, service))
    checks.extend(check_datasets(ctx))
    checks.extend(check_table_schemas(ctx))
    slack = check_slack_secret(ctx)
    if slack is None:
        not_applicable["slack_secret"] = (
            "local profile without a webhook: alerts print to the console"
        )
    else:
        checks.append(slack)
    if ctx.is_local:
        not_applicable["scheduler_job"] = "Cloud Scheduler has no local stand-in"
        not_applicable["github_issues"] = "GitHub is not reachable from the sandbox"
    else:
        checks.append(check_scheduler(ctx))
        checks.append(check_github(ctx))
    return doctor_report(ctx.profile, checks, not_applicable)
