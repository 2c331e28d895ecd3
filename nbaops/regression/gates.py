"""Gates: turn metrics into verdicts, honestly.

* absolute -- the lower bound of the hit-rate interval must clear ``hit_rate_floor``
  (a point estimate would flap: at n = 500 its standard error is ~2.2 points);
* too good to be true -- a hit rate above ``hit_rate_ceiling`` (58%, the top of the target
  band) is flagged, and the leakage signatures decide between WARN (investigate) and FAIL;
* leakage -- predictions matching the actual points far too often, or correlating with
  them far better than the line does, or created after tip-off;
* relative -- the challenger is not significantly worse than the champion on the same bets
  (one-sided McNemar on the discordant pairs) and its MAE is not worse by more than
  ``mae_margin``;
* sample size -- below ``min_bets`` (``min_paired_bets``) a gate is INCONCLUSIVE, never PASS
  or FAIL;
* sanity -- no duplicate predictions, a real line for every prediction when
  REAL_LINES_ONLY, none created after its game started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from nbaops.regression.metrics import Metrics, PairedComparison
from nbaops.regression.settings import RegressionSettings
from nbaops.regression.stats import format_num
from nbaops.report import format_p, format_pct, places_beside, round_beside
from nbaops.verdict import CheckResult, Verdict

SERVICE = "prediction-worker"


def evaluate(metrics: Metrics, settings: RegressionSettings, query: str = "") -> list[CheckResult]:
    """All gate verdicts for the metrics of one evaluation window."""
    if metrics.rows == 0:
        return [
            CheckResult(
                name="graded_predictions",
                service=SERVICE,
                verdict=Verdict.INCONCLUSIVE,
                value=0,
                threshold="> 0 graded predictions",
                unit="predictions",
                message="no graded predictions in the window: nothing to judge",
                query=query,
            )
        ]
    checks: list[CheckResult] = []
    for version in dict.fromkeys(v for v in (settings.champion, settings.challenger) if v):
        if version not in metrics.systems:
            checks.append(
                CheckResult(
                    name=f"hit_rate_floor:{version}",
                    service=SERVICE,
                    verdict=Verdict.INCONCLUSIVE,
                    value=None,
                    threshold=f"model version {version} present",
                    message=f"no graded predictions from {version}; versions present: "
                    + ", ".join(metrics.systems),
                    query=query,
                )
            )
            continue
        checks.append(hit_rate_floor(metrics, version, settings, query))
        checks.append(too_good_to_be_true(metrics, version, settings, query))
        checks.append(leakage(metrics, version, settings, query))
    checks.extend(sanity(metrics, settings, query))
    if settings.challenger and settings.champion and settings.challenger != settings.champion:
        comparison = next(
            (
                c
                for c in metrics.comparisons
                if c.champion == settings.champion and c.challenger == settings.challenger
            ),
            None,
        )
        checks.extend(relative(comparison, settings, query))
    return checks


def hit_rate_floor(
    metrics: Metrics, version: str, settings: RegressionSettings, query: str = ""
) -> CheckResult:
    g = metrics.overall(version)
    level = int(round(100 * settings.confidence_level))
    floor = settings.hit_rate_floor
    threshold = (
        f"Wilson {level}% lower bound > {format_pct(floor)} "
        f"with >= {settings.min_bets} decided bets"
    )

    def result(verdict: Verdict, message: str) -> CheckResult:
        return CheckResult(
            name=f"hit_rate_floor:{version}",
            service=SERVICE,
            verdict=verdict,
            # the interval's lower bound: what the threshold compares
            value=None if g is None or not g.decided else round_beside(g.hit_low, floor),
            threshold=threshold,
            unit=f"share ({level}% lower bound)",  # 0.4663, beside a threshold shown as 45.0%
            message=f"{version}: {message}",
            query=query,
            details={} if g is None else g.to_json(),
        )

    if g is None or g.decided < settings.min_bets or g.hit_rate is None:
        n = 0 if g is None else g.decided
        return result(
            Verdict.INCONCLUSIVE,
            f"{n} decided bets < {settings.min_bets}: too few to judge "
            f"(hit rate {format_pct(None if g is None else g.hit_rate)}, interval "
            f"{format_pct(None if g is None else g.hit_low, floor)}-"
            f"{format_pct(None if g is None else g.hit_high)})",
        )
    passed = g.hit_low > floor
    return result(
        Verdict.PASS if passed else Verdict.FAIL,
        f"hit rate {format_pct(g.hit_rate)} on {g.decided} bets ({g.pushes} pushes excluded); "
        f"interval {format_pct(g.hit_low, floor)}-{format_pct(g.hit_high)} "
        f"{'clears' if passed else 'does not clear'} the floor; "
        f"p = {format_p(g.p_vs_break_even)} vs break-even {format_pct(metrics.break_even)}",
    )


def _leak_evidence(metrics: Metrics, version: str, settings: RegressionSettings) -> list[str]:
    leak = metrics.leak.get(version)
    if leak is None:
        return []
    found: list[str] = []
    if leak.created_after_start:  # a fact: one is enough
        found.append(f"{leak.created_after_start} predictions created at or after tip-off")
    if leak.rows < settings.min_bets:  # the statistical signatures need a sample (ADR 0006)
        return found
    if leak.exact_share is not None and leak.exact_share > settings.leakage.max_exact_share:
        limit = settings.leakage.max_exact_share
        found.append(
            f"{format_pct(leak.exact_share, limit)} of predictions within 0.5 points of the "
            f"actual (limit {format_pct(limit)})"
        )
    if leak.corr_prediction is not None and leak.corr_line is not None:
        gain = leak.corr_prediction - leak.corr_line
        limit = settings.leakage.max_corr_gain
        if gain > limit:
            shown = f"{gain:.{places_beside(gain, limit, places=2)}f}"  # never onto the limit
            found.append(
                f"corr(prediction, actual) {leak.corr_prediction:.2f} exceeds the line's "
                f"{leak.corr_line:.2f} by {shown} (limit {limit:g})"
            )
    return found


def leakage(
    metrics: Metrics, version: str, settings: RegressionSettings, query: str = ""
) -> CheckResult:
    leak = metrics.leak.get(version)
    evidence = _leak_evidence(metrics, version, settings)
    threshold = (
        f"exact share <= {format_pct(settings.leakage.max_exact_share)}, corr gain over the line "
        f"<= {settings.leakage.max_corr_gain:g}, none created after tip-off"
    )
    details = {} if leak is None else leak.to_json()

    def result(verdict: Verdict, value: int | None, message: str) -> CheckResult:
        return CheckResult(
            name=f"leakage:{version}",
            service=SERVICE,
            verdict=verdict,
            value=value,
            threshold=threshold,
            unit="signatures",
            message=f"{version}: {message}",
            query=query,
            details=details,
        )

    if evidence:
        return result(Verdict.FAIL, len(evidence), "leakage signature: " + "; ".join(evidence))
    if leak is None or leak.rows < settings.min_bets:
        n = 0 if leak is None else leak.rows
        return result(
            Verdict.INCONCLUSIVE,
            None,
            "too few graded predictions to judge the exact share and the correlations "
            f"({n} < {settings.min_bets}); none created after tip-off",
        )
    exact = format_pct(leak.exact_share, settings.leakage.max_exact_share)
    if leak.corr_prediction is None or leak.corr_line is None:
        return result(
            Verdict.INCONCLUSIVE,
            None,
            f"no exact-share signature ({exact}), but the correlations "
            "cannot be computed (constant predictions, lines or outcomes): leakage not ruled out",
        )
    return result(
        Verdict.PASS,
        0,
        f"no leakage signature (exact share {exact}, corr "
        f"{format_num(leak.corr_prediction)} vs line {format_num(leak.corr_line)})"
        + ("" if leak.with_timestamps else "; creation times unknown (see created_before_tipoff)"),
    )


def too_good_to_be_true(
    metrics: Metrics, version: str, settings: RegressionSettings, query: str = ""
) -> CheckResult:
    g = metrics.overall(version)
    threshold = f"hit rate <= {format_pct(settings.hit_rate_ceiling)} (top of the target band)"

    def result(verdict: Verdict, value: float | None, message: str) -> CheckResult:
        return CheckResult(
            name=f"too_good_to_be_true:{version}",
            service=SERVICE,
            verdict=verdict,
            value=value,
            threshold=threshold,
            unit="share",  # 0.5802, beside a ceiling shown as 58.0%
            message=f"{version}: {message}",
            query=query,
        )

    if g is None or g.hit_rate is None or g.decided < settings.min_bets:
        return result(
            Verdict.INCONCLUSIVE,
            None if g is None else g.hit_rate,
            "too few decided bets to judge",
        )
    rate = format_pct(g.hit_rate, settings.hit_rate_ceiling)
    value = round_beside(g.hit_rate, settings.hit_rate_ceiling)
    if g.hit_rate <= settings.hit_rate_ceiling:
        return result(Verdict.PASS, value, f"hit rate {rate} is within the plausible range")
    evidence = _leak_evidence(metrics, version, settings)
    if evidence:
        return result(
            Verdict.FAIL,
            value,
            f"hit rate {rate} is too good to be true and the leak hunt found: "
            + "; ".join(evidence),
        )
    return result(
        Verdict.WARN,
        value,
        f"hit rate {rate} is above the target band; no leak signature found, but check the "
        "features for information from after tip-off",
    )


def sanity(metrics: Metrics, settings: RegressionSettings, query: str = "") -> list[CheckResult]:
    repredicted = sum(s.repredictions for s in metrics.sanity.values())
    note = (
        f"; {repredicted} re-predictions in later batches (the latest before tip-off is graded)"
        if repredicted
        else ""
    )
    duplicates = _rows_gate(
        "no_duplicate_predictions",
        {v: s.duplicates for v, s in metrics.sanity.items()},
        threshold="0 rows repeating a (version, game, player, batch) or a prediction id",
        failing="duplicate rows by version (each counted once): {} (metrics keep the latest "
        "of each)",
        passing="one prediction per version, game, player and batch" + note,
        query=query,
        details={v: s.to_json() for v, s in metrics.sanity.items()},
    )
    repeated_keys = sum(s.duplicate_rows for s in metrics.sanity.values())
    repeated_ids = sum(s.duplicate_ids for s in metrics.sanity.values())
    if "batch_id" in metrics.missing_columns and repeated_keys and not repeated_ids:
        # A (version, game, player) predicted twice is a re-prediction of a later batch or a
        # duplicate: without batch_id the two look the same.
        duplicates = replace(
            duplicates,
            verdict=Verdict.INCONCLUSIVE,
            message=f"{repeated_keys} rows repeat a (version, game, player) and the input has "
            "no batch_id column: cannot tell re-predictions of later batches from duplicates "
            "(metrics keep the latest of each)",
        )
    checks = [
        duplicates,
        # A NaN or infinite number is a broken export or model; the metrics read those
        # values as missing (a NaN prediction is an ungraded row).
        _rows_gate(
            "finite_values",
            {v: s.nonfinite for v, s in metrics.sanity.items()},
            threshold="0 rows with a NaN or infinite number",
            failing="rows with a NaN or infinite predicted_points, actual_points, line_value, "
            "confidence or minutes (read as missing): {}",
            passing="every number is finite",
            query=query,
        ),
        _outcomes(metrics, settings, query),
    ]
    if settings.real_lines_only:
        # Without a line_source column a row without any line is proved not REAL; the
        # others cannot be told apart: INCONCLUSIVE unless such a row FAILs the gate.
        unsourced = "line_source" in metrics.missing_columns
        why = "the input has no line_source column: cannot tell REAL lines from estimated ones"
        real_lines = _rows_gate(
            "real_lines_only",
            {v: s.no_line if unsourced else s.missing_real_line for v, s in metrics.sanity.items()},
            threshold="every prediction has a REAL line (REAL_LINES_ONLY)",
            failing=f"predictions without a line: {{}} (and {why})"
            if unsourced
            else "predictions without a real line: {}",
            passing="every prediction has a real line",
            query=query,
        )
        if unsourced and real_lines.verdict is Verdict.PASS:
            real_lines = replace(real_lines, verdict=Verdict.INCONCLUSIVE, value=None, message=why)
        checks.append(real_lines)
    late = {v: s.created_after_start for v, s in metrics.leak.items() if s.created_after_start}
    measured = sum(s.with_timestamps for s in metrics.leak.values())
    graded = sum(s.rows for s in metrics.leak.values())
    unjudged = max(graded - measured, 0)  # graded rows without a creation time
    fallback = sum(s.tipoff_from_game_date for s in metrics.leak.values())
    n_late = sum(late.values())
    if measured == 0:
        verdict, message = (
            Verdict.INCONCLUSIVE,
            "created_at or game start unknown: cannot tell when predictions were made",
        )
    elif n_late:
        verdict = Verdict.FAIL
        message = "created at or after tip-off: " + ", ".join(
            f"{v}={n}" for v, n in sorted(late.items())
        )
    elif not unjudged:
        verdict, message = Verdict.PASS, f"all {measured} predictions created before tip-off"
    else:  # what was measured is clean; the rest was not measured, and says so
        judged = measured / graded
        verdict = Verdict.WARN if judged >= TIMED_SHARE_FOR_WARN else Verdict.INCONCLUSIVE
        message = (
            f"{measured} of {graded} predictions ({format_pct(judged)}) have a creation time, "
            f"all before tip-off; {unjudged} without created_at could not be judged"
        )
    if measured and fallback:
        message += f" ({fallback} without game_start: judged against 12:00 ET of the game day)"
    checks.append(
        CheckResult(
            name="created_before_tipoff",
            service=SERVICE,
            verdict=verdict,
            value=n_late,
            threshold="0 predictions created at or after the game's start",
            unit="predictions",
            message=message,
            query=query,
        )
    )
    return checks


# created_before_tipoff below this share of graded rows with a creation time is
# INCONCLUSIVE, at or above it (but not all) WARN: what was not measured is never a PASS.
TIMED_SHARE_FOR_WARN = 0.95


def _rows_gate(
    name: str,
    counts: dict[str, int],
    *,
    threshold: str,
    failing: str,
    passing: str,
    query: str,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """FAIL when any version has such rows (``failing`` lists them: ``v8=2, v9=1`` in
    place of ``{}``), PASS otherwise; the value is the total."""
    bad = {v: n for v, n in sorted(counts.items()) if n}
    total = sum(bad.values())
    listed = ", ".join(f"{v}={n}" for v, n in bad.items())
    return CheckResult(
        name=name,
        service=SERVICE,
        verdict=Verdict.FAIL if total else Verdict.PASS,
        value=total,
        threshold=threshold,
        unit="rows",
        message=failing.format(listed) if total else passing,
        query=query,
        details=details or {},
    )


def _outcomes(metrics: Metrics, settings: RegressionSettings, query: str) -> CheckResult:
    """Rows without an outcome are not graded: report how many, and gate their share."""
    missing = {v: s.missing_outcomes for v, s in metrics.sanity.items() if s.missing_outcomes}
    total = sum(s.rows for s in metrics.sanity.values())
    n = sum(missing.values())
    share = n / total if total else 0.0
    limit = settings.max_missing_outcomes
    if not n:
        verdict, message = Verdict.PASS, f"all {total} rows have an outcome (actual_points)"
    else:
        verdict = Verdict.FAIL if share > limit else Verdict.WARN
        message = (
            f"{n} of {total} rows ({format_pct(share, limit)}) have no actual_points or prediction "
            "and are not graded: " + ", ".join(f"{v}={k}" for v, k in sorted(missing.items()))
        )
    return CheckResult(
        name="outcomes_present",
        service=SERVICE,
        verdict=verdict,
        value=n,
        threshold=f"rows without an outcome: WARN > 0, FAIL > {format_pct(limit)}",
        unit="rows",
        message=message,
        query=query,
    )


def relative(
    comparison: PairedComparison | None, settings: RegressionSettings, query: str = ""
) -> list[CheckResult]:
    champ, chall = settings.champion, settings.challenger
    mcnemar = partial(
        CheckResult,
        f"challenger_vs_champion:{chall}>{champ}",
        SERVICE,
        threshold=f"one-sided McNemar ({settings.mcnemar}) p >= {settings.alpha} "
        f"with >= {settings.min_paired_bets} paired bets",
        query=query,
    )
    mae = partial(
        CheckResult,
        f"mae_vs_champion:{chall}>{champ}",
        SERVICE,
        threshold=f"MAE(challenger) - MAE(champion) <= {settings.mae_margin} points",
        query=query,
    )
    if comparison is None or comparison.shared == 0:
        message = f"no player-games predicted by both {champ} and {chall}"
        return [
            mcnemar(verdict=Verdict.INCONCLUSIVE, value=None, message=message),
            mae(verdict=Verdict.INCONCLUSIVE, value=None, message=message),
        ]
    return [  # each its own details (no dict shared between two results)
        _mcnemar_check(comparison, settings, partial(mcnemar, details=comparison.to_json())),
        _mae_check(comparison, settings, partial(mae, unit="points", details=comparison.to_json())),
    ]


def _mcnemar_check(
    c: PairedComparison, settings: RegressionSettings, result: Callable[..., CheckResult]
) -> CheckResult:
    """The McNemar gate; ``result`` makes its CheckResult (name, threshold, details set)."""
    if c.paired_bets < settings.min_paired_bets:
        return result(
            verdict=Verdict.INCONCLUSIVE,
            value=None,
            message=f"{c.paired_bets} paired bets < {settings.min_paired_bets}: too few to compare",
        )
    mc = c.mcnemar
    p = mc.p_challenger_worse if settings.mcnemar == "exact" else mc.p_challenger_worse_mid
    assert c.champion_hit_rate is not None and c.challenger_hit_rate is not None
    delta = c.challenger_hit_rate - c.champion_hit_rate
    worse = p < settings.alpha
    verdict = Verdict.FAIL if worse else Verdict.PASS
    summary = (
        f"on {c.paired_bets} shared bets {c.challenger} hit {format_pct(c.challenger_hit_rate)} vs "
        f"{c.champion} {format_pct(c.champion_hit_rate)} ({100 * delta:+.1f} points); discordant "
        f"{mc.b} champion-only vs {mc.c} challenger-only, p(worse) = {format_p(p, settings.alpha)} "
        f"({settings.mcnemar} McNemar)"
    )
    if worse:
        message = f"{c.challenger} is significantly worse: {summary}"
    elif mc.b == mc.c:
        message = f"tie: {summary}"
    else:
        message = f"not significantly worse: {summary}"
    return result(
        verdict=verdict,
        # what the threshold compares (the gap is in the message), never rounded onto
        # alpha, nor up to a p-value of 1 it is not (report.format_p)
        value=round_beside(p, settings.alpha, 1.0),
        unit="p-value",
        message=message,
    )


def _mae_check(
    c: PairedComparison, settings: RegressionSettings, result: Callable[..., CheckResult]
) -> CheckResult:
    """The MAE gate; ``result`` makes its CheckResult (name, threshold, unit, details set)."""
    if c.shared < settings.min_paired_bets or c.mae_diff is None:
        return result(
            verdict=Verdict.INCONCLUSIVE,
            value=c.mae_diff,
            message=f"{c.shared} shared predictions < {settings.min_paired_bets}: too few",
        )

    def gap(value: float) -> str:  # never rounded onto the margin it is judged against
        return f"{value:+.{places_beside(value, settings.mae_margin, places=3)}f}"

    summary = (
        f"MAE {c.challenger} {c.mae_challenger:.2f} vs {c.champion} {c.mae_champion:.2f} "
        f"on {c.shared} shared predictions: {gap(c.mae_diff)} "
        f"(interval {gap(c.mae_diff_low)} to {gap(c.mae_diff_high)})"
    )
    if c.mae_diff_low > settings.mae_margin:
        verdict, message = Verdict.FAIL, f"worse by more than the margin: {summary}"
    elif c.mae_diff > settings.mae_margin:
        verdict, message = Verdict.WARN, f"possibly worse than the margin: {summary}"
    else:
        verdict, message = Verdict.PASS, summary
    return result(
        verdict=verdict, value=round_beside(c.mae_diff, settings.mae_margin), message=message
    )
