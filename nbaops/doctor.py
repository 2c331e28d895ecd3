"""``inv doctor``: a read-only preflight of everything a prod run relies on.

The first command of a new prod user. Every check reads, none writes; each answers PASS,
WARN, FAIL, INCONCLUSIVE or ERROR with what was measured, the call behind it and **the fix**:

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
                  ``nbaops.bqschema``: a drifted table is named with the rule ids); a
                  table of those datasets no schema file declares is a WARN naming it
slack_secret      the Slack webhook secret is readable (the value is never shown)
scheduler_job     the Cloud Scheduler job exists with the configured cron and time zone
github_issues     ``GITHUB_TOKEN`` may open issues in ``GITHUB_REPOSITORY`` (drift issues);
                  INCONCLUSIVE for an installation token, whose permissions GitHub does
                  not name (:func:`check_github`)
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from nbaops.environment import read
from nbaops.errors import NbaopsError, first_line
from nbaops.paths import schemas_dir
from nbaops.report import CheckReport, summary_counts
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.github import GitHubClient
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
    counts = summary_counts(c.verdict for c in checks)
    return CheckReport(
        f"{title} ({profile})",
        checks,
        extra={
            "profile": profile,
            "checks": [{**c.to_json(), "fix": c.details.get("fix", "")} for c in checks],
            "not_applicable": not_applicable,
            "summary": counts,
        },
        notes=[f"  -  {name}: not applicable: {why}" for name, why in not_applicable.items()],
        summary=f"{title}: {counts}",
    )


@dataclass
class _Probe:
    """One check of the preflight: its name, service, fix and the call behind it."""

    name: str
    service: str
    fix: str
    query: str
    started: float = field(default_factory=time.perf_counter)

    def result(
        self,
        verdict: Verdict,
        message: str,
        *,
        value: float | int | str | None = None,
        threshold: str = "",
        query: str | None = None,
        **details: Any,
    ) -> CheckResult:
        """The result, timed from the probe's start, its fix in ``details``."""
        return CheckResult.timed(
            self.name,
            self.service,
            verdict,
            message,
            value=value,
            threshold=threshold,
            query=self.query if query is None else query,
            started=self.started,
            details={"fix": self.fix, **details},
        )

    def run(self, body: Callable[[_Probe], CheckResult]) -> CheckResult:
        """``body(self)``; an error it raises becomes FAIL (proved) or ERROR (undetermined)."""
        from nbaops.adapters.errors import (
            SCOPES_FIX,
            NotFoundError,
            PermissionDeniedError,
            ScopesInsufficientError,
            UnreachableError,
        )

        try:
            return body(self)
        except PermissionDeniedError as exc:  # the fix is a role, whatever the check
            return self.result(Verdict.FAIL, _line(exc), fix=PERMISSION_FIX)
        except NotFoundError as exc:
            return self.result(Verdict.FAIL, _line(exc))
        except NbaopsError as exc:
            verdict = Verdict.FAIL if exc.exit_code in (1, 2) else Verdict.ERROR
            message = _line(exc)
            fix = (
                NETWORK_FIX
                if isinstance(exc, UnreachableError)
                else SCOPES_FIX  # no role the check's own fix names would help
                if isinstance(exc, ScopesInsufficientError)
                else self.fix
            )
            return self.result(verdict, message, fix=fix)
        except Exception as exc:  # a library surprise is still one line, never a traceback
            return self.result(Verdict.ERROR, f"{type(exc).__name__}: {_line(exc)}")


def _line(exc: BaseException) -> str:
    return first_line(exc)[:500]


def _raise(exc: Exception, _probe: _Probe) -> CheckResult:
    """A probe body for an error met earlier: :meth:`_Probe.run` judges it."""
    raise exc


# A check that could not reach the API has nothing to do with its own fix (a missing
# dataset, a service name): the network is what to look at.
NETWORK_FIX = (
    "the API could not be reached: check the network path to Google APIs (proxy "
    "HTTPS_PROXY, DNS, firewall; an NBAOPS_*_ENDPOINT left set) and run again"
)
PERMISSION_FIX = (
    "grant this identity the role the call needs (docs/first-prod-run.md lists them per "
    "check), or run as an identity that has it"
)


# ---------------------------------------------------------------- credentials


def check_credentials(ctx: Context) -> tuple[CheckResult, bool]:
    """Credentials found, their kind, and a successful refresh. Returns (result, usable)."""
    from nbaops.adapters.credentials import refresh_outcome
    from nbaops.adapters.idtoken import credential_kind

    probe = _Probe(
        "credentials", "*", CREDENTIALS_FIX, "google.auth.default() + credentials.refresh()"
    )
    threshold = "a token is issued"
    try:
        credentials = ctx.credentials
    except NbaopsError as exc:
        return probe.result(Verdict.ERROR, _line(exc), threshold=threshold), False
    kind = credential_kind(credentials)
    if kind == "anonymous":
        message = "anonymous credentials cannot call Google APIs"
        return probe.result(Verdict.FAIL, message, value=kind, threshold=threshold), False
    issued, message, reached = refresh_outcome(credentials)
    verdict = {True: Verdict.PASS, False: Verdict.FAIL, None: Verdict.ERROR}[issued]
    fix = CREDENTIALS_FIX if reached else NETWORK_FIX
    message = f"{kind} credentials: {message}"
    result = probe.result(verdict, message, value=kind, threshold=threshold, fix=fix)
    return result, issued is True


# ---------------------------------------------------------------- Cloud Run


def check_project(ctx: Context) -> CheckResult:
    profile = ctx.config.profile
    where = f"projects/{profile.project}/locations/{profile.region}"
    fix = (
        f"check profiles.{profile.name}.project/region in nbaops.yaml, enable "
        "run.googleapis.com, and grant yourself roles/run.viewer"
    )

    def body(probe: _Probe) -> CheckResult:
        services = ctx.cloudrun.list_services()
        message = f"{where} answers: {len(services)} Cloud Run services"
        return probe.result(Verdict.PASS, message, value=len(services))

    return _Probe("project", "*", fix, f"run_v2 ListServices {where}").run(body)


def check_service(ctx: Context, service: str) -> CheckResult:
    query = f"run_v2 GetService {ctx.cloudrun.service_path(service)}"
    fix = f"deploy {service} once with gcloud, or fix its name in nbaops.yaml"

    def body(probe: _Probe) -> CheckResult:
        info = ctx.cloudrun.get_service(service)
        message = f"readable; serving {info.serving_revision or 'nothing'} at {info.uri}"
        return probe.result(Verdict.PASS, message, value=info.uri)

    return _Probe("service", service, fix, query).run(body)


def check_permissions(ctx: Context, service: str) -> CheckResult:
    wanted = [UPDATE_PERMISSION, INVOKE_PERMISSION]
    query = f"run_v2 TestIamPermissions {ctx.cloudrun.service_path(service)} {wanted}"
    fix = (
        f"grant roles/run.developer (update) and roles/run.invoker (invoke) on {service} "
        "to the identity running nbaops"
    )

    def body(probe: _Probe) -> CheckResult:
        held = set(ctx.cloudrun.test_iam_permissions(service, wanted))
        missing = [p for p in wanted if p not in held]
        return probe.result(
            Verdict.FAIL if missing else Verdict.PASS,
            f"missing {', '.join(missing)}" if missing else "update and invoke allowed",
            value=len(held),
            threshold=f"all of {wanted}",
            missing=missing,
        )

    return _Probe("permissions", service, fix, query).run(body)


def check_id_token(ctx: Context, service: str) -> CheckResult:
    from nbaops.adapters.errors import NotFoundError, PermissionDeniedError
    from nbaops.adapters.idtoken import service_audience

    invoker = ctx.config.profile.invoker_service_account
    fix = (
        f"set profiles.{ctx.profile}.invoker_service_account and grant yourself "
        "roles/iam.serviceAccountTokenCreator on it; grant it roles/run.invoker"
        if invoker is None
        else f"grant yourself roles/iam.serviceAccountTokenCreator on {invoker} and "
        f"grant {invoker} roles/run.invoker on {service}"
    )

    def body(probe: _Probe) -> CheckResult:
        info = ctx.cloudrun.get_service(service)
        audience = service_audience(info.uri)
        try:
            ctx.id_tokens.token(audience)
        except PermissionDeniedError as exc:  # refused by IAM Credentials: the role to grant
            account = ctx.id_tokens.target_account() or invoker
            grant = f"grant yourself roles/iam.serviceAccountTokenCreator on {account}"
            return probe.result(Verdict.FAIL, _line(exc), fix=grant)
        except NotFoundError as exc:
            account = ctx.id_tokens.target_account() or invoker
            missing = (
                f"service account {account} does not exist: create it, or set "
                f"profiles.{ctx.profile}.invoker_service_account to one that does"
            )
            return probe.result(Verdict.FAIL, _line(exc), fix=missing)
        answer = ctx.health.probe(info.uri + ctx.config.service(service).health_path)
        query = f"ID token aud={audience} ({ctx.id_tokens.plan()}); GET {answer.url}"
        if answer.status in (401, 403):
            verdict = Verdict.FAIL
            message = f"token minted but the service refused it (HTTP {answer.status})"
        elif answer.status is None:
            verdict = Verdict.ERROR
            message = f"token minted; the probe could not tell: {answer.error}"
        else:
            verdict = Verdict.PASS
            message = f"ID token for {audience} accepted (health answered HTTP {answer.status})"
        return probe.result(verdict, message, value=answer.status, query=query)

    return _Probe("id_token", service, fix, f"ID token for {service}").run(body)


# ---------------------------------------------------------------- BigQuery


def check_datasets(ctx: Context) -> list[CheckResult]:
    from nbaops.table_catalog import load_catalog

    location = ctx.config.profile.bigquery_location
    # the embedded warehouse has no locations: there the dataset only has to exist
    threshold = "exists" if ctx.is_local else f"exists in {location}"

    def body(probe: _Probe) -> CheckResult:
        found = ctx.warehouse.dataset_location(probe.service)  # type: ignore[attr-defined]
        if found is None:
            return probe.result(Verdict.FAIL, "missing", threshold=threshold)
        if found and found.upper() != location.upper():
            message = f"in {found}, but jobs run in {location}: queries would fail"
            return probe.result(Verdict.FAIL, message, value=found, threshold=threshold)
        where = found or "the embedded local warehouse"
        return probe.result(
            Verdict.PASS, f"present in {where}", value=found or None, threshold=threshold
        )

    out = []
    for dataset in load_catalog(ctx.root).datasets:
        real = ctx.config.dataset(dataset)
        fix = (
            f"create dataset {real} in {location} (`inv schema-apply`), or set "
            f"profiles.{ctx.profile}.bigquery.location to where it is"
        )
        query = f"bigquery GetDataset {ctx.config.profile.project}.{real}"
        out.append(_Probe("dataset", dataset, fix, query).run(body))
    if not out:  # nothing to check is not a pass: the preflight would be green unchecked
        where = schemas_dir(ctx.root)
        fix = "run from the project (or set NBAOPS_ROOT to it): its schemas/ declares the tables"
        probe = _Probe("dataset", "*", fix, f"list {where}")
        out.append(probe.result(Verdict.ERROR, f"no table schemas in {where}: nothing checked"))
    return out


def check_table_schemas(ctx: Context) -> list[CheckResult]:
    from nbaops.adapters.errors import NotFoundError
    from nbaops.bqschema.diff import diff_live

    fix_drift = "review `inv schema-diff --live`, then `inv schema-apply` or fix schemas/"
    probe = _Probe("table_schema", "*", fix_drift, "schema-diff --live")
    try:
        report = diff_live(ctx, None)
    except NbaopsError as exc:
        return [probe.result(Verdict.ERROR, _line(exc))]
    out = []
    for table, error in report.raised.items():
        # judged by type as every other check is (_Probe.run): a 404 (or the local
        # warehouse's missing table) FAIL, a refused permission FAIL with the role to
        # grant, an unreachable API ERROR with the network fix; not by the words "not
        # found" (a credentials file that "was not found", a 400 quoting a name)
        missing = isinstance(error, NotFoundError)
        fix = "`inv schema-apply` creates missing tables" if missing else fix_drift
        # a dataset's key: its tables could not be listed (for the unmanaged ones), not read
        call = "GetTable" if "." in table else "ListTables"
        table_probe = _Probe("table_schema", table, fix, f"bigquery {call} {table}", probe.started)
        out.append(table_probe.run(partial(_raise, error)))
    for diff in report.tables:
        findings = diff.verdicts.findings
        rules = sorted({f.rule for f in findings})
        if any(f.is_error for f in findings):
            verdict = Verdict.FAIL
            message = f"live schema drifted from schemas/: {', '.join(rules)}"
        elif diff.comparison.changed:
            verdict, message = Verdict.WARN, "live schema differs from schemas/ (non-breaking)"
        else:
            verdict, message = Verdict.PASS, "live schema equals schemas/"
        query = f"bigquery GetTable {diff.table} vs {diff.path}"
        table_probe = _Probe("table_schema", diff.table, fix_drift, query, probe.started)
        out.append(table_probe.result(verdict, message, rules=rules))
    if report.unmanaged:  # a table whose file was removed while it stays (schema-diff: WARN)
        fix = "add its schema file to schemas/, or drop the table if nothing writes it"
        datasets = ", ".join(sorted({t.partition(".")[0] for t in report.unmanaged}))
        listed = _Probe("table_schema", "*", fix, f"bigquery ListTables {datasets}", probe.started)
        message = f"in the warehouse, no schema file: {', '.join(report.unmanaged)}"
        out.append(listed.result(Verdict.WARN, message, value=len(report.unmanaged)))
    for finding in report.findings:
        file_probe = _Probe("table_schema", "*", "fix the schema file", "schemas/", probe.started)
        verdict = Verdict.FAIL if finding.is_error else Verdict.WARN
        out.append(file_probe.result(verdict, finding.format()))
    return out


# ---------------------------------------------------------------- Slack, Scheduler, GitHub


def check_slack_secret(ctx: Context) -> CheckResult | None:
    """None on the local profile when no webhook is configured (alerts only print)."""
    from nbaops.alerts import webhook_store

    fix = "`inv slack.configure` stores the webhook (Secret Manager in prod)"

    def body(probe: _Probe) -> CheckResult:
        secret, source = webhook_store.resolve_webhook(ctx)
        if secret is None:
            return probe.result(Verdict.FAIL, f"no webhook in {source}", query=f"read {source}")
        message = f"webhook readable from {source} (not shown)"
        return probe.result(Verdict.PASS, message, query=f"read {source}")

    if ctx.is_local and not webhook_store.configured(ctx):
        return None  # (read in the probe: an unreadable or invalid one is a result, not a crash)
    return _Probe("slack_secret", "*", fix, "read the Slack webhook secret").run(body)


def check_scheduler(ctx: Context, *, endpoint: str | None = None) -> CheckResult:
    """The job exists, has the configured schedule and time zone, and is ENABLED (a
    PAUSED, DISABLED or UPDATE_FAILED job does not run the health checks)."""
    from nbaops.adapters.scheduler import STATE_MEANINGS, disabled_fix, get_job, job_state
    from nbaops.schedule import build_plan

    plan = build_plan(ctx)
    install = f"`inv schedule.install --profile {ctx.profile}`"  # the profile doctor checked
    fix = f"{install} creates or updates the job"
    state_fixes = {
        "PAUSED": f"{install} resumes it",
        "UPDATE_FAILED": f"{install} re-sends every field (a "
        "successful update is the documented recovery)",
        "DISABLED": disabled_fix(plan.name),
    }

    def body(probe: _Probe) -> CheckResult:
        job = get_job(plan.name, endpoint=endpoint, credentials=ctx.credentials)
        if job is None:
            return probe.result(Verdict.FAIL, f"job {plan.job_id} does not exist")
        found = (str(job.schedule), str(job.time_zone))
        want = (plan.cron, plan.time_zone)
        state = job_state(job)
        when = f"{found[0]} ({found[1]})"
        if found != want:
            when += f", configured {want[0]} ({want[1]})"
        details = {"state": state}
        if state == "ENABLED":
            verdict = Verdict.PASS if found == want else Verdict.FAIL
            message = f"job {plan.job_id} runs {when}"
        else:
            meaning = STATE_MEANINGS.get(state, "not ENABLED")
            verdict = Verdict.FAIL
            message = f"job {plan.job_id} is {state} ({meaning}); schedule {when}"
            details["fix"] = state_fixes.get(state, fix)
        threshold = f"{want[0]} ({want[1]}), ENABLED"
        return probe.result(verdict, message, value=found[0], threshold=threshold, **details)

    return _Probe("scheduler_job", "*", fix, f"cloudscheduler GetJob {plan.name}").run(body)


def check_github(ctx: Context) -> CheckResult:
    """Whether ``GITHUB_TOKEN`` may open issues in ``GITHUB_REPOSITORY``, from GitHub's
    repository reply (``permissions``: the roles of the user behind the token) and, for a
    classic token, its ``X-OAuth-Scopes`` (which limit that role: :func:`_scopes_write`).
    A fine-grained token (``X-Accepted-GitHub-Permissions``, no scopes) has permissions of
    its own the reply does not name: it is measured as an installation token is.

    A GitHub App installation token, as Actions' ``GITHUB_TOKEN`` is, gets no
    ``permissions`` in that reply, or none true: they say nothing of what the token may do
    (semantic-release/github ``lib/verify.js``, issue #182, tells such a token by ``GET
    /installation/repositories`` answering, as here). What a read can prove is measured:
    the token reads the repository's issues ("Resource not accessible by integration" is
    a FAIL: ``issues: write`` includes reading them); whether it may open one GitHub says
    only when it tries, so the check is INCONCLUSIVE with the reason, never PASS.
    """
    from nbaops.adapters.github import GitHubClient, GitHubError, GitHubSettings

    fix = (
        "export GITHUB_TOKEN (issues: write) and GITHUB_REPOSITORY=owner/name of the drift "
        "repository (the daily workflow sets both)"
    )
    probe = _Probe("github_issues", "*", fix, "GET /repos/{GITHUB_REPOSITORY}")
    if not read("GITHUB_TOKEN") or not read("GITHUB_REPOSITORY"):
        message = (
            "GITHUB_TOKEN/GITHUB_REPOSITORY not set here: drift issues cannot be opened "
            "from this shell"
        )
        return probe.result(Verdict.WARN, message, query="environment")

    def body(probe: _Probe) -> CheckResult:
        settings = GitHubSettings.from_env()
        client = GitHubClient(settings)
        repo = settings.repository
        query = f"GET /repos/{repo}"
        reply, headers = client.request_with_headers("GET", f"/repos/{repo}")
        permissions = dict(reply.get("permissions") or {})
        if not reply.get("has_issues", True):
            return probe.result(Verdict.FAIL, f"{repo} has issues turned off", query=query)
        role = any(permissions.get(k) for k in ("triage", "push", "maintain", "admin"))
        scopes = headers.get("x-oauth-scopes")  # a classic or OAuth token: what it may do
        if scopes is not None and not _scopes_write(scopes, private=reply.get("private", True)):
            message = (
                f"the token's scopes ({scopes or 'none'}) do not let it write to {repo}: it "
                f"needs repo{'' if reply.get('private', True) else ' or public_repo'}"
            )
            return probe.result(Verdict.FAIL, message, query=query, fix=SCOPES_FIX)
        # a fine-grained actor (a fine-grained token, an installation) has permissions of
        # its own that the reply does not name: the user's role is not what it may do
        fine_grained = scopes is None and "x-accepted-github-permissions" in headers
        if role and not fine_grained:
            return probe.result(Verdict.PASS, f"the token can open issues in {repo}", query=query)
        query += "; GET /installation/repositories"
        installation = _installation_token(client)
        if not installation and permissions and not role:
            message = f"the token may only read {repo}"
            return probe.result(Verdict.FAIL, message, query=query)
        if not installation and not fine_grained:
            message = (
                f"GitHub's reply for {repo} names no permissions for this token: whether it "
                "can open issues is not known"
            )
            return probe.result(Verdict.INCONCLUSIVE, message, query=query)
        kind = (
            "an installation token (a GitHub App's; Actions' GITHUB_TOKEN is one)"
            if installation
            else "a fine-grained token"
        )
        query += f"; GET /repos/{repo}/issues"
        try:
            client.request("GET", f"/repos/{repo}/issues", params={"per_page": 1})
        except GitHubError as exc:
            if exc.status != 403 or "not accessible by" not in str(exc):
                raise
            message = f"{kind} that may not read issues in {repo}: {_line(exc)}"
            return probe.result(Verdict.FAIL, message, query=query, fix=INSTALLATION_FIX)
        message = (
            f"{kind} reads issues in {repo}; GitHub does not say whether it may open one "
            "(its own permissions are not in the reply): known when drift sync first opens one"
        )
        return probe.result(Verdict.INCONCLUSIVE, message, query=query, fix=INSTALLATION_FIX)

    return probe.run(body)


INSTALLATION_FIX = (
    "grant the token issues: write (the workflow job's `permissions: issues: write`, "
    "the GitHub App's or the fine-grained token's Issues: Read and write)"
)
SCOPES_FIX = "give the classic token the repo scope (public_repo for a public repository)"


def _scopes_write(scopes: str, *, private: bool) -> bool:
    """Whether a classic token's ``X-OAuth-Scopes`` let it write to a repository: ``repo``,
    or ``public_repo`` for a public one. Scopes "do not grant any additional permission
    beyond that which the user already has", and no scope is "read-only access to public
    information" (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps)."""
    granted = {scope.strip() for scope in scopes.split(",")}
    return "repo" in granted or ("public_repo" in granted and not private)


def _installation_token(client: GitHubClient) -> bool:
    """Whether the client's token is a GitHub App installation's: ``GET
    /installation/repositories`` answers only to one (a user's token gets a 4xx); any other
    failure is raised (the check could not tell)."""
    from nbaops.adapters.github import GitHubError

    try:
        client.request("GET", "/installation/repositories", params={"per_page": 1})
    except GitHubError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            return False
        raise
    return True


# ---------------------------------------------------------------- the preflight

# What needs usable credentials (all but GitHub, which has its own token).
NEEDS_CREDENTIALS = (
    "project",
    "service",
    "permissions",
    "id_token",
    "dataset",
    "table_schema",
    "slack_secret",
    "scheduler_job",
)


def run_doctor(ctx: Context) -> CheckReport:
    """Every check, in dependency order (credentials first). Read-only."""
    not_applicable: dict[str, str] = {}
    if ctx.is_local:
        not_applicable["scheduler_job"] = "Cloud Scheduler has no local stand-in"
        not_applicable["github_issues"] = "GitHub is not reachable from the sandbox"
    credentials, usable = check_credentials(ctx)
    checks = [credentials]
    services = ctx.config.service_names
    if not usable:
        message = "not run: the credentials are not usable"
        for name in NEEDS_CREDENTIALS:
            if name not in not_applicable:
                probe = _Probe(name, "*", CREDENTIALS_FIX, "")
                checks.append(probe.result(Verdict.ERROR, message))
        if "github_issues" not in not_applicable:
            checks.append(check_github(ctx))
        return doctor_report(ctx.profile, checks, not_applicable)
    project = check_project(ctx)
    checks.append(project)
    # The rest are independent reads: run concurrently (each bounded by its client's
    # timeout), reported in this order. Cloud Run that did not answer the project check
    # (ERROR: unreachable, timed out) is not asked 15 more times, one timeout each.
    jobs: list[Callable[[], list[CheckResult]]] = []
    per_service = (check_service, check_permissions, check_id_token)
    if project.verdict is Verdict.ERROR:
        message = f"not run: Cloud Run did not answer the project check ({project.message})"
        fix = str(project.details.get("fix", NETWORK_FIX))  # the project check's, not a login
        for check in per_service:
            name = check.__name__.removeprefix("check_")
            checks += [
                _Probe(name, service, fix, "").result(Verdict.ERROR, message[:300])
                for service in services
            ]
    else:
        jobs += [
            partial(_listed, check, ctx, service) for check in per_service for service in services
        ]
    jobs += [partial(check_datasets, ctx), partial(check_table_schemas, ctx)]
    jobs.append(partial(_listed, check_slack_secret, ctx))
    if not ctx.is_local:
        jobs += [partial(_listed, check_scheduler, ctx), partial(_listed, check_github, ctx)]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="nbaops-doctor") as pool:
        for found in pool.map(lambda job: job(), jobs):
            checks += found
    if not any(c.name == "slack_secret" for c in checks):
        not_applicable["slack_secret"] = (
            "local profile without a webhook: alerts print to the console"
        )
    return doctor_report(ctx.profile, checks, not_applicable)


def _listed(check: Callable[..., CheckResult | None], *args: Any) -> list[CheckResult]:
    """``check(*args)`` as a list: a check that does not apply (None) adds nothing."""
    found = check(*args)
    return [] if found is None else [found]
