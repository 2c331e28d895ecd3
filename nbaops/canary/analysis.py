"""Judge a canary against its baseline, metric by metric (pure: no I/O).

Per metric (settings in :mod:`nbaops.canary.settings`):

==============================================================  ============
condition                                                       verdict
==============================================================  ============
the metric could not be read                                    ERROR
either revision below ``min_sample``                            INCONCLUSIVE
canary worse by more than ``margin`` and p < ``alpha``          FAIL
canary worse by more than ``margin`` but not significant        WARN
otherwise (within the margin, or better)                        PASS
==============================================================  ============

"Worse" follows the metric's ``direction``; the test is one-sided in that direction.
Error rate: :func:`~nbaops.canary.stats.proportion_test` (Fisher exact when the expected
error count is small, else two-proportion z), effect = rate difference. Distributions
(latency): Mann-Whitney U on the histogram, effect = ratio of the ``percentile``.
Gauges (custom per-interval values): Mann-Whitney U on the interval values, effect =
ratio of the means. Instances: reported, PASS once measured (no test).

The analysis verdict is :func:`~nbaops.verdict.worst` of the metrics; the *deciding*
metric is the first one with that verdict, and its name leads the round's message so the
audit row and the alert name it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from nbaops.canary import stats
from nbaops.canary.settings import MetricSpec
from nbaops.errors import first_line
from nbaops.report import format_p, format_pct, places_beside, same_side
from nbaops.verdict import CheckResult, Verdict, worst


@dataclass(frozen=True)
class Sample:
    """What one revision measured for one metric over the window.

    ``n`` is the sample size (requests, or intervals for a gauge); ``errors`` the 5xx
    count (error rate); ``values`` weighted values (a latency histogram as bucket value
    and count, or per-interval gauge values with weight 1); ``peak`` the largest value
    (instances).
    """

    n: float
    errors: int = 0
    values: tuple[tuple[float, float], ...] = ()
    peak: float | None = None
    # a distribution's buckets (lower, upper, count): its percentile interpolates in them
    buckets: tuple[tuple[float, float, float], ...] = ()


@dataclass(frozen=True)
class MetricResult:
    name: str
    verdict: Verdict
    message: str
    test: str = ""
    baseline: float | None = None
    canary: float | None = None
    baseline_sample: float | None = None
    canary_sample: float | None = None
    p_value: float | None = None
    alpha: float | None = None  # what p_value was judged against
    margin: float | None = None
    query: str = ""

    def to_json(self) -> dict[str, Any]:
        alpha = () if self.alpha is None else (self.alpha,)
        rounded = {
            "baseline": _round(self.baseline),
            "canary": _round(self.canary),
            "p_value": _round(self.p_value, *alpha),
        }
        return {**asdict(self), "verdict": self.verdict.value, **rounded}


def _round(value: float | None, *thresholds: float) -> float | None:
    """Six significant digits, or all of them when six would put ``value`` on or across a
    threshold it was judged against (a p-value and its alpha)."""
    if value is None:
        return None
    shown = float(f"{value:.6g}")
    return shown if all(same_side(shown, value, t) for t in thresholds) else value


@dataclass
class CanaryAnalysis:
    """One round's comparison of the canary with its baseline."""

    baseline_revision: str
    canary_revision: str
    window: str
    metrics: list[MetricResult] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst(m.verdict for m in self.metrics)

    @property
    def deciding(self) -> MetricResult | None:
        """The first metric whose verdict is the analysis verdict (None: all PASS)."""
        verdict = self.verdict
        if verdict is Verdict.PASS:
            return None
        return next((m for m in self.metrics if m.verdict is verdict), None)

    def summary(self) -> str:
        decided = self.deciding
        if not self.metrics:
            return "no canary metric is enabled: nothing was compared"
        if decided is None:
            return f"all {len(self.metrics)} metrics within their margins"
        return f"{decided.name} {decided.verdict.value}: {decided.message}"

    def to_json(self) -> dict[str, Any]:
        decided = self.deciding
        return {
            "verdict": self.verdict.value,
            "deciding_metric": decided.name if decided else None,
            "baseline_revision": self.baseline_revision,
            "canary_revision": self.canary_revision,
            "window": self.window,
            "metrics": [m.to_json() for m in self.metrics],
        }

    def table(self) -> list[str]:
        """A compact fixed-width table, one line per metric (terminal progress)."""
        lines = [f"{'metric':<16}{'baseline':>12}{'canary':>12}{'p':>11}  verdict"]
        for m in self.metrics:
            p = "-" if m.p_value is None else format_p(m.p_value, m.alpha)
            lines.append(
                f"{m.name:<16}{_fmt(m.name, m.baseline, m.canary, m.margin):>12}"
                f"{_fmt(m.name, m.canary, m.baseline, m.margin):>12}"
                f"{p:>11}  {m.verdict.value}"
            )
        return lines

    def to_check(self, service: str) -> CheckResult:
        """The round's analysis as one CheckResult (its message names the deciding metric)."""
        return CheckResult(
            name="canary_analysis",
            service=service,
            verdict=self.verdict,
            value=self.deciding.name if self.deciding else None,
            threshold="no metric significantly worse than the baseline beyond its margin",
            message=self.summary(),
            query="; ".join(sorted({m.query for m in self.metrics if m.query})),
            details=self.to_json(),
        )


def _fmt(
    name: str, value: float | None, other: float | None = None, margin: float | None = None
) -> str:
    """A revision's value; an error rate beside ``other`` (the other revision's) keeps the
    decimals that keep it off ``other`` plus or minus ``margin`` (report.format_pct): with
    ``margin: 0`` a FAILing canary's 0.4004% read ``0.40%``, as its baseline's 0.4%."""
    if value is None:
        return "-"
    if name == "error_rate":
        edges = () if other is None else (other + (margin or 0.0), other - (margin or 0.0))
        return format_pct(value, *edges, digits=2)
    return f"{value:.4g}"


def error(spec: MetricSpec, exc: BaseException, query: str = "") -> MetricResult:
    """An unreadable metric: ERROR with the cause."""
    text = first_line(exc, typed=True)[:300]
    return MetricResult(spec.name, Verdict.ERROR, f"could not read the metric: {text}", query=query)


def judge(
    spec: MetricSpec, baseline: Sample, canary: Sample, *, alpha: float, query: str = ""
) -> MetricResult:
    """Compare one metric (see the module docstring for the verdict table)."""
    if spec.kind == "instances":
        return _instances(spec, baseline, canary, query)
    if spec.kind == "gauge":
        baseline, canary = _finite(baseline), _finite(canary)
    value_b, value_c = _point(spec, baseline), _point(spec, canary)
    measured = MetricResult(
        spec.name,
        Verdict.INCONCLUSIVE,
        "",
        baseline=value_b,
        canary=value_c,
        baseline_sample=baseline.n,
        canary_sample=canary.n,
        margin=spec.margin,
        query=query,
    )
    small = min(baseline.n, canary.n)
    if small < spec.min_sample:
        who = "canary" if canary.n <= baseline.n else "baseline"
        return replace(
            measured,
            message=f"too little {who} traffic: {small:g} < min sample {spec.min_sample} "
            "(cannot tell, never PASS)",
        )
    result = _test(spec, baseline, canary)
    effect = _effect(spec, value_b, value_c)
    worse = effect > spec.margin
    significant = result.p_value < alpha
    how = (
        f"{_fmt(spec.name, value_c, value_b, spec.margin)} vs "
        f"{_fmt(spec.name, value_b, value_c, spec.margin)} "
        f"({_effect_text(spec, effect)}; "
        f"{result.test} p={format_p(result.p_value, alpha)}, alpha {alpha:g})"
    )
    if worse and significant:
        verdict, text = Verdict.FAIL, f"canary significantly worse: {how}"
    elif worse:
        verdict, text = Verdict.WARN, f"canary worse but not significantly: {how}"
    else:
        verdict, text = Verdict.PASS, f"within the margin: {how}"
    return replace(
        measured,
        verdict=verdict,
        message=text,
        test=result.test,
        p_value=result.p_value,
        alpha=alpha,
    )


def _finite(sample: Sample) -> Sample:
    """A gauge's sample without its NaN and infinite interval values, whatever the metric
    returned: they measure nothing (a NaN mean made the effect NaN, never "worse", and
    the canary PASSed unmeasured), so they do not count toward ``min_sample`` either and
    a sample with nothing finite left is INCONCLUSIVE. Each interval weighs 1."""
    values = tuple((value, weight) for value, weight in sample.values if math.isfinite(value))
    return replace(sample, n=sample.n - (len(sample.values) - len(values)), values=values)


def _point(spec: MetricSpec, sample: Sample) -> float | None:
    if sample.n <= 0:
        return None
    if spec.kind == "error_rate":
        return sample.errors / sample.n
    if not sample.values:
        return None
    if spec.kind == "distribution":
        if sample.buckets:
            return stats.histogram_percentile(sample.buckets, spec.percentile)
        return stats.weighted_percentile(sample.values, spec.percentile)
    total = sum(w for _, w in sample.values)
    return sum(v * w for v, w in sample.values) / total


def _effect(spec: MetricSpec, base: float | None, canary: float | None) -> float:
    """How much worse the canary is (positive = worse) in the margin's unit."""
    assert base is not None and canary is not None  # min_sample >= 1 guarantees data
    sign = 1.0 if spec.direction == "increase" else -1.0
    if spec.kind == "error_rate":
        return sign * (canary - base)
    if base == 0:  # any change is infinitely large, in the direction it went
        return 0.0 if canary == 0 else sign * math.copysign(math.inf, canary)
    # relative to the baseline's size: a negative gauge rising from -100 to -60 is +40%
    # (canary / base - 1 read it as -40%: a significantly higher canary passed)
    return sign * (canary - base) / abs(base)


def _effect_text(spec: MetricSpec, effect: float) -> str:
    """The effect and the margin in one unit (points for an error rate, else percent),
    with the decimals that keep the effect on its side of the margin it is judged by."""
    unit, places = (" pp", 2) if spec.kind == "error_rate" else ("%", 1)
    shown, margin = 100 * effect, 100 * spec.margin
    digits = places_beside(shown, margin, places=places)
    return f"{shown:+.{digits}f}{unit} worse, margin {margin:g}{unit}"


def _test(spec: MetricSpec, baseline: Sample, canary: Sample) -> stats.TestResult:
    if spec.kind == "error_rate":
        b = (baseline.errors, int(baseline.n))
        c = (canary.errors, int(canary.n))
        if spec.direction == "decrease":  # fewer "errors" is worse: swap the roles
            return stats.proportion_test(*c, *b)
        return stats.proportion_test(*b, *c)
    if spec.direction == "decrease":
        return stats.mann_whitney_greater(canary.values, baseline.values)
    return stats.mann_whitney_greater(baseline.values, canary.values)


def _instances(spec: MetricSpec, baseline: Sample, canary: Sample, query: str) -> MetricResult:
    if canary.peak is None:
        return MetricResult(
            spec.name,
            Verdict.INCONCLUSIVE,
            "no instance count for the canary in the window",
            baseline=baseline.peak,
            query=query,
        )
    return MetricResult(
        spec.name,
        Verdict.PASS,
        f"canary ran up to {canary.peak:g} instance(s), baseline {baseline.peak or 0:g}",
        test="reported",
        baseline=baseline.peak,
        canary=canary.peak,
        query=query,
    )


def analyse(
    specs: Sequence[MetricSpec],
    samples: Sequence[tuple[Sample, Sample] | BaseException],
    *,
    alpha: float,
    baseline_revision: str,
    canary_revision: str,
    window: str,
    queries: Sequence[str] = (),
) -> CanaryAnalysis:
    """Judge every metric; ``samples[i]`` is (baseline, canary) or the read error."""
    out = CanaryAnalysis(baseline_revision, canary_revision, window)
    for index, (spec, sample) in enumerate(zip(specs, samples, strict=True)):
        query = queries[index] if index < len(queries) else ""
        if isinstance(sample, BaseException):
            out.metrics.append(error(spec, sample, query))
        else:
            out.metrics.append(judge(spec, *sample, alpha=alpha, query=query))
    return out
