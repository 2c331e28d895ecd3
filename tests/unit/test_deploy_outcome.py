"""The outcome state machine: observation verdict → promote / roll back / hold, exit code."""

from __future__ import annotations

import pytest

from nbaops.deploy.outcome import Action, decide
from nbaops.errors import ConfigError
from nbaops.verdict import Verdict


@pytest.mark.parametrize(
    ("verdict", "on_inconclusive", "no_rollback", "action", "outcome", "code"),
    [
        (Verdict.PASS, "rollback", False, Action.PROMOTE, "success", 0),
        (Verdict.WARN, "rollback", False, Action.PROMOTE, "success", 0),
        (Verdict.FAIL, "rollback", False, Action.ROLLBACK, "rolled_back", 1),
        (Verdict.FAIL, "hold", False, Action.ROLLBACK, "rolled_back", 1),
        (Verdict.FAIL, "rollback", True, Action.HOLD, "held", 1),
        (Verdict.INCONCLUSIVE, "rollback", False, Action.ROLLBACK, "rolled_back", 3),
        (Verdict.ERROR, "rollback", False, Action.ROLLBACK, "rolled_back", 3),
        (Verdict.INCONCLUSIVE, "hold", False, Action.HOLD, "held", 3),
        (Verdict.ERROR, "rollback", True, Action.HOLD, "held", 3),
    ],
)
def test_decision_table(
    verdict: Verdict,
    on_inconclusive: str,
    no_rollback: bool,
    action: Action,
    outcome: str,
    code: int,
) -> None:
    decision = decide(verdict, on_inconclusive=on_inconclusive, no_rollback=no_rollback)
    assert (decision.action, decision.outcome, decision.exit_code) == (action, outcome, code)
    assert decision.verdict is verdict


def test_unknown_on_inconclusive_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="on_inconclusive"):
        decide(Verdict.PASS, on_inconclusive="retry")


def test_a_held_inconclusive_deploy_names_what_held_it() -> None:
    by_flag = decide(Verdict.INCONCLUSIVE, on_inconclusive="rollback", no_rollback=True)
    by_setting = decide(Verdict.ERROR, on_inconclusive="hold")
    assert by_flag.action is Action.HOLD and by_setting.action is Action.HOLD
    assert by_flag.reason == "validation inconclusive; --no-rollback: held, not promoted"
    assert by_setting.reason == "validation error; deploy.on_inconclusive: hold: held, not promoted"
