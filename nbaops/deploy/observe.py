"""Post-deploy validation measured repeatedly over an observation window.

One *round* runs every post-deploy measurement once (the new revision's health, the
service's data checks, its error logs) and combines them with :func:`~nbaops.verdict.worst`.
The window runs up to ``count`` rounds, ``interval_s`` apart, and stops early when a
limit is reached:

- ``failure_limit`` FAIL rounds → FAIL (default 1: the first failure decides);
- ``inconclusive_limit`` INCONCLUSIVE rounds → INCONCLUSIVE;
- ``consecutive_error_limit`` ERROR rounds in a row → ERROR (an isolated error, e.g. one
  timed-out query, is tolerated and the next round measures again).

When the window ends without reaching a limit: no clean round at all → ERROR (if any
round errored) or INCONCLUSIVE — a window that never measured is never PASS; otherwise
PASS, or WARN when some round warned or a tolerated FAIL/ERROR/INCONCLUSIVE occurred.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nbaops.errors import ConfigError
from nbaops.settings import setting
from nbaops.verdict import CheckResult, Verdict, worst


@dataclass(frozen=True)
class ObservationPolicy:
    """How long and how strictly a new revision is observed (``deploy.observation``)."""

    interval_s: float = setting(30.0, minimum=0)
    count: int = setting(10, minimum=1)
    failure_limit: int = setting(1, minimum=1)
    inconclusive_limit: int = setting(3, minimum=1)
    consecutive_error_limit: int = setting(3, minimum=1)

    def check(self, where: str) -> None:
        # FAIL rounds below the limit are tolerated (WARN): a limit above count tolerated
        # a window of nothing but FAIL rounds. (The other limits may exceed count: the end
        # of the window decides then.)
        if self.failure_limit > self.count:
            raise ConfigError(
                f"{where}.failure_limit: {self.failure_limit} is more than count "
                f"({self.count}): FAIL rounds could never stop the deploy"
            )

    def describe(self) -> str:
        return (
            f"{self.count} rounds every {self.interval_s:g}s; stop at {self.failure_limit} FAIL, "
            f"{self.inconclusive_limit} INCONCLUSIVE or {self.consecutive_error_limit} "
            "consecutive ERROR rounds"
        )


@dataclass
class ObservationRound:
    index: int
    results: list[CheckResult]

    @property
    def verdict(self) -> Verdict:
        return worst(r.verdict for r in self.results)

    def summary(self) -> str:
        bad = [r for r in self.results if r.verdict is not Verdict.PASS]
        if not bad:
            return f"round {self.index}: PASS ({len(self.results)} checks)"
        parts = "; ".join(f"{r.name} {r.verdict.value}: {r.message}" for r in bad)
        return f"round {self.index}: {self.verdict.value} — {parts}"


@dataclass
class ObservationResult:
    verdict: Verdict
    reason: str
    rounds: list[ObservationRound] = field(default_factory=list)

    def to_check(self, service: str, policy: ObservationPolicy) -> CheckResult:
        """The whole window as one CheckResult (for reports and the audit row)."""
        return CheckResult(
            name="observation",
            service=service,
            verdict=self.verdict,
            value=len(self.rounds),
            threshold=policy.describe(),
            message=self.reason,
            query="; ".join(sorted({r.name for rnd in self.rounds for r in rnd.results})),
            details={"rounds": [rnd.summary() for rnd in self.rounds]},
        )


Measure = Callable[[int], list[CheckResult]]


def observe(
    measure: Measure,
    policy: ObservationPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_round: Callable[[ObservationRound], None] | None = None,
    extend: Callable[[int], float] | None = None,
) -> ObservationResult:
    """Run the observation window and decide its verdict.

    Args:
        measure: runs one round (its argument is the 1-based round number) and returns
            its results; an exception counts as an ERROR round.
        policy: interval, count and limits.
        sleep: injectable for tests (a zero interval never sleeps anyway).
        on_round: progress callback after each round.
        extend: asked after the last round (and each extra one) that no limit stopped:
            seconds to wait before one more round, 0 to end the window (a canary still
            collecting its sample, :meth:`nbaops.canary.run.CanaryRounds.extend`).

    Returns:
        The verdict, a one-line reason and every round's results.
    """
    rounds: list[ObservationRound] = []
    failures = inconclusive = errors = consecutive_errors = warned = 0
    index = 0
    while True:
        index += 1
        try:
            results = measure(index)
        except Exception as exc:  # a round that could not measure is an ERROR round
            results = [CheckResult.error("observation_round", "*", exc)]
        if not results:  # nothing measured is never PASS
            message = "no post-deploy measurement returned a result"
            results = [CheckResult.timed("observation_round", "*", Verdict.INCONCLUSIVE, message)]
        rnd = ObservationRound(index, results)
        rounds.append(rnd)
        if on_round is not None:
            on_round(rnd)
        verdict = rnd.verdict
        if verdict is Verdict.ERROR:
            errors += 1
            consecutive_errors += 1
        else:
            consecutive_errors = 0
        if verdict is Verdict.FAIL:
            failures += 1
        elif verdict is Verdict.INCONCLUSIVE:
            inconclusive += 1
        elif verdict is Verdict.WARN:
            warned += 1
        if failures >= policy.failure_limit:
            return ObservationResult(
                Verdict.FAIL,
                f"{failures} failing round(s) reached the limit of {policy.failure_limit} "
                f"({rnd.summary()})",
                rounds,
            )
        if consecutive_errors >= policy.consecutive_error_limit:
            return ObservationResult(
                Verdict.ERROR,
                f"{consecutive_errors} consecutive rounds could not measure ({rnd.summary()})",
                rounds,
            )
        if inconclusive >= policy.inconclusive_limit:
            return ObservationResult(
                Verdict.INCONCLUSIVE,
                f"{inconclusive} inconclusive round(s) reached the limit of "
                f"{policy.inconclusive_limit} ({rnd.summary()})",
                rounds,
            )
        wait = policy.interval_s if index < policy.count else 0.0
        if index >= policy.count and (extend is None or (wait := extend(index)) <= 0):
            break
        if wait > 0:
            sleep(wait)
    clean = len(rounds) - failures - inconclusive - errors
    if clean == 0:
        verdict = Verdict.ERROR if errors else Verdict.INCONCLUSIVE
        return ObservationResult(
            verdict, f"no round of {len(rounds)} measured a clean result", rounds
        )
    tolerated = failures + inconclusive + errors
    if tolerated or warned:
        # "clean" above counts WARN rounds as measured-and-not-failing; say it plainly:
        # how many passed, how many warned, how many failed but stayed under the limits.
        parts = [f"{clean - warned} of {len(rounds)} rounds passed"]
        if warned:
            parts.append(f"{warned} warned")
        if tolerated:
            parts.append(f"{tolerated} FAIL/INCONCLUSIVE/ERROR tolerated below the limits")
        return ObservationResult(Verdict.WARN, ", ".join(parts), rounds)
    return ObservationResult(Verdict.PASS, f"all {len(rounds)} rounds passed", rounds)
