"""The outcome state machine of a deploy: what the observation verdict leads to.

=====================  ==========================  =========  =========
observation verdict    action                      outcome    exit code
=====================  ==========================  =========  =========
PASS / WARN            promote to 100%             success    0
FAIL                   roll back                   rolled_back 1
FAIL + --no-rollback   hold (leave traffic as is)  held       1
INCONCLUSIVE / ERROR   roll back (default)         rolled_back 3
INCONCLUSIVE / ERROR   hold (``on_inconclusive: hold`` or --no-rollback)  held  3
any, rollback fails    manual commands printed     rollback_failed 3
=====================  ==========================  =========  =========
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nbaops.errors import EXIT_FAIL, EXIT_OK, EXIT_UNDETERMINED, ConfigError
from nbaops.verdict import Verdict

ON_INCONCLUSIVE = ("rollback", "hold")


class Action(enum.StrEnum):
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    HOLD = "hold"


@dataclass(frozen=True)
class Decision:
    action: Action
    outcome: str  # the audit outcome if the action itself succeeds
    verdict: Verdict  # the deploy's overall verdict
    exit_code: int
    reason: str


def decide(
    verdict: Verdict, *, on_inconclusive: str = "rollback", no_rollback: bool = False
) -> Decision:
    """What to do after the observation window.

    Raises:
        ConfigError: ``on_inconclusive`` is neither ``rollback`` nor ``hold``.
    """
    if on_inconclusive not in ON_INCONCLUSIVE:
        raise ConfigError(
            f"deploy.on_inconclusive: {on_inconclusive!r} is not one of "
            f"{', '.join(ON_INCONCLUSIVE)}"
        )
    if verdict in (Verdict.PASS, Verdict.WARN):
        return Decision(Action.PROMOTE, "success", verdict, EXIT_OK, "validation passed")
    if verdict is Verdict.FAIL:
        if no_rollback:
            return Decision(
                Action.HOLD, "held", verdict, EXIT_FAIL, "validation failed; --no-rollback: held"
            )
        return Decision(
            Action.ROLLBACK, "rolled_back", verdict, EXIT_FAIL, "validation failed: rolling back"
        )
    if no_rollback or on_inconclusive == "hold":
        why = "--no-rollback" if no_rollback else "deploy.on_inconclusive: hold"
        return Decision(
            Action.HOLD,
            "held",
            verdict,
            EXIT_UNDETERMINED,
            f"validation {verdict.value.lower()}; {why}: held, not promoted",
        )
    return Decision(
        Action.ROLLBACK,
        "rolled_back",
        verdict,
        EXIT_UNDETERMINED,
        f"validation {verdict.value.lower()}: could not confirm the new revision, rolling back",
    )
