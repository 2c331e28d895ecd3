"""One canary analysis per observation round: read the metrics, judge, report.

:func:`canary_rounds` is the deploy's single entry point: it returns a callable (or None
when the deploy is not a canary or the analysis is disabled) that the observation window
calls once per round. Each call reads every configured metric for the baseline and the
canary revision over the last ``window_s`` through :mod:`nbaops.adapters.monitoring`,
judges them with :mod:`nbaops.canary.analysis`, prints the compact table to the deploy's
progress and returns the round's ``canary_analysis`` CheckResult. A metric that cannot
be read is ERROR for that metric only; the other metrics are still judged.

Each round judges the traffic from the traffic shift (never earlier: the health probes
reached the canary before it, and the baseline served everything) up to
``ingestion_delay_s`` ago: Cloud Monitoring shows request metrics up to 180 s after
sampling, and a newer minute may be partly ingested. A read ``(start, end]`` holds the
points that *end* in it, and each point holds the ``SAMPLE_PERIOD`` before its end, so
the read starts one period after the shift: the point the shift fell in is left out.
Right after the shift nothing is visible yet: a round whose analysis is INCONCLUSIVE
returns no result while the canary is still collecting — before the window's last round,
and after it, until a whole ``window_s`` of post-shift traffic is visible,
:func:`collect_s` (``window_s + ingestion_delay_s + SAMPLE_PERIOD``) after the shift
(:meth:`CanaryRounds.extend` makes the observation window run more rounds for that).
Then it counts, and :meth:`CanaryRounds.conclude` makes the window's verdict the final
analysis' when that is FAIL, INCONCLUSIVE or ERROR: a canary that never reached its
sample is never promoted, and the INCONCLUSIVE message says how much was visible and why.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.canary.analysis import CanaryAnalysis, Sample, analyse
from nbaops.canary.settings import CanarySettings, MetricSpec
from nbaops.errors import MonitoringError
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.monitoring import MetricsReader
    from nbaops.context import Context

ERROR_CLASS = "5xx"
CODE_CLASS = "metric.labels.response_code_class"
# instance_count is "broken down by state" (active, idle): only active instances served
ACTIVE = {"state": "active"}
EXTEND_POLL_S = 30.0  # the least wait between extra rounds (points are per minute)
TOO_LITTLE = "too little canary traffic"
# Cloud Run's metrics are "Sampled every 60 seconds" (cloud.google.com/monitoring/api/
# metrics_gcp, gcp-run): a DELTA point holds the requests of the 60 s before its end
SAMPLE_PERIOD = dt.timedelta(seconds=60)


def collect_s(settings: CanarySettings) -> float:
    """Seconds after the traffic shift until a round's read spans a whole ``window_s``:
    a read starts one ``SAMPLE_PERIOD`` after the shift and ends ``ingestion_delay_s``
    before the round, so ``window_s + ingestion_delay_s`` alone gave one period less."""
    return settings.window_s + settings.ingestion_delay_s + SAMPLE_PERIOD.total_seconds()


def canary_settings(ctx: Context) -> CanarySettings:
    """``deploy.canary_analysis`` of this profile (ConfigError when invalid)."""
    from nbaops.deploy.settings import DeploySettings

    return ctx.config.settings("deploy", DeploySettings).canary_analysis


def _sample(reader: MetricsReader, spec: MetricSpec, **where: Any) -> Sample:
    """One revision's sample of one metric (raises MonitoringError when unreadable)."""
    if spec.kind == "error_rate":
        series = reader.list_time_series(
            spec.metric_type,
            aligner="ALIGN_DELTA",
            reducer="REDUCE_SUM",
            group_by=[CODE_CLASS],
            **where,
        )
        total = errors = 0.0
        for s in series:
            count = sum(p.value or 0.0 for p in s.points)
            total += count
            if s.metric_labels.get("response_code_class") == ERROR_CLASS:
                errors += count
        return Sample(n=total, errors=int(errors))
    if spec.kind == "distribution":
        series = reader.list_time_series(
            spec.metric_type, aligner="ALIGN_DELTA", reducer="REDUCE_SUM", **where
        )
        merged: dict[float, float] = {}
        buckets: dict[tuple[float, float], float] = {}
        for s in series:
            for p in s.points:
                if p.distribution is not None:
                    for value, weight in p.distribution.weighted():
                        merged[value] = merged.get(value, 0.0) + weight
                    for lo, hi, count in p.distribution.intervals():
                        buckets[(lo, hi)] = buckets.get((lo, hi), 0.0) + count
        return Sample(
            n=sum(merged.values()),
            values=tuple(sorted(merged.items())),
            buckets=tuple((lo, hi, n) for (lo, hi), n in sorted(buckets.items())),
        )
    if spec.kind == "gauge":
        series = reader.list_time_series(spec.metric_type, aligner="ALIGN_MEAN", **where)
        values = tuple((p.value, 1.0) for s in series for p in s.points if p.value is not None)
        return Sample(n=float(len(values)), values=values)
    series = reader.list_time_series(
        spec.metric_type, aligner="ALIGN_MAX", reducer="REDUCE_SUM", metric_labels=ACTIVE, **where
    )
    counts = (p.value for s in series for p in s.points if p.value is not None)
    return Sample(n=0.0, peak=max(counts, default=None))


def analyse_canary(
    ctx: Context,
    service: str,
    *,
    baseline: str,
    canary: str,
    settings: CanarySettings,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
) -> CanaryAnalysis:
    """Read and judge every metric of ``service`` over ``settings.window_s`` that ends
    ``settings.ingestion_delay_s`` before ``now`` and holds no point that began before
    ``since`` (the traffic shift). An empty window reads nothing: every metric is
    INCONCLUSIVE."""
    specs = settings.for_service(service)
    end = (now or clock.now()) - dt.timedelta(seconds=settings.ingestion_delay_s)
    start = end - dt.timedelta(seconds=settings.window_s)
    if since is not None:
        # a read (start, end] holds the points whose END falls in it (monitoring.v3
        # TimeInterval, reads: "It includes the end time but excludes the start time",
        # googleapis google/monitoring/v3/common.proto): started at the shift, it held the
        # point the shift fell in, up to 59 s of it from before the shift (the canary's
        # health probes and cold start, the baseline at 100%). One period later, every
        # point read began after the shift, whatever the second the sampler's minute ends.
        start = max(start, since + SAMPLE_PERIOD)
    window = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    samples: list[tuple[Sample, Sample] | BaseException] = []
    queries: list[str] = []
    if end <= start:  # nothing old enough to be visible yet: nothing to read
        samples = [(Sample(n=0.0), Sample(n=0.0))] * len(specs)
    else:
        try:
            reader = ctx.monitoring
            reader.max_pages = settings.max_pages
        except Exception as exc:  # no client (credentials, import): every metric is ERROR
            error = MonitoringError(f"Cloud Monitoring client: {type(exc).__name__}: {exc}")
            samples = [error] * len(specs)
    common = {"service": service, "start": start, "end": end, "alignment_s": settings.alignment_s}
    for spec in specs if not samples else ():  # samples already: nothing to read, or no client
        queries.append(reader.describe(spec.metric_type, service=service, revision=canary))
        try:
            baseline_sample = _sample(reader, spec, revision=baseline, **common)
            samples.append((baseline_sample, _sample(reader, spec, revision=canary, **common)))
        except Exception as exc:  # an unreadable metric is ERROR, the others still count
            samples.append(exc)
    analysis = analyse(
        specs,
        samples,
        alpha=settings.alpha,
        baseline_revision=baseline,
        canary_revision=canary,
        window=window,
        queries=queries,
    )
    return _explain_visibility(analysis, specs, settings, (end - start).total_seconds())


def _explain_visibility(
    analysis: CanaryAnalysis,
    specs: tuple[MetricSpec, ...],
    settings: CanarySettings,
    judged_s: float,
) -> CanaryAnalysis:
    """A request metric INCONCLUSIVE for too little canary traffic says what was visible,
    why no more, and whether the window can reach ``min_sample`` at the observed rate."""
    delay = settings.ingestion_delay_s
    for index, (spec, result) in enumerate(zip(specs, analysis.metrics, strict=True)):
        if spec.kind not in ("error_rate", "distribution") or not result.message.startswith(
            TOO_LITTLE
        ):
            continue
        seen = result.canary_sample or 0.0
        text = (
            f"{TOO_LITTLE}: only {seen:g} canary requests visible yet, min sample "
            f"{spec.min_sample} (cannot tell, never PASS); Cloud Monitoring shows request "
            f"metrics up to 180 s late, so a round judges the canary's traffic from "
            f"{SAMPLE_PERIOD.seconds}s after the shift up to {delay}s ago"
        )
        per_min = seen / judged_s * 60.0 if judged_s > 0 else 0.0
        if per_min > 0 and spec.min_sample / per_min * 60.0 > settings.window_s:
            text += (
                f"; at ~{per_min:.3g} requests/min it needs ~{spec.min_sample / per_min:.3g} "
                f"min, more than window_s ({settings.window_s}s): give the canary a larger "
                "share (--canary) or a lower min_sample"
            )
        analysis.metrics[index] = replace(result, message=text)
    return analysis


@dataclass
class CanaryRounds:
    """The per-round analysis of one canary deploy; ``last`` is the latest round's."""

    ctx: Context
    service: str
    baseline: str
    canary: str
    settings: CanarySettings
    step: Callable[[str, str], None]
    rounds: int = 1
    interval_s: float = 0.0  # the observation's interval between rounds
    monotonic: Callable[[], float] = time.monotonic  # the deploy's clock
    shifted_at: dt.datetime = field(default_factory=clock.now)  # the traffic shift
    last: CanaryAnalysis | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    collecting: bool = False  # the latest round cast no vote: no sample yet
    started: float = field(init=False, default=0.0)  # monotonic() at the shift

    def __post_init__(self) -> None:
        self.started = self.monotonic()

    def __call__(self, index: int) -> list[CheckResult]:
        """Round ``index``: [the analysis], or [] while still collecting (see module doc)."""
        analysis = analyse_canary(
            self.ctx,
            self.service,
            baseline=self.baseline,
            canary=self.canary,
            settings=self.settings,
            since=self.shifted_at,
        )
        self.last = analysis
        elapsed = self.monotonic() - self.started
        deadline = collect_s(self.settings)
        self.collecting = analysis.verdict is Verdict.INCONCLUSIVE and (
            index < self.rounds or elapsed < deadline
        )
        self.history.append(
            {"round": index, "verdict": analysis.verdict.value, "collecting": self.collecting}
        )
        for line in analysis.table():
            self.step("canary", f"round {index} | {line}")
        if self.collecting:
            self.step(
                "canary",
                f"round {index} | still collecting ({analysis.summary()}); decides at the "
                f"latest {deadline:g}s after the traffic shift ({elapsed:.0f}s ago)",
            )
            return []
        return [analysis.to_check(self.service)]

    def extend(self, index: int) -> float:
        """After the window's last round: seconds to wait for one more round while the
        canary is still collecting and :func:`collect_s` has not passed, else 0 (the window
        ends; also when the latest rounds never reached the analysis, their measurement
        failing first, and ``collecting`` is an earlier round's)."""
        elapsed = self.monotonic() - self.started
        if index < self.rounds or not self.collecting or elapsed >= collect_s(self.settings):
            return 0.0
        return max(self.interval_s, EXTEND_POLL_S)

    def conclude(self, verdict: Verdict, reason: str) -> tuple[Verdict, str]:
        """The window's verdict and reason, given the final analysis.

        A window that passed (PASS/WARN) takes the final analysis' verdict when that is
        FAIL, INCONCLUSIVE or ERROR; otherwise the window's verdict stands.
        """
        final = self.last
        if final is None or verdict not in (Verdict.PASS, Verdict.WARN):
            return verdict, reason
        if final.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.ERROR):
            return final.verdict, (
                f"final canary analysis {final.verdict.value}: canary_analysis {final.summary()}"
            )
        return verdict, reason

    def to_json(self) -> dict[str, Any] | None:
        """The latest round's analysis plus every round's verdict (None before round 1)."""
        if self.last is None:
            return None
        return {**self.last.to_json(), "rounds": self.history}


def plan_lines(ctx: Context, service: str, percent: int) -> list[str]:
    """What the analysis would read, for the dry-run plan (nothing when not a canary).

    Raises:
        ConfigError: an invalid ``deploy.canary_analysis`` section.
    """
    settings = canary_settings(ctx)
    if percent >= 100 or not settings.enabled:
        return []
    names = ", ".join(f"{m.name} ({m.metric_type})" for m in settings.for_service(service))
    return [
        f"  canary analysis: monitoring.v3 projects.timeSeries.list for the new and the "
        f"previous revision over the last {settings.window_s}s, from {SAMPLE_PERIOD.seconds}s "
        f"after the traffic shift (no point read began before it) to "
        f"{settings.ingestion_delay_s}s ago (Cloud Monitoring's delay): {names}; "
        f"one-sided tests at alpha {settings.alpha:g} (docs/canary.md)",
        f"  while the canary's sample is too small to judge, the observation runs more "
        f"rounds (at least {EXTEND_POLL_S:g}s apart) until {collect_s(settings):g}s after "
        f"the traffic shift (window_s + ingestion_delay_s + {SAMPLE_PERIOD.seconds}s, when "
        "a whole window_s of the canary's traffic is visible): a quiet service's canary "
        "takes up to that long",
    ]


def canary_rounds(
    ctx: Context,
    service: str,
    *,
    baseline: str,
    canary: str,
    percent: int,
    step: Callable[[str, str], None],
    rounds: int = 1,
    interval_s: float = 0.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> CanaryRounds | None:
    """The per-round analysis for a canary deploy, or None (not a canary, or disabled).

    Raises:
        ConfigError: an invalid ``deploy.canary_analysis`` section.
    """
    settings = canary_settings(ctx)
    if percent >= 100 or not baseline or not settings.enabled:
        return None
    return CanaryRounds(
        ctx, service, baseline, canary, settings, step, rounds, interval_s, monotonic
    )
