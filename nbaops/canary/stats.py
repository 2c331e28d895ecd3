"""Two-sample tests for canary analysis, in plain Python (no scipy at run time).

Every test here is one-sided in the direction "the canary is worse than the baseline"
(more errors, higher latency): a canary that is *better* is never a failure. Each
function returns a :class:`TestResult` whose ``p_value`` is the probability, under "the
canary is no worse", of a difference at least as extreme as the one observed.

- :func:`two_proportion_z`: pooled two-proportion z test; equals statsmodels'
  ``proportions_ztest(..., alternative="larger")``.
- :func:`fisher_exact_greater`: Fisher's exact test on the 2×2 table; equals scipy's
  ``fisher_exact(table, alternative="greater")``. Used when the expected error count is
  small (the usual "expected count < 5" rule for the normal approximation).
- :func:`mann_whitney_greater`: Mann-Whitney U with midranks, tie correction and
  continuity correction, on *weighted* values (a latency histogram is many ties per
  bucket); equals scipy's ``mannwhitneyu(canary, baseline, alternative="greater",
  method="asymptotic")``. Kayenta's classifier uses the same test.

The unit tests compare every p-value with scipy/statsmodels (dev-only dependencies).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SMALL_EXPECTED = 5.0  # below this expected error count the z approximation is not trusted


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: its name, statistic and one-sided p-value."""

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    p_value: float


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_proportion_z(x_base: int, n_base: int, x_canary: int, n_canary: int) -> TestResult:
    """Pooled two-proportion z test of H1: canary rate > baseline rate.

    Raises:
        ValueError: an empty sample or counts outside ``0..n``.
    """
    _check_counts(x_base, n_base)
    _check_counts(x_canary, n_canary)
    p_base, p_canary = x_base / n_base, x_canary / n_canary
    pooled = (x_base + x_canary) / (n_base + n_canary)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_base + 1.0 / n_canary))
    if se == 0.0:  # no errors at all (or only errors): no evidence either way
        return TestResult("two-proportion z", 0.0, 1.0 if p_canary <= p_base else 0.0)
    z = (p_canary - p_base) / se
    return TestResult("two-proportion z", z, normal_sf(z))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact_greater(x_base: int, n_base: int, x_canary: int, n_canary: int) -> TestResult:
    """Fisher's exact test of H1: canary rate > baseline rate.

    The table is ``[[x_canary, n_canary - x_canary], [x_base, n_base - x_base]]``; the
    p-value is P(X >= x_canary) for the hypergeometric X of the canary's share of all
    errors. The statistic is the sample odds ratio (``inf`` when it is undefined high).

    Raises:
        ValueError: an empty sample or counts outside ``0..n``.
    """
    _check_counts(x_base, n_base)
    _check_counts(x_canary, n_canary)
    total = n_base + n_canary
    errors = x_base + x_canary
    low = max(0, errors - n_base)
    high = min(errors, n_canary)
    denominator = _log_comb(total, n_canary)
    logs = [
        _log_comb(errors, k) + _log_comb(total - errors, n_canary - k) - denominator
        for k in range(low, high + 1)
    ]
    peak = max(logs)
    weights = [math.exp(v - peak) for v in logs]
    tail = sum(weights[x_canary - low :])
    p = min(1.0, tail / sum(weights))
    a, b = x_canary, n_canary - x_canary
    c, d = x_base, n_base - x_base
    odds = (a * d) / (b * c) if b * c else math.inf if a * d else math.nan
    return TestResult("Fisher exact", odds, p)


def proportion_test(x_base: int, n_base: int, x_canary: int, n_canary: int) -> TestResult:
    """Fisher's exact test when the canary's expected error count is small, else z.

    The expected count is the pooled rate times the canary's requests.
    """
    _check_counts(x_base, n_base)
    _check_counts(x_canary, n_canary)
    pooled = (x_base + x_canary) / (n_base + n_canary)
    if pooled * n_canary < SMALL_EXPECTED:
        return fisher_exact_greater(x_base, n_base, x_canary, n_canary)
    return two_proportion_z(x_base, n_base, x_canary, n_canary)


Weighted = Sequence[tuple[float, float]]  # (value, weight): a sample or a histogram


def mann_whitney_greater(baseline: Weighted, canary: Weighted) -> TestResult:
    """Mann-Whitney U test of H1: canary values tend to be larger than baseline values.

    Both samples are ``(value, weight)`` pairs, so a histogram (bucket midpoint, count)
    is analysed as that many tied observations. Normal approximation with tie and
    continuity correction. The statistic is U of the canary.

    Raises:
        ValueError: an empty sample or a negative weight.
    """
    n_base = _total(baseline)
    n_canary = _total(canary)
    by_value: dict[float, list[float]] = {}
    for value, weight in baseline:
        by_value.setdefault(value, [0.0, 0.0])[0] += weight
    for value, weight in canary:
        by_value.setdefault(value, [0.0, 0.0])[1] += weight
    rank_sum_canary = 0.0
    tie_term = 0.0
    below = 0.0
    for value in sorted(by_value):
        w_base, w_canary = by_value[value]
        tied = w_base + w_canary
        midrank = below + (tied + 1.0) / 2.0
        rank_sum_canary += w_canary * midrank
        tie_term += tied**3 - tied
        below += tied
    n = n_base + n_canary
    u = rank_sum_canary - n_canary * (n_canary + 1.0) / 2.0
    mean = n_base * n_canary / 2.0
    variance = n_base * n_canary / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))
    if variance <= 0.0:  # every value tied: no evidence either way
        return TestResult("Mann-Whitney U", u, 1.0)
    z = (u - mean - 0.5) / math.sqrt(variance)
    return TestResult("Mann-Whitney U", u, normal_sf(z))


def weighted_percentile(values: Weighted, q: float) -> float:
    """The ``q``-th percentile (0–100) of weighted values by nearest rank: the smallest
    value whose cumulative weight reaches ``q``% of the total (no interpolation).

    Raises:
        ValueError: an empty sample or ``q`` outside 0–100.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    total = _total(values)
    target = q / 100.0 * total
    seen = 0.0
    ordered = sorted(values)
    for value, weight in ordered:
        seen += weight
        if seen >= target and weight > 0:
            return value
    return ordered[-1][0]


Interval = tuple[float, float, float]  # (lower bound, upper bound, count) of a bucket


def histogram_percentile(buckets: Sequence[Interval], q: float) -> float:
    """The ``q``-th percentile (0–100) of a histogram, interpolated inside the bucket that
    holds the rank: geometrically between positive bounds (Cloud Run's latency buckets
    grow exponentially, so a bucket is even on a log scale), else linearly (as
    Prometheus' ``histogram_quantile``). A bucket's midpoint instead made every percentile
    jump from one midpoint to the next: with buckets 40% wide, a latency margin of 10%
    could only read 0% or 40%.

    Raises:
        ValueError: an empty histogram or ``q`` outside 0–100.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted((lo, hi, n) for lo, hi, n in buckets if n > 0)
    total = _total((lo, n) for lo, _hi, n in ordered)
    target = q / 100.0 * total
    seen = 0.0
    for lo, hi, count in ordered:
        if seen + count >= target:
            fraction = max(target - seen, 0.0) / count
            if 0 < lo < hi:
                return float(lo * (hi / lo) ** fraction)
            return lo + (hi - lo) * fraction
        seen += count
    return ordered[-1][1]


def _total(values: Iterable[tuple[float, float]]) -> float:
    total = 0.0
    for _, weight in values:
        if weight < 0:
            raise ValueError("a sample weight is negative")
        total += weight
    if total <= 0:
        raise ValueError("an empty sample")
    return total


def _check_counts(x: int, n: int) -> None:
    if n <= 0 or not 0 <= x <= n:
        raise ValueError(f"counts {x} of {n} are not a sample")
