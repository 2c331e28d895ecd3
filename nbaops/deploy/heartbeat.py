"""The heartbeat that keeps a deploy's lease alive while the deploy runs.

A daemon thread renews the lease (:func:`nbaops.deploy.lock.renew`) every ``interval_s`` —
a quarter of the lease (:func:`default_interval`), so three renewals can fail in a row
before the lease lapses. It stops renewing, for good, as soon as the lease is lost (taken
over, removed, or expired by the clock); the deploy sees that through :attr:`Heartbeat.lost`
and through the fence check on its next write. A renewal that fails for an API error is
retried at the next beat. ``wait`` is injectable (tests call :meth:`Heartbeat.beat`
directly, or give a ``wait`` that returns at once), so nothing here needs real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.deploy import lock
from nbaops.errors import first_line

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun


def default_interval(ttl_s: float) -> float:
    """A quarter of the lease (never below 50 ms)."""
    return max(ttl_s / 4.0, 0.05)


class Heartbeat:
    """Renews one lease until stopped or lost.

    Args:
        cloudrun, service: where the lease lives.
        lease: the lease as acquired (its token is what every renewal checks).
        ttl_s: each renewal pushes ``expires`` to now + ttl_s.
        wait: ``wait(seconds) -> stop requested``; defaults to the stop event's wait.
    """

    def __init__(
        self,
        cloudrun: CloudRun,
        service: str,
        lease: lock.DeployLock,
        ttl_s: float,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.cloudrun = cloudrun
        self.service = service
        self.lease = lease
        self.ttl_s = ttl_s
        self.interval_s = default_interval(ttl_s)
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        self.renewals = 0
        self.errors: list[str] = []
        self.lost: str | None = None  # why the lease was lost (None: still ours)

    def beat(self) -> bool:
        """Renew once. Returns False once the lease is lost (the heartbeat then stops)."""
        if self.lost is not None:
            return False
        try:
            self.lease = lock.renew(self.cloudrun, self.service, self.lease, self.ttl_s)
        except lock.LeaseLostError as exc:
            self.lost = exc.reason
            return False
        except Exception as exc:  # an API error: the lease may still be ours; try again
            self.errors.append(first_line(exc, typed=True)[:200])
            if self.lease.expired(clock.now()):
                self.lost = (
                    f"it expired at {self.lease.expires.isoformat()}: the last renewals "
                    f"failed ({self.errors[-1]})"
                )
                return False
            return True
        self.renewals += 1
        return True

    def run(self) -> None:
        """The loop: wait an interval, renew; until stopped or lost."""
        while not self._wait(self.interval_s):
            if not self.beat():
                return

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(
            target=self.run, name=f"nbaops-heartbeat-{self.service}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (the lease itself is released by the caller)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def describe(self) -> str:
        text = f"lease renewed {self.renewals} time(s) every {self.interval_s:g}s"
        if self.errors:
            text += f"; {len(self.errors)} renewal(s) failed (last: {self.errors[-1]})"
        if self.lost:
            text += f"; LOST: {self.lost}"
        return text
