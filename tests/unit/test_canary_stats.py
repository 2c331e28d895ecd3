"""The canary tests in plain Python agree with scipy/statsmodels, and behave as designed on
known distributions: a doubled error rate is caught at the configured sample, and equal
distributions raise false alarms at about the nominal rate."""

from __future__ import annotations

import bisect
import math
import random
import statistics

import pytest
from scipy import stats as sp
from statsmodels.stats.proportion import proportions_ztest

from nbaops.canary import stats
from nbaops.canary.analysis import Sample, judge
from nbaops.canary.settings import METRIC_DEFAULTS
from nbaops.verdict import Verdict

TABLES = [
    (5, 1000, 12, 1000),
    (40, 5000, 15, 1000),
    (0, 100, 3, 50),
    (2, 30, 1, 20),
    (300, 10000, 80, 2000),
    (0, 50, 0, 50),
    (10, 10, 5, 5),
]


@pytest.mark.parametrize(("xb", "nb", "xc", "nc"), TABLES)
def test_fisher_exact_matches_scipy(xb: int, nb: int, xc: int, nc: int) -> None:
    ours = stats.fisher_exact_greater(xb, nb, xc, nc)
    ref = sp.fisher_exact([[xc, nc - xc], [xb, nb - xb]], alternative="greater")
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
    if math.isfinite(ref.statistic):
        assert ours.statistic == pytest.approx(ref.statistic)


@pytest.mark.parametrize(
    ("xb", "nb", "xc", "nc"), [t for t in TABLES if 0 < t[0] + t[2] < t[1] + t[3]]
)
def test_two_proportion_z_matches_statsmodels(xb: int, nb: int, xc: int, nc: int) -> None:
    ours = stats.two_proportion_z(xb, nb, xc, nc)
    z, p = proportions_ztest([xc, xb], [nc, nb], alternative="larger")
    assert ours.statistic == pytest.approx(z)
    assert ours.p_value == pytest.approx(p, rel=1e-9)


def test_two_proportion_z_without_any_error_has_no_evidence() -> None:
    assert stats.two_proportion_z(0, 100, 0, 100).p_value == 1.0
    assert stats.two_proportion_z(100, 100, 100, 100).p_value == 1.0


def test_proportion_test_uses_fisher_for_small_expected_counts_else_z() -> None:
    assert stats.proportion_test(1, 1000, 2, 250).test == "Fisher exact"
    assert stats.proportion_test(40, 4000, 30, 1000).test == "two-proportion z"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mann_whitney_matches_scipy_with_ties(seed: int) -> None:
    rng = random.Random(seed)
    base = [round(rng.lognormvariate(0, 1), 1) for _ in range(300)]
    canary = [round(rng.lognormvariate(0.15 * seed, 1), 1) for _ in range(120)]
    ours = stats.mann_whitney_greater([(v, 1) for v in base], [(v, 1) for v in canary])
    ref = sp.mannwhitneyu(canary, base, alternative="greater", method="asymptotic")
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_mann_whitney_on_a_histogram_equals_the_expanded_sample() -> None:
    base_hist = [(10.0, 50), (20.0, 30), (40.0, 20)]
    canary_hist = [(10.0, 10), (20.0, 20), (40.0, 25), (80.0, 5)]
    ours = stats.mann_whitney_greater(base_hist, canary_hist)
    expand = lambda h: [v for v, w in h for _ in range(w)]  # noqa: E731
    ref = sp.mannwhitneyu(
        expand(canary_hist), expand(base_hist), alternative="greater", method="asymptotic"
    )
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_mann_whitney_all_tied_has_no_evidence() -> None:
    assert stats.mann_whitney_greater([(5.0, 10)], [(5.0, 3)]).p_value == 1.0


def test_weighted_percentile() -> None:
    values = [(1.0, 50), (2.0, 45), (9.0, 5)]
    assert stats.weighted_percentile(values, 50) == 1.0
    assert stats.weighted_percentile(values, 95) == 2.0
    assert stats.weighted_percentile(values, 99) == 9.0
    assert stats.weighted_percentile(values, 100) == 9.0
    with pytest.raises(ValueError, match="outside"):
        stats.weighted_percentile(values, 101)


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.two_proportion_z(1, 0, 1, 10),
        lambda: stats.fisher_exact_greater(5, 4, 1, 10),
        lambda: stats.mann_whitney_greater([], [(1.0, 1)]),
        lambda: stats.mann_whitney_greater([(1.0, -1)], [(1.0, 1)]),
    ],
)
def test_bad_samples_raise(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def test_doubled_error_rate_is_caught_at_the_configured_sample() -> None:
    """1% → 2% with the default min sample (20/80 split): caught in >= 90% of the runs."""
    spec = METRIC_DEFAULTS["error_rate"]
    n_canary = spec.min_sample
    n_base = 4 * n_canary
    runs, caught = 200, 0
    for seed in range(runs):
        rng = random.Random(seed)
        base = Sample(n=n_base, errors=_binomial(rng, n_base, 0.01))
        canary = Sample(n=n_canary, errors=_binomial(rng, n_canary, 0.02))
        caught += judge(spec, base, canary, alpha=0.05).verdict is Verdict.FAIL
    assert caught / runs >= 0.90


def test_equal_error_rates_alarm_at_about_the_nominal_rate() -> None:
    """With no margin the one-sided test fails ~alpha of equal canaries (z: 5%)."""
    spec = METRIC_DEFAULTS["error_rate"]
    from dataclasses import replace

    spec = replace(spec, margin=0.0)
    runs, alarms = 2000, 0
    for seed in range(runs):
        rng = random.Random(seed)
        base = Sample(n=8000, errors=round(rng.gauss(400, math.sqrt(400 * 0.95))))
        canary = Sample(n=2000, errors=round(rng.gauss(100, math.sqrt(100 * 0.95))))
        alarms += judge(spec, base, canary, alpha=0.05).verdict is Verdict.FAIL
    rate = alarms / runs
    assert 0.03 <= rate <= 0.07, rate  # binomial sd at 2000 runs is ~0.5 point


def test_equal_latency_distributions_alarm_at_about_the_nominal_rate() -> None:
    """Mann-Whitney on equal distributions: p < alpha in ~alpha of the runs."""
    runs, alarms = 600, 0
    for seed in range(runs):
        rng = random.Random(seed)
        base = [(round(rng.lognormvariate(4, 0.5)), 1.0) for _ in range(120)]
        canary = [(round(rng.lognormvariate(4, 0.5)), 1.0) for _ in range(60)]
        alarms += stats.mann_whitney_greater(base, canary).p_value < 0.05
    rate = alarms / runs
    assert 0.025 <= rate <= 0.08, rate


def test_slower_latency_is_caught() -> None:
    spec = METRIC_DEFAULTS["latency"]
    rng = random.Random(3)
    base = [(round(rng.lognormvariate(4, 0.5)), 1.0) for _ in range(2000)]
    canary = [(round(rng.lognormvariate(4 + math.log(1.3), 0.5)), 1.0) for _ in range(600)]
    result = judge(
        spec, Sample(n=2000, values=tuple(base)), Sample(n=600, values=tuple(canary)), alpha=0.05
    )
    assert result.verdict is Verdict.FAIL and result.test == "Mann-Whitney U"


def test_a_histogram_percentile_interpolates_inside_its_bucket() -> None:
    buckets = [(0.0, 10.0, 10.0), (10.0, 20.0, 10.0)]
    assert stats.histogram_percentile(buckets, 25) == pytest.approx(5.0)  # from 0: linear
    assert stats.histogram_percentile(buckets, 50) == pytest.approx(10.0)
    # between positive bounds: even on a log scale (exponential latency buckets)
    assert stats.histogram_percentile(buckets, 75) == pytest.approx(10 * 2**0.5)
    assert stats.histogram_percentile(buckets, 95) == pytest.approx(10 * 2**0.9)
    assert stats.histogram_percentile([(5.0, 5.0, 3.0)], 95) == 5.0  # an edge bucket
    with pytest.raises(ValueError):
        stats.histogram_percentile([], 95)


def _lognormal_histogram(median: float, n: int, bounds: list[float]) -> Sample:
    """``n`` requests of a log-normal latency (sigma 0.5), placed deterministically (at the
    quantiles of their ranks) into Cloud Run-like exponential buckets, as the adapter gives
    them: weighted midpoints for the test, the buckets for the percentile."""
    from nbaops.adapters.monitoring import Distribution

    dist = statistics.NormalDist()
    counts = [0] * (len(bounds) + 1)
    for i in range(n):
        value = median * math.exp(0.5 * dist.inv_cdf((i + 0.5) / n))
        counts[bisect.bisect_right(bounds, value)] += 1
    hist = Distribution(n, 0.0, tuple(bounds), tuple(counts))
    return Sample(n=n, values=tuple(hist.weighted()), buckets=tuple(hist.intervals()))


@pytest.mark.parametrize(
    ("slower", "verdict"),
    [(1.10, Verdict.FAIL), (1.15, Verdict.FAIL), (1.02, Verdict.PASS), (1.0, Verdict.PASS)],
)
def test_a_latency_margin_is_judged_on_the_slowdown_not_on_bucket_midpoints(
    slower: float, verdict: Verdict
) -> None:
    """Buckets 40% wide: the p95 read as a bucket midpoint could only move by 0% or 40%, so
    a 10-19% slowdown PASSed a 5% margin and a 2% one could FAIL it as "+40%"."""
    spec = METRIC_DEFAULTS["latency"]
    spec = type(spec)(**{**spec.__dict__, "margin": 0.05})
    bounds = [1.4**i for i in range(40)]
    baseline = _lognormal_histogram(80.0, 24_000, bounds)
    canary = _lognormal_histogram(80.0 * slower, 6_000, bounds)
    result = judge(spec, baseline, canary, alpha=0.05)
    assert result.verdict is verdict, result.message
    assert result.canary is not None and result.baseline is not None
    # read to within the buckets' resolution (40% wide), not snapped to 0% or +40%
    assert result.canary / result.baseline == pytest.approx(slower, abs=0.05)
