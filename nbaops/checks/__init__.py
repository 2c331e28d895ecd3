"""The data checks: run them, one by id, many concurrently, or a service's post-deploy set.

Each check is one module ``nbaops.checks.<id>`` exporting ``SPEC``
(:class:`~nbaops.checks.spec.CheckSpec`: id, service, keys, queries, playbook) and
``run(ctx, params) -> CheckResult``; :mod:`nbaops.checks.registry` lists them.
Parameters come from :mod:`nbaops.checks.thresholds` (spec defaults < ``checks:`` config
< call-site overrides).

Entry points:

- :func:`run_check` — one check by id (``inv check-lines`` and friends).
- :func:`plan_checks` + :func:`run_planned` — many checks concurrently, each with its own
  timeout (``system-health``); a timeout or a raised exception becomes an ERROR result
  with the error text, never a PASS.
- :func:`run_post_deploy` — the ``post_deploy`` entries of a service (post-deploy
  validation for the deploy tasks), optionally narrowed to one revision.
- :func:`validate_daily` — the pipeline chain of one game day (``inv validate-daily``).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from nbaops.checks import daily_validation
from nbaops.checks.measure import current_query_text, current_threshold, forget_current
from nbaops.checks.registry import ALL_SERVICES, REGISTRY, get_spec
from nbaops.checks.spec import CheckParams, CheckSpec
from nbaops.checks.thresholds import Thresholds, load_thresholds
from nbaops.errors import ConfigError, DamagedStateError
from nbaops.report import CheckReport
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.config import ServiceConfig
    from nbaops.context import Context


@dataclass(frozen=True)
class PlannedCheck:
    """One check bound to its parameters, ready to run."""

    spec: CheckSpec
    params: CheckParams

    @property
    def service(self) -> str:
        return self.params.service or self.spec.service

    @property
    def label(self) -> str:
        return f"{self.spec.id} [{self.service}]"


def plan_checks(
    ctx: Context, *, service: str | None = None, thresholds: Thresholds | None = None
) -> list[PlannedCheck]:
    """Every registered check for the selected services (all by default).

    A per-service check (``error_logs``) is planned once per selected service.

    Raises:
        UnknownServiceError: ``service`` is not in the config (exit 2).
        ConfigError: an unknown threshold key in the config (exit 2).
    """
    thresholds = thresholds or load_thresholds(ctx.config)
    selected = [s.name for s in ctx.config.select_services(service)]
    planned: list[PlannedCheck] = []
    for spec in REGISTRY.values():
        services = selected if spec.service == ALL_SERVICES else [spec.service]
        planned += [
            PlannedCheck(spec, thresholds.params(spec.id, service=name))
            for name in services
            if name in selected
        ]
    return planned


def run_one(ctx: Context, planned: PlannedCheck, base_url: str | None = None) -> CheckResult:
    """Run one planned check; any exception becomes an ERROR result with its text, except
    damaged local state (:class:`~nbaops.errors.DamagedStateError`: a sandbox state file,
    a warehouse file that is not a database), which is raised: nothing could be measured.
    A bad config value one check reads stays that check's ERROR: the others still run.
    ``base_url``: ``alerts.runbook_base_url``, read once per run."""
    started = time.perf_counter()
    forget_current()
    try:
        result = planned.spec.load()(ctx, planned.params)
    except DamagedStateError:
        raise
    except Exception as exc:  # a check must never take the whole run down
        result = CheckResult.error(
            planned.spec.id,
            planned.service,
            exc,
            query=current_query_text(),
            threshold=current_threshold(),
        )
    finally:
        forget_current()
    result.duration_s = round(time.perf_counter() - started, 4)
    return annotate(planned.spec, result, base_url)


def annotate(spec: CheckSpec, result: CheckResult, base_url: str | None) -> CheckResult:
    """Fill the unit and the page to open (playbook path, and its link under ``base_url``)."""
    from nbaops.paths import doc_url

    result.unit = result.unit or spec.unit
    result.doc = result.doc or spec.playbook_doc
    if result.doc_url is None:
        result.doc_url = doc_url(result.doc, base_url)
    return result


Event = Literal["start", "done"]
ProgressCallback = Callable[[Event, PlannedCheck, CheckResult | None], None]


def _timed_out(planned: PlannedCheck, timeout_s: float, base_url: str | None) -> CheckResult:
    message = f"timed out after {timeout_s:g}s (checks.timeout_s)"
    threshold = f"completes within {timeout_s:g}s (checks.timeout_s)"
    result = CheckResult(planned.spec.id, planned.service, Verdict.ERROR, None, threshold, message)
    result.duration_s = round(timeout_s, 4)
    return annotate(planned.spec, result, base_url)


def run_planned(
    ctx: Context,
    planned: Sequence[PlannedCheck],
    *,
    timeout_s: float,
    max_workers: int = 8,
    progress: ProgressCallback | None = None,
) -> list[CheckResult]:
    """Run checks concurrently, each with its own timeout; results in plan order.

    Workers are daemon threads: a check stuck past its timeout is reported as ERROR and
    left behind (a replacement worker keeps the pool at size), so it can neither block
    the report nor the process exit.

    Raises:
        DamagedStateError: damaged local state met by a check: no further check starts,
            and no result (nor alert) is made of the run.
    """
    if not planned:
        return []
    from nbaops.alerts.settings import runbook_base_url

    # read once, before any check: a bad alerts section is exit 2 here, not a failure in
    # every worker
    base_url = runbook_base_url(ctx.config)
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(planned)):
        jobs.put(index)
    finished: queue.SimpleQueue[tuple[int, CheckResult | Exception]] = queue.SimpleQueue()
    started: dict[int, float] = {}
    lock = threading.Lock()
    stop = threading.Event()  # Ctrl-C: no worker takes another check

    def worker() -> None:
        while not stop.is_set():
            try:
                index = jobs.get_nowait()
            except queue.Empty:
                return
            with lock:
                started[index] = time.monotonic()
            result: CheckResult | Exception
            try:
                if progress is not None:
                    progress("start", planned[index], None)
                result = run_one(ctx, planned[index], base_url)
            except DamagedStateError as exc:  # the run's one line: handed to the caller
                stop.set()
                result = exc
            except Exception as exc:  # never lose a job: it would wait out the timeout
                spec = planned[index].spec
                error = CheckResult.error(spec.id, planned[index].service, exc)
                result = annotate(spec, error, base_url)
            finished.put((index, result))

    def spawn() -> None:
        threading.Thread(target=worker, name="nbaops-check", daemon=True).start()

    for _ in range(max(1, min(max_workers, len(planned)))):
        spawn()
    results: dict[int, CheckResult] = {}
    try:
        while len(results) < len(planned):
            try:
                index, result = finished.get(timeout=0.05)
            except queue.Empty:
                pass
            else:
                if isinstance(result, Exception):
                    _stop_the_others(stop, started, results, finished, index, timeout_s)
                    raise result.with_traceback(None)
                if index not in results:
                    if result.duration_s > timeout_s:  # finished, but too late: a timeout
                        result = _timed_out(planned[index], timeout_s, base_url)
                    results[index] = result
                    if progress is not None:
                        progress("done", planned[index], result)
            now = time.monotonic()
            with lock:
                overdue = [
                    i for i, t0 in started.items() if i not in results and now - t0 > timeout_s
                ]
            for index in overdue:
                results[index] = _timed_out(planned[index], timeout_s, base_url)
                if progress is not None:
                    progress("done", planned[index], results[index])
                spawn()  # the stuck worker is lost: keep the pool at size
    except KeyboardInterrupt:
        from nbaops.adapters.warehouse import interrupt_local_queries

        stop.set()
        interrupt_local_queries()  # the workers' running queries end; they take no more
        raise
    return [results[i] for i in range(len(planned))]


def _stop_the_others(
    stop: threading.Event,
    started: dict[int, float],
    results: dict[int, CheckResult],
    finished: queue.SimpleQueue[tuple[int, CheckResult | Exception]],
    failed: int,
    timeout_s: float,
) -> None:
    """Before damaged local state ends the run: no worker takes another check, the running
    ones' local queries are interrupted, and they are waited for (at most ``timeout_s``,
    5 s at most), so none is left writing (a cache, the warehouse) after the run."""
    from nbaops.adapters.warehouse import interrupt_local_queries

    stop.set()
    interrupt_local_queries()
    running = set(started) - set(results) - {failed}
    deadline = time.monotonic() + min(timeout_s, 5.0)
    while running and time.monotonic() < deadline:
        try:
            index, _result = finished.get(timeout=0.05)
        except queue.Empty:
            continue
        running.discard(index)


def run_check(
    ctx: Context,
    check_id: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    service: str | None = None,
    revision: str | None = None,
) -> CheckResult:
    """Run one check by id with its config thresholds and ``overrides`` (timeout applies).

    Raises:
        ConfigError: unknown check id or override key (exit 2).
    """
    spec = get_spec(check_id)
    thresholds = load_thresholds(ctx.config)
    if spec.service == ALL_SERVICES:
        if not service:
            raise ConfigError(f"check {check_id!r} runs per service: name one")
        ctx.config.service(service)
    params = thresholds.params(
        check_id,
        overrides,
        service=service or spec.service,
        revision=revision if spec.revision_aware else None,
    )
    return run_planned(ctx, [PlannedCheck(spec, params)], timeout_s=thresholds.timeout_s)[0]


def plan_post_deploy(
    ctx: Context, service_cfg: ServiceConfig, revision: str | None = None
) -> list[PlannedCheck]:
    """The planned checks of a service's ``post_deploy`` entries (validated, not run).

    Also reads the ``alerts`` section their results will link playbooks through (and a
    deploy alerts with): every caller is about to run them, so a bad one fails now.

    Raises:
        ConfigError: an unknown check or key, a bad value, a bad ``alerts`` section.
    """
    from nbaops.alerts.settings import runbook_base_url

    runbook_base_url(ctx.config)
    thresholds = load_thresholds(ctx.config)
    try:
        return _plan_entries(thresholds, service_cfg, revision)
    except ConfigError as exc:
        raise ctx.config.located(exc) from None


def _plan_entries(
    thresholds: Thresholds, service_cfg: ServiceConfig, revision: str | None
) -> list[PlannedCheck]:
    planned: list[PlannedCheck] = []
    for position, entry in enumerate(service_cfg.post_deploy):
        check_id = str(entry.get("check", ""))
        where = f"services.{service_cfg.name}.post_deploy[{position}]"
        spec = get_spec(check_id, where)
        overrides = {k: v for k, v in entry.items() if k != "check"}
        service = service_cfg.name if spec.service == ALL_SERVICES else spec.service
        params = thresholds.params(
            check_id,
            overrides,
            service=service,
            revision=revision if spec.revision_aware else None,
            where=where,
        )
        planned.append(PlannedCheck(spec, params))
    return planned


def run_post_deploy(
    ctx: Context, service_cfg: ServiceConfig, revision: str | None = None
) -> list[CheckResult]:
    """Run a service's ``post_deploy`` checks concurrently (post-deploy validation).

    Each entry of ``services.<name>.post_deploy`` is ``{"check": <id>, **overrides}``;
    the overrides are threshold keys of that check (e.g. ``fail_below: 0.9``). Per-service
    checks (``error_logs``) run for this service and, when ``revision`` (the new
    revision's short id) is given, only for that revision's entries. Returns one result
    per entry in config order (ERROR for a check that raised or timed out; never PASS
    without a measurement); combine them with :func:`nbaops.verdict.worst`.

    Raises:
        ConfigError: an unknown check id or override key (exit 2), before anything runs.
    """
    planned = plan_post_deploy(ctx, service_cfg, revision)
    thresholds = load_thresholds(ctx.config)
    return run_planned(
        ctx, planned, timeout_s=thresholds.timeout_s, max_workers=thresholds.max_workers
    )


def validate_daily(ctx: Context, game_date: dt.date | None = None) -> CheckReport:
    """Measure each stage of ``game_date`` (default: ``checks.daily_validation.game_date``,
    yesterday Eastern) against the stage before it (:mod:`nbaops.checks.daily_validation`).
    """
    thresholds = load_thresholds(ctx.config)
    params = thresholds.params("daily_validation", {"game_date": game_date} if game_date else None)
    return daily_validation.run(ctx, params)


__all__ = [
    "ALL_SERVICES",
    "REGISTRY",
    "CheckParams",
    "CheckSpec",
    "PlannedCheck",
    "get_spec",
    "plan_checks",
    "plan_post_deploy",
    "run_check",
    "run_one",
    "run_planned",
    "run_post_deploy",
    "validate_daily",
]
