"""The observation window: limits, early stops and the final verdict."""

from __future__ import annotations

import pytest

from nbaops.deploy.observe import ObservationPolicy, observe
from nbaops.errors import ConfigError
from nbaops.settings import load_section
from nbaops.verdict import CheckResult, Verdict


def _r(verdict: Verdict, name: str = "c") -> CheckResult:
    return CheckResult(
        name=name,
        service="s",
        verdict=verdict,
        value=None,
        threshold="",
        message=verdict.value.lower(),
    )


def _script(*verdicts: Verdict):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def measure(index: int) -> list[CheckResult]:
        calls.append(index)
        return [_r(verdicts[index - 1])]

    return measure, calls


def policy(**kw: float) -> ObservationPolicy:
    base = {
        "interval_s": 0,
        "count": 3,
        "failure_limit": 1,
        "inconclusive_limit": 2,
        "consecutive_error_limit": 2,
    }
    base.update(kw)
    return load_section(base, ObservationPolicy, "deploy.observation")


def test_all_rounds_pass_is_pass() -> None:
    measure, calls = _script(Verdict.PASS, Verdict.PASS, Verdict.PASS)
    result = observe(measure, policy())
    assert result.verdict is Verdict.PASS
    assert calls == [1, 2, 3]
    assert "all 3 rounds passed" in result.reason


def test_first_failure_stops_the_window_at_failure_limit_one() -> None:
    measure, calls = _script(Verdict.PASS, Verdict.FAIL, Verdict.PASS)
    result = observe(measure, policy())
    assert result.verdict is Verdict.FAIL
    assert calls == [1, 2]


def test_a_failure_below_the_limit_is_tolerated_as_warn() -> None:
    measure, _ = _script(Verdict.PASS, Verdict.FAIL, Verdict.PASS)
    result = observe(measure, policy(failure_limit=2))
    assert result.verdict is Verdict.WARN
    assert "tolerated" in result.reason


def test_consecutive_errors_reach_their_limit() -> None:
    measure, calls = _script(Verdict.ERROR, Verdict.ERROR, Verdict.PASS)
    result = observe(measure, policy())
    assert result.verdict is Verdict.ERROR
    assert calls == [1, 2]


def test_isolated_errors_do_not_reach_the_consecutive_limit() -> None:
    measure, _ = _script(Verdict.ERROR, Verdict.PASS, Verdict.ERROR)
    result = observe(measure, policy())
    assert result.verdict is Verdict.WARN


def test_inconclusive_limit() -> None:
    measure, calls = _script(Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.INCONCLUSIVE)
    result = observe(measure, policy())
    assert result.verdict is Verdict.INCONCLUSIVE
    assert calls == [1, 2, 3]


def test_window_without_a_clean_round_is_never_pass() -> None:
    measure, _ = _script(Verdict.INCONCLUSIVE)
    assert observe(measure, policy(count=1)).verdict is Verdict.INCONCLUSIVE
    measure, _ = _script(Verdict.ERROR)
    assert observe(measure, policy(count=1)).verdict is Verdict.ERROR


def test_a_measure_that_raises_is_an_error_round() -> None:
    def measure(index: int) -> list[CheckResult]:
        raise RuntimeError("warehouse down")

    result = observe(measure, policy(count=2))
    assert result.verdict is Verdict.ERROR
    assert "warehouse down" in result.rounds[0].results[0].message


def test_an_empty_round_is_inconclusive() -> None:
    result = observe(lambda i: [], policy(count=1))
    assert result.verdict is Verdict.INCONCLUSIVE


def test_warn_round_makes_warn_and_interval_sleeps_between_rounds() -> None:
    slept: list[float] = []
    measure, _ = _script(Verdict.PASS, Verdict.WARN, Verdict.PASS)
    rounds: list[int] = []
    result = observe(
        measure, policy(interval_s=5), sleep=slept.append, on_round=lambda r: rounds.append(r.index)
    )
    assert result.verdict is Verdict.WARN
    assert slept == [5, 5]  # no sleep after the last round
    assert rounds == [1, 2, 3]
    check = result.to_check("s", policy(interval_s=5))
    assert check.name == "observation" and check.value == 3
    assert len(check.details["rounds"]) == 3


@pytest.mark.parametrize(
    "key", ["count", "failure_limit", "inconclusive_limit", "consecutive_error_limit"]
)
def test_limits_below_one_are_config_errors(key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        policy(**{key: 0})


def test_negative_interval_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="interval_s"):
        policy(interval_s=-1)


def test_warn_summary_counts_passed_and_warned_rounds_separately() -> None:
    measure, _ = _script(Verdict.WARN, Verdict.WARN, Verdict.WARN)
    result = observe(measure, policy())
    assert result.verdict is Verdict.WARN
    assert result.reason == "0 of 3 rounds passed, 3 warned"  # not "3 of 3 rounds clean"


def test_extend_runs_more_rounds_after_the_last_until_it_says_stop() -> None:
    """A canary still collecting after the last round asks for more rounds (and the wait
    before each); the window ends as soon as ``extend`` answers 0."""
    measure, calls = _script(*[Verdict.PASS] * 5)
    slept: list[float] = []
    asked: list[int] = []

    def extend(index: int) -> float:
        asked.append(index)
        return 30.0 if index < 5 else 0.0

    out = observe(measure, policy(count=2, interval_s=1), sleep=slept.append, extend=extend)
    assert calls == [1, 2, 3, 4, 5] and asked == [2, 3, 4, 5]
    assert slept == [1, 30.0, 30.0, 30.0]
    assert out.verdict is Verdict.PASS and len(out.rounds) == 5


def test_a_canary_stops_asking_for_rounds_once_its_collection_time_is_over() -> None:
    """``collecting`` is set by the analysis: rounds whose measurement failed before it
    left an earlier round's True, and extra rounds were asked past collect_s."""
    from nbaops.canary.run import EXTEND_POLL_S, CanaryRounds
    from nbaops.canary.settings import CanarySettings

    now = [0.0]
    settings = CanarySettings()
    rounds = CanaryRounds(
        ctx=None,  # type: ignore[arg-type]  # extend reads no context
        service="prediction-worker",
        baseline="old",
        canary="new",
        settings=settings,
        step=lambda _k, _m: None,
        rounds=3,
        monotonic=lambda: now[0],
    )
    rounds.collecting = True  # the latest analysis could not judge yet
    assert rounds.extend(3) == EXTEND_POLL_S
    # window_s + the delay: the read still spans one sampling period less than window_s
    now[0] = settings.window_s + settings.ingestion_delay_s
    assert rounds.extend(4) == EXTEND_POLL_S
    now[0] += 60  # a whole window_s of post-shift traffic is visible: collect_s has passed
    assert rounds.extend(5) == 0.0
