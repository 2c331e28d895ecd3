"""Exact small-sample statistics for the regression gates, in pure Python.

Production installs need no scipy: the Wilson interval, the exact binomial tail and
McNemar's paired test are a few lines of arithmetic. ``tests/unit/test_regression_stats.py``
checks them against scipy and statsmodels (dev dependencies).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

BREAK_EVEN_MINUS_110 = 110.0 / 210.0  # 0.52381: win 100 for 110 risked


@functools.cache
def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (0.95 -> 1.95996).

    Newton's method on the log of the upper tail, ``erfc(z / sqrt(2)) / 2``, from z = 1:
    a handful of steps reach full double precision for any level (the standard library's
    ``statistics.NormalDist`` gives the same value, but importing it, with ``fractions``
    and ``decimal``, took ~3 ms of every regression run). Cached: a run asks for one or
    two levels, once per group.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    log_tail = math.log((1.0 - confidence) / 2.0)
    z = 1.0
    for _ in range(100):
        tail = 0.5 * math.erfc(z / math.sqrt(2.0))
        density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        # h(z) = log tail(z) - log_tail, h'(z) = -density / tail(z)
        step = (math.log(tail) - log_tail) * tail / density
        z += step
        if abs(step) <= 4e-16 * max(1.0, abs(z)):
            break
    return z


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and keeps its coverage for
    small n and rates near 0 or 1. Same values as statsmodels
    ``proportion_confint(method="wilson")``. With no trials the interval is (0, 1).
    """
    _check_counts(successes, trials)
    if trials == 0:
        return 0.0, 1.0
    z = z_value(confidence)
    n = float(trials)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At k = 0 (k = n) the bound is exactly 0 (1); avoid a rounding residue of 1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def binom_pmf(k: int, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p), computed in log space (no overflow at n = 10^6)."""
    _check_counts(k, n)
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return math.exp(log_pmf)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exact.

    Sums the pmf outward from ``k`` through the tail that does not contain the mean, so
    the loop stops after O(sqrt(n)) terms once they no longer change the sum.
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if k - 1 < n * p:
        # The upper tail contains the mean: 1 - P(X <= k - 1), summed downward.
        return max(0.0, 1.0 - _sum_down(k - 1, n, p))
    return min(1.0, _sum_up(k, n, p))


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), exact."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if k > n * p:
        return max(0.0, 1.0 - _sum_up(k + 1, n, p))
    return min(1.0, _sum_down(k, n, p))


def _sum_up(k: int, n: int, p: float) -> float:
    term = binom_pmf(k, n, p)
    total = term
    ratio = p / (1.0 - p)
    i = k
    while i < n:
        term *= (n - i) / (i + 1) * ratio
        i += 1
        total += term
        if term < total * 1e-17:
            break
    return total


def _sum_down(k: int, n: int, p: float) -> float:
    term = binom_pmf(k, n, p)
    total = term
    ratio = (1.0 - p) / p
    i = k
    while i > 0:
        term *= i / (n - i + 1) * ratio
        i -= 1
        total += term
        if term < total * 1e-17:
            break
    return total


def binom_test_greater(successes: int, trials: int, p0: float) -> float:
    """One-sided exact binomial test, H1: rate > p0. Returns P(X >= successes | p0).

    Same value as ``scipy.stats.binomtest(k, n, p0, alternative="greater").pvalue``.
    With no trials there is no evidence: 1.0 (P(X >= 0)).
    """
    _check_counts(successes, trials)
    return binom_sf(successes, trials, p0)


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on the discordant pairs of two classifiers graded on the same bets.

    ``b`` = champion right and challenger wrong, ``c`` = champion wrong and challenger right.
    Under H0 (equal accuracy) b ~ Binomial(b + c, 1/2).
    """

    b: int
    c: int
    p_two_sided: float  # exact, = statsmodels mcnemar(exact=True).pvalue
    p_two_sided_mid: float  # mid-p (less conservative; Fagerland et al. 2013)
    p_challenger_worse: float  # exact one-sided, H1: challenger less accurate (b > c)
    p_challenger_worse_mid: float


def mcnemar(b: int, c: int) -> McNemarResult:
    """Exact and mid-p McNemar tests from the two discordant counts."""
    _check_counts(b, b + c)
    n = b + c
    if n == 0:
        return McNemarResult(b, c, 1.0, 1.0, 1.0, 1.0)
    low = min(b, c)
    tail = binom_cdf(low, n, 0.5)
    p_exact = min(1.0, 2.0 * tail)
    p_mid = min(1.0, 2.0 * (tail - 0.5 * binom_pmf(low, n, 0.5)))
    worse = binom_sf(b, n, 0.5)  # P(X >= b)
    worse_mid = worse - 0.5 * binom_pmf(b, n, 0.5)
    return McNemarResult(b, c, p_exact, p_mid, min(1.0, worse), min(1.0, worse_mid))


def mean_ci(total: float, total_sq: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Normal-approximation interval of a mean from its sums (large-n paired differences)."""
    if n < 2:
        return -math.inf, math.inf
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = z_value(confidence) * math.sqrt(var / n)
    return mean - half, mean + half


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"invalid counts: {k} of {n}")


def format_num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
