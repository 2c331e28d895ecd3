"""Run a call that must end within a bound, in a thread the test can give up on."""

from __future__ import annotations

import threading
from collections.abc import Callable


def outcome_within(call: Callable[[], object], seconds: float, what: str) -> object:
    """What ``call`` returned, or the exception it raised (returned, not raised).

    Fails the test when ``call`` has not ended within ``seconds``: it runs in a daemon
    thread, so a call that hangs fails its test instead of hanging the suite.
    """
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # the test judges what was raised
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{what} outlived its timeout"
    [result] = outcome
    return result
