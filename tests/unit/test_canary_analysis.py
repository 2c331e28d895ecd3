"""The per-metric verdict table, the analysis report and ``deploy.canary_analysis``."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from nbaops.canary.analysis import CanaryAnalysis, Sample, analyse, judge
from nbaops.canary.settings import METRIC_DEFAULTS, WHERE, CanarySettings, MetricSpec
from nbaops.canary.stats import proportion_test
from nbaops.errors import ConfigError, MonitoringError
from nbaops.settings import load_section
from nbaops.verdict import Verdict


def canary_settings(section: dict[str, object]) -> CanarySettings:
    """``deploy.canary_analysis`` read the way DeploySettings reads it."""
    return load_section(section, CanarySettings, WHERE)


ERR = METRIC_DEFAULTS["error_rate"]
LAT = METRIC_DEFAULTS["latency"]
INST = METRIC_DEFAULTS["instance_count"]
HIST = ((50.0, 400.0), (70.0, 400.0), (120.0, 200.0))
SLOW = ((70.0, 300.0), (120.0, 500.0), (200.0, 200.0))


def test_too_little_canary_traffic_is_inconclusive_never_pass() -> None:
    result = judge(ERR, Sample(n=10000, errors=10), Sample(n=150, errors=0), alpha=0.05)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "too little canary traffic" in result.message and result.p_value is None


def test_too_little_baseline_traffic_is_inconclusive() -> None:
    result = judge(ERR, Sample(n=100, errors=0), Sample(n=5000, errors=0), alpha=0.05)
    assert result.verdict is Verdict.INCONCLUSIVE and "baseline" in result.message


def test_significantly_worse_beyond_margin_fails() -> None:
    result = judge(ERR, Sample(n=10000, errors=40), Sample(n=2500, errors=100), alpha=0.05)
    assert result.verdict is Verdict.FAIL
    assert result.canary == pytest.approx(0.04) and result.baseline == pytest.approx(0.004)
    assert "pp worse" in result.message and result.margin == ERR.margin


def test_an_effect_just_past_the_margin_is_not_shown_as_the_margin() -> None:
    """1001 errors in 200,000 (0.5005%) against none is 0.5005 points worse than the
    baseline, past the 0.005 margin: the FAIL read "+0.50 pp worse, margin 0.005" (the
    margin as a fraction, beside an effect in points that rounded onto it)."""
    result = judge(ERR, Sample(n=100000, errors=0), Sample(n=200000, errors=1001), alpha=0.05)
    assert result.verdict is Verdict.FAIL, result.message
    assert "+0.5005 pp worse, margin 0.5 pp;" in result.message, result.message
    slower = judge(
        replace(LAT, min_sample=5, margin=0.1),
        Sample(n=6, values=((100.0, 6.0),)),
        Sample(n=6, values=((110.00001, 6.0),)),
        alpha=0.05,
    )
    assert "+10.00001% worse, margin 10%" in slower.message, slower.message


def test_worse_beyond_margin_but_not_significant_warns() -> None:
    loose = replace(ERR, min_sample=10)
    result = judge(loose, Sample(n=20, errors=0), Sample(n=20, errors=1), alpha=0.05)
    assert result.verdict is Verdict.WARN and "not significantly" in result.message


def test_significant_but_within_margin_passes() -> None:
    wide = replace(ERR, margin=0.05)
    result = judge(wide, Sample(n=100000, errors=400), Sample(n=50000, errors=400), alpha=0.05)
    assert result.p_value is not None and result.p_value < 0.05
    assert result.verdict is Verdict.PASS and "within the margin" in result.message


def test_a_better_canary_never_fails() -> None:
    result = judge(LAT, Sample(n=1000, values=SLOW), Sample(n=1000, values=HIST), alpha=0.05)
    assert result.verdict is Verdict.PASS and result.p_value is not None and result.p_value > 0.5


def test_slower_latency_fails_on_percentile_ratio() -> None:
    result = judge(LAT, Sample(n=1000, values=HIST), Sample(n=1000, values=SLOW), alpha=0.05)
    assert result.verdict is Verdict.FAIL and result.test == "Mann-Whitney U"
    assert result.baseline == 120.0 and result.canary == 200.0


def test_direction_decrease_makes_lower_worse() -> None:
    lower = replace(LAT, direction="decrease", name="throughput")
    assert (
        judge(lower, Sample(n=1000, values=SLOW), Sample(n=1000, values=HIST), alpha=0.05).verdict
        is Verdict.FAIL
    )
    assert (
        judge(lower, Sample(n=1000, values=HIST), Sample(n=1000, values=SLOW), alpha=0.05).verdict
        is Verdict.PASS
    )
    ratio = replace(ERR, direction="decrease", min_sample=10)
    fewer = judge(ratio, Sample(n=10000, errors=2000), Sample(n=10000, errors=1000), alpha=0.05)
    assert fewer.verdict is Verdict.FAIL


def test_gauge_compares_means_of_interval_values() -> None:
    gauge = MetricSpec("preds", "gauge", "custom.googleapis.com/x", min_sample=5, margin=0.1)
    base = tuple((v, 1.0) for v in (100.0, 101.0, 99.0, 100.0, 102.0, 98.0))
    worse = tuple((v, 1.0) for v in (130.0, 131.0, 129.0, 135.0, 128.0, 133.0))
    result = judge(gauge, Sample(n=6, values=base), Sample(n=6, values=worse), alpha=0.05)
    assert result.verdict is Verdict.FAIL and result.baseline == pytest.approx(100.0)


def test_zero_baseline_ratio() -> None:
    gauge = MetricSpec("g", "gauge", "x", min_sample=1, margin=0.1)
    zero = ((0.0, 1.0),)
    assert (
        judge(gauge, Sample(n=1, values=zero), Sample(n=1, values=zero), alpha=0.05).verdict
        is Verdict.PASS
    )
    up = judge(gauge, Sample(n=1, values=zero), Sample(n=1, values=((5.0, 1.0),)), alpha=0.05)
    assert up.verdict in (Verdict.WARN, Verdict.FAIL)


def test_a_negative_baseline_gauge_that_rises_is_worse_not_better() -> None:
    """The effect of a gauge is its change relative to the baseline's size: a mean that
    went from -100 to -60 rose by 40% (canary/base - 1 read it as 40% lower, i.e. PASS
    while Mann-Whitney found the canary significantly higher)."""
    gauge = MetricSpec("bias", "gauge", "custom.googleapis.com/x", min_sample=5, margin=0.1)
    base = tuple((v, 1.0) for v in (-100.0, -101.0, -99.0, -100.0, -102.0, -98.0))
    higher = tuple((v, 1.0) for v in (-60.0, -61.0, -59.0, -62.0, -58.0, -60.0))
    result = judge(gauge, Sample(n=6, values=base), Sample(n=6, values=higher), alpha=0.05)
    assert result.verdict is Verdict.FAIL, result.message
    assert "+40.0% worse" in result.message
    lower = judge(gauge, Sample(n=6, values=higher), Sample(n=6, values=base), alpha=0.05)
    assert lower.verdict is Verdict.PASS, lower.message
    zero, below = ((0.0, 1.0),), ((-5.0, 1.0),)
    spec = replace(gauge, min_sample=1)
    fell = judge(spec, Sample(n=1, values=zero), Sample(n=1, values=below), alpha=0.05)
    assert fell.verdict is Verdict.PASS, fell.message  # from 0 down to -5: lower, not worse


def test_no_data_in_the_window_is_inconclusive() -> None:
    result = judge(LAT, Sample(n=0), Sample(n=0), alpha=0.05)
    assert result.verdict is Verdict.INCONCLUSIVE and result.canary is None


def test_instances_are_reported_once_measured() -> None:
    assert judge(INST, Sample(n=0, peak=3), Sample(n=0, peak=1), alpha=0.05).verdict is Verdict.PASS
    missing = judge(INST, Sample(n=0, peak=3), Sample(n=0), alpha=0.05)
    assert missing.verdict is Verdict.INCONCLUSIVE


def test_analysis_names_the_deciding_metric_and_unreadable_is_error() -> None:
    out = analyse(
        [ERR, LAT, INST],
        [
            (Sample(n=10000, errors=40), Sample(n=2500, errors=100)),
            MonitoringError("boom"),
            (Sample(n=0, peak=2), Sample(n=0, peak=1)),
        ],
        alpha=0.05,
        baseline_revision="w-1",
        canary_revision="w-2",
        window="a/b",
        queries=["q1", "q2", "q3"],
    )
    assert out.verdict is Verdict.FAIL
    assert [m.verdict for m in out.metrics] == [Verdict.FAIL, Verdict.ERROR, Verdict.PASS]
    assert out.metrics[1].message.startswith("could not read the metric: MonitoringError: boom")
    data = out.to_json()
    assert data["deciding_metric"] == "error_rate" and data["metrics"][0]["p_value"] < 0.05
    assert set(data["metrics"][0]) >= {
        "name",
        "baseline",
        "canary",
        "test",
        "p_value",
        "margin",
        "verdict",
        "message",
    }
    check = out.to_check("prediction-worker")
    assert check.verdict is Verdict.FAIL and check.message.startswith("error_rate FAIL")
    assert check.query == "q1; q2; q3"
    table = out.table()
    assert table[0].startswith("metric") and "0.40%" in table[1] and "4.00%" in table[1]
    assert table[2].endswith("ERROR") and " - " in table[2]


def test_all_pass_has_no_deciding_metric_and_empty_is_inconclusive() -> None:
    ok = analyse(
        [INST],
        [(Sample(n=0, peak=1), Sample(n=0, peak=1))],
        alpha=0.05,
        baseline_revision="a",
        canary_revision="b",
        window="w",
    )
    assert ok.verdict is Verdict.PASS and ok.deciding is None
    assert ok.summary() == "all 1 metrics within their margins"
    empty = CanaryAnalysis("a", "b", "w")
    assert empty.verdict is Verdict.INCONCLUSIVE and "nothing was compared" in empty.summary()


# --------------------------------------------------------------------------- settings


def test_defaults_and_per_service_overrides_and_custom_metrics() -> None:
    settings = canary_settings(
        {
            "window_s": 900,
            "metrics": {"latency": {"percentile": 99}},
            "services": {
                "prediction-worker": {
                    "latency": {"margin": 0.05},
                    "instance_count": {"enabled": False},
                    "custom": [
                        {
                            "name": "prediction_ms",
                            "kind": "distribution",
                            "metric_type": "logging.googleapis.com/user/prediction_ms",
                        },
                        {
                            "name": "predictions",
                            "kind": "gauge",
                            "direction": "decrease",
                            "metric_type": "custom.googleapis.com/predictions",
                            "min_sample": 3,
                        },
                    ],
                }
            },
        }
    )
    assert settings.window_s == 900
    worker = {m.name: m for m in settings.for_service("prediction-worker")}
    assert set(worker) == {"error_rate", "latency", "prediction_ms", "predictions"}
    assert worker["latency"].margin == 0.05 and worker["latency"].percentile == 99
    assert worker["predictions"].direction == "decrease" and worker["predictions"].min_sample == 3
    assert worker["prediction_ms"].min_sample == 500
    other = {m.name: m for m in settings.for_service("grading-service")}
    assert other["latency"].margin == 0.10 and "instance_count" in other
    assert other["latency"].direction == "increase"  # the default: higher is worse


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"alignment_s": 30}, "alignment_s"),
        ({"window_s": 60, "alignment_s": 120}, "window_s"),
        ({"alpha": 0.7}, "alpha"),
        ({"metrics": {"cpu": {}}}, "unknown metric"),
        ({"metrics": {"latency": {"colour": 1}}}, "unknown key"),
        # the key that cannot be overridden is named, not the first key given
        (
            {"metrics": {"latency": {"margin": 0.2, "metric_type": "m"}}},
            "unknown key 'metric_type'",
        ),
        ({"metrics": {"latency": {"direction": "sideways"}}}, "direction"),
        ({"metrics": {"latency": {"min_sample": 0}}}, "min_sample"),
        ({"services": {"w": {"custom": [{"name": "x", "kind": "gauge"}]}}}, "missing metric_type"),
        (
            {"services": {"w": {"custom": [{"name": "x", "kind": "ratio", "metric_type": "m"}]}}},
            "kind",
        ),
        # a custom metric named like a built-in: two "latency" rows, the alert named the wrong
        (
            {
                "services": {
                    "w": {"custom": [{"name": "latency", "kind": "gauge", "metric_type": "m"}]}
                }
            },
            "metric name 'latency' is taken",
        ),
        # nothing judged: every canary rolled back (all off), or passed unmeasured (only
        # instance_count, which is reported, never judged)
        (
            {"metrics": {"error_rate": {"enabled": False}, "latency": {"enabled": False}}},
            "no metric that judges the canary is enabled",
        ),
        (
            {"services": {"w": {"error_rate": {"enabled": False}, "latency": {"enabled": False}}}},
            "services.w: no metric that judges the canary is enabled",
        ),
    ],
)
def test_bad_settings_are_config_errors(section: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        canary_settings(section)


def test_the_monitoring_client_is_imported_only_when_a_canary_is_analysed() -> None:
    import subprocess
    import sys

    code = (
        "import sys, nbaops.deploy.deploy, nbaops.canary.run, nbaops.adapters.monitoring, "
        "nbaops.context; print('google.cloud.monitoring_v3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_final_analysis_decides_a_window_that_passed() -> None:
    from nbaops.canary.run import CanaryRounds

    def analysis(verdict: Verdict) -> CanaryAnalysis:
        out = CanaryAnalysis("a", "b", "w")
        from nbaops.canary.analysis import MetricResult

        out.metrics.append(MetricResult("error_rate", verdict, "why"))
        return out

    rounds = CanaryRounds(None, "s", "a", "b", CanarySettings(), lambda *_: None, rounds=3)  # type: ignore[arg-type]
    assert rounds.conclude(Verdict.PASS, "ok") == (Verdict.PASS, "ok")  # no analysis yet
    assert rounds.to_json() is None
    rounds.last = analysis(Verdict.INCONCLUSIVE)
    verdict, reason = rounds.conclude(Verdict.WARN, "2 of 3 clean")
    assert verdict is Verdict.INCONCLUSIVE and reason.startswith("final canary analysis")
    assert "error_rate INCONCLUSIVE" in reason
    assert rounds.conclude(Verdict.FAIL, "health")[0] is Verdict.FAIL  # a failure stands
    rounds.last = analysis(Verdict.PASS)
    assert rounds.conclude(Verdict.WARN, "w") == (Verdict.WARN, "w")


def test_min_sample_is_the_smallest_sample_that_is_judged() -> None:
    spec = replace(ERR, min_sample=100)
    short = judge(spec, Sample(n=100, errors=0), Sample(n=99, errors=0), alpha=0.05)
    assert short.verdict is Verdict.INCONCLUSIVE
    enough = judge(spec, Sample(n=100, errors=0), Sample(n=100, errors=0), alpha=0.05)
    assert enough.verdict is Verdict.PASS


def test_a_canary_equal_to_its_baseline_passes_with_a_zero_margin() -> None:
    gauge = MetricSpec("g", "gauge", "x", min_sample=3, margin=0.0)
    same = tuple((v, 1.0) for v in (10.0, 11.0, 12.0))
    result = judge(gauge, Sample(n=3, values=same), Sample(n=3, values=same), alpha=0.05)
    assert result.verdict is Verdict.PASS


def test_p_exactly_alpha_is_not_significant() -> None:
    """Significant means p < alpha: at alpha equal to the test's own p-value the canary is
    worse but not significantly (WARN); a hair above it, it fails."""
    spec = replace(ERR, min_sample=10)
    baseline, canary = Sample(n=1000, errors=10), Sample(n=1000, errors=30)
    p = proportion_test(10, 1000, 30, 1000).p_value
    assert 0 < p < 0.05
    assert judge(spec, baseline, canary, alpha=p).verdict is Verdict.WARN
    assert judge(spec, baseline, canary, alpha=p * 1.000001).verdict is Verdict.FAIL


def test_rising_from_zero_is_better_for_a_metric_that_should_not_decrease() -> None:
    gauge = MetricSpec("g", "gauge", "x", min_sample=1, margin=0.1, direction="decrease")
    zero, five = ((0.0, 1.0),), ((5.0, 1.0),)
    result = judge(gauge, Sample(n=1, values=zero), Sample(n=1, values=five), alpha=0.05)
    assert result.verdict is Verdict.PASS


def test_the_check_names_the_deciding_metric_rounds_to_6_digits_and_skips_missing_queries() -> None:
    out = analyse(
        [ERR, INST],
        [
            (Sample(n=10000, errors=40), Sample(n=8100, errors=100)),
            (Sample(n=0, peak=2), Sample(n=0, peak=1)),
        ],
        alpha=0.05,
        baseline_revision="w-1",
        canary_revision="w-2",
        window="a/b",
        queries=["q1"],  # the instance count has no query
    )
    check = out.to_check("prediction-worker")
    assert check.verdict is Verdict.FAIL and check.value == "error_rate"
    assert check.query == "q1"
    assert out.to_json()["metrics"][0]["canary"] == 0.0123457  # 100 / 8100, 6 digits


def test_a_p_value_just_under_alpha_is_not_shown_as_alpha() -> None:
    """p = 0.02248 under a configured alpha of 0.0225 FAILed as significant while the
    message read "p=0.0225, alpha 0.0225" (three significant digits rounded it onto alpha);
    it keeps its side, as the regression gates' p-values do (report.format_p)."""
    spec = replace(ERR, margin=0.001)
    result = judge(spec, Sample(n=10000, errors=40), Sample(n=10000, errors=60), alpha=0.0225)
    assert result.verdict is Verdict.FAIL
    assert result.p_value is not None and result.p_value < 0.0225
    assert "p=0.022, alpha 0.0225)" in result.message, result.message


def test_the_round_table_and_the_json_keep_the_p_value_off_alpha() -> None:
    """The message kept p = 0.02248 off a 0.0225 alpha, but the round's progress table
    printed it with three significant digits ('0.0225 FAIL') and the JSON stored it with
    six, which round a p-value equally close onto the configured alpha it was judged by."""
    spec = replace(ERR, margin=0.001)
    base, canary = Sample(n=10000, errors=40), Sample(n=10000, errors=60)
    result = judge(spec, base, canary, alpha=0.0225)
    assert result.verdict is Verdict.FAIL
    out = CanaryAnalysis("w-1", "w-2", "a/b", [result])
    assert out.table()[1].split()[-2:] == ["0.022", "FAIL"], out.table()
    p = result.p_value
    assert p is not None
    alpha = float(f"{p:.6g}")  # six significant digits of p: on alpha
    assert alpha != p
    near = judge(spec, base, canary, alpha=alpha)
    stored = out.__class__("w-1", "w-2", "a/b", [near]).to_json()["metrics"][0]["p_value"]
    assert (stored < alpha) == (p < alpha) and stored != alpha, (stored, alpha)
    assert out.to_json()["metrics"][0]["p_value"] == float(f"{p:.6g}")  # far from alpha: 6


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_gauge_value_that_is_not_finite_measures_nothing(bad: float) -> None:
    """A NaN interval value made the canary's mean NaN: the effect was never "worse" and
    the metric PASSed unmeasured. Non-finite values are not measurements: they do not
    count toward min_sample, and with nothing finite left the metric is INCONCLUSIVE."""
    gauge = MetricSpec("preds", "gauge", "custom.googleapis.com/x", min_sample=3, margin=0.1)
    base = Sample(n=3, values=tuple((v, 1.0) for v in (100.0, 101.0, 99.0)))
    unmeasured = Sample(n=3, values=((bad, 1.0),) * 3)
    result = judge(gauge, base, unmeasured, alpha=0.05)
    assert result.verdict is Verdict.INCONCLUSIVE, result.message
    assert result.canary_sample == 0 and result.canary is None
    mixed = Sample(n=4, values=((bad, 1.0), (130.0, 1.0), (131.0, 1.0), (129.0, 1.0)))
    judged = judge(gauge, base, mixed, alpha=0.05)
    assert judged.canary_sample == 3 and judged.canary == pytest.approx(130.0)
    assert judged.verdict is not Verdict.PASS, judged.message


def test_the_error_rates_of_a_fail_with_a_zero_margin_read_apart() -> None:
    """With ``margin: 0`` a canary at 0.4004% FAILs beside a baseline at 0.4%, and two
    decimals read both as 0.40% in the round's table and in the message."""
    spec = replace(ERR, margin=0.0)
    base = Sample(n=5_000_000, errors=20_000)
    canary = Sample(n=5_000_000, errors=20_020)
    result = judge(spec, base, canary, alpha=0.5)
    assert result.verdict is Verdict.FAIL, result.message
    row = CanaryAnalysis("w-1", "w-2", "a/b", [result]).table()[1].split()
    assert row[1:3] == ["0.40%", "0.4004%"], row
    assert "0.4004% vs 0.40%" in result.message, result.message
