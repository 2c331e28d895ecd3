"""nbaops.regression.stats: hand-computed cases and scipy/statsmodels reference values."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binom, binomtest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from nbaops.regression import stats
from nbaops.report import format_p, format_pct


def test_break_even_at_minus_110() -> None:
    assert abs(stats.BREAK_EVEN_MINUS_110 - 0.5238095) < 1e-7


def test_wilson_by_hand_5_of_10() -> None:
    # centre = (p + z²/2n) / (1 + z²/n) = 0.5; half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
    z = 1.959963984540054
    half = z * math.sqrt(0.025 + z * z / 400) / (1 + z * z / 10)
    low, high = stats.wilson_interval(5, 10)
    assert low == pytest.approx(0.5 - half, abs=1e-12)
    assert high == pytest.approx(0.5 + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)


def test_wilson_edges_stay_inside_unit_interval() -> None:
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)  # nothing measured: anything possible
    low, high = stats.wilson_interval(0, 20)
    assert low == 0.0 and 0 < high < 0.2
    low, high = stats.wilson_interval(20, 20)
    assert 0.8 < low < 1.0 and high == 1.0


def test_wilson_standard_error_at_500_bets_is_about_2_2_points() -> None:
    low, high = stats.wilson_interval(275, 500)
    assert (high - low) / 2 / 1.96 == pytest.approx(0.0222, abs=0.0005)


@pytest.mark.parametrize(
    ("k", "n", "level"),
    [(280, 500, 0.95), (1, 3, 0.95), (0, 7, 0.9), (52, 100, 0.99), (5300, 10000, 0.95)],
)
def test_wilson_matches_statsmodels(k: int, n: int, level: float) -> None:
    expected = proportion_confint(k, n, alpha=1 - level, method="wilson")
    assert stats.wilson_interval(k, n, level) == pytest.approx(expected, abs=1e-12)


def test_binomial_tail_by_hand() -> None:
    # P(X >= 9 | n = 10, p = 1/2) = (C(10,9) + C(10,10)) / 2^10 = 11/1024
    assert stats.binom_sf(9, 10, 0.5) == pytest.approx(11 / 1024, rel=1e-12)
    assert stats.binom_cdf(1, 10, 0.5) == pytest.approx(11 / 1024, rel=1e-12)
    assert stats.binom_sf(0, 10, 0.3) == 1.0
    assert stats.binom_sf(11, 10, 0.3) == 0.0


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (280, 500, stats.BREAK_EVEN_MINUS_110),
        (5, 10, 0.5),
        (0, 10, 0.3),
        (10, 10, 0.3),
        (3, 7, 0.9),
        (262, 500, stats.BREAK_EVEN_MINUS_110),
        (530_000, 1_000_000, stats.BREAK_EVEN_MINUS_110),
        (100, 1_000_000, 0.0001),
    ],
)
def test_binomial_test_matches_scipy(k: int, n: int, p: float) -> None:
    expected = binomtest(k, n, p, alternative="greater").pvalue
    assert stats.binom_test_greater(k, n, p) == pytest.approx(expected, rel=1e-8, abs=1e-300)
    assert stats.binom_cdf(k, n, p) == pytest.approx(binom.cdf(k, n, p), rel=1e-8, abs=1e-300)


def test_binomial_test_with_no_bets_is_no_evidence() -> None:
    assert stats.binom_test_greater(0, 0, 0.5238) == 1.0


def test_invalid_counts_are_rejected() -> None:
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)
    with pytest.raises(ValueError):
        stats.binom_test_greater(-1, 10, 0.5)
    with pytest.raises(ValueError):
        stats.z_value(1.0)


def test_mcnemar_by_hand() -> None:
    # b = 10, c = 3: two-sided exact p = 2·P(X <= 3 | 13, 1/2) = 2·(1+13+78+286)/8192
    r = stats.mcnemar(10, 3)
    assert r.p_two_sided == pytest.approx(756 / 8192, rel=1e-12)
    # one-sided "challenger worse": P(X >= 10 | 13) = (286+78+13+1)/8192
    assert r.p_challenger_worse == pytest.approx(378 / 8192, rel=1e-12)
    # mid-p subtracts half the probability of the observed value
    assert r.p_challenger_worse_mid == pytest.approx((378 - 286 / 2) / 8192, rel=1e-12)
    assert r.p_two_sided_mid == pytest.approx(2 * (378 - 286 / 2) / 8192, rel=1e-12)


def test_mcnemar_ties_and_empty() -> None:
    assert stats.mcnemar(0, 0).p_two_sided == 1.0
    tie = stats.mcnemar(25, 25)
    assert tie.p_two_sided == 1.0
    assert tie.p_challenger_worse > 0.5
    better = stats.mcnemar(3, 30)  # challenger better: one-sided "worse" p is near 1
    assert better.p_challenger_worse > 0.99


@pytest.mark.parametrize(("b", "c"), [(10, 3), (40, 20), (57, 60), (1, 0), (500, 430)])
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    table = [[100, b], [c, 100]]
    expected = sm_mcnemar(table, exact=True).pvalue
    assert stats.mcnemar(b, c).p_two_sided == pytest.approx(expected, rel=1e-9)
    one_sided = binomtest(b, b + c, 0.5, alternative="greater").pvalue
    assert stats.mcnemar(b, c).p_challenger_worse == pytest.approx(one_sided, rel=1e-9)


def test_mean_ci_of_paired_differences() -> None:
    values = [0.5, -0.2, 0.1, 0.4, 0.0, 0.3]
    low, high = stats.mean_ci(sum(values), sum(v * v for v in values), len(values))
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    assert (low + high) / 2 == pytest.approx(mean)
    assert (high - low) / 2 == pytest.approx(1.959963984540054 * sd / math.sqrt(len(values)))
    assert stats.mean_ci(1.0, 1.0, 1) == (-math.inf, math.inf)


def test_a_zero_confidence_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="confidence"):
        stats.z_value(0.0)


def test_wilson_upper_bound_is_below_one_unless_every_bet_hit() -> None:
    low, high = stats.wilson_interval(19, 20)
    assert high < 1.0
    assert (low, high) == pytest.approx(proportion_confint(19, 20, method="wilson"), abs=1e-12)


@pytest.mark.parametrize(("k", "n", "p", "expected"), [
    (0, 10, 0.0, 1.0), (3, 10, 0.0, 0.0), (10, 10, 1.0, 1.0), (9, 10, 1.0, 0.0),
])  # fmt: skip
def test_binomial_pmf_at_a_certain_rate(k: int, n: int, p: float, expected: float) -> None:
    assert stats.binom_pmf(k, n, p) == expected


def test_binomial_lower_tail_keeps_its_precision_far_below_the_mean() -> None:
    # P(X <= 100 | 1000, 1/2) ~ 1e-149: 1 - (sum of the other tail) would give 0
    expected = binom.cdf(100, 1000, 0.5)
    assert expected < 1e-100
    assert stats.binom_cdf(100, 1000, 0.5) == pytest.approx(expected, rel=1e-8)


def test_binomial_test_on_a_single_bet() -> None:
    p0 = stats.BREAK_EVEN_MINUS_110
    assert stats.binom_test_greater(1, 1, p0) == pytest.approx(
        binomtest(1, 1, p0, alternative="greater").pvalue, rel=1e-12
    )


def test_mean_ci_of_two_values_is_finite() -> None:
    low, high = stats.mean_ci(1.0 + 3.0, 1.0 + 9.0, 2)
    assert low < 2.0 < high and high - low < 100


def test_mean_ci_of_identical_values_is_a_point_not_a_crash() -> None:
    values = [0.1, 0.1, 0.1]  # total_sq - n·mean² is -3e-18 in floating point
    low, high = stats.mean_ci(sum(values), sum(v * v for v in values), len(values))
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)


def test_unknown_values_format_as_a_dash() -> None:
    assert format_pct(None) == "-"
    assert stats.format_num(None) == "-"
    assert (format_pct(0.5423), stats.format_num(1.234)) == ("54.2%", "1.23")


@pytest.mark.parametrize("level", [0.5, 0.68, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999])
def test_z_value_is_scipys_normal_quantile(level: float) -> None:
    """Newton on erfc gives the normal quantile to double precision (scipy's ``norm.isf``
    of the upper tail, which keeps its precision where ``1 - tail`` would round)."""
    from scipy.stats import norm

    assert stats.z_value(level) == pytest.approx(norm.isf((1 - level) / 2), rel=1e-14)


@pytest.mark.parametrize(
    ("p", "alpha", "shown"),
    [
        (0.049996, 0.05, "0.049996"),  # under alpha: a FAIL beside "p >= 0.05" read "0.05"
        (0.050004, 0.05, "0.050004"),
        (0.05, 0.05, "0.05"),
        (0.0123456, 0.05, "0.0123"),  # far from alpha: three significant digits
        (0.049996, None, "0.05"),  # no alpha to keep a side of
        # a configured alpha below 0.001: decimals showed "0.000", significant digits keep
        # the value and its side
        (9.9996e-8, 1e-7, "9.9996e-08"),
        (4.99996e-7, 5e-7, "4.99996e-07"),
        (1.00004e-7, 1e-7, "1.00004e-07"),
        (0.00049996, 0.0005, "0.00049996"),
        (3e-8, 1e-7, "3e-08"),
    ],
)
def test_a_p_value_is_never_shown_on_the_alpha_it_is_judged_against(
    p: float, alpha: float | None, shown: str
) -> None:
    assert format_p(p, alpha) == shown
