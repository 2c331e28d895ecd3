"""The per-service deploy lock: a service annotation set by compare-and-swap.

The lock is the annotation ``nbaops.dev/deploy-lock`` on the Cloud Run service itself,
holding ``{"holder", "since", "deploy_id", "expires"}`` as JSON. It is written with
``set_annotations(..., etag=...)``: the API rejects a write whose etag is stale, so when
two deploys race, exactly one write wins and the other re-reads, sees the winner's lock
and refuses. Because the lock lives in the service, it works the same in prod (shared by
every laptop and CI runner) and on the local stand-in, and needs no other store.

A lock past its ``expires`` time is stale (a crashed deploy) and is taken over; the
takeover is reported. ``force_unlock`` removes any lock; its caller audits it.
Service-level annotations are not part of the revision template, so taking or releasing
the lock never creates a revision.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.errors import CloudRunError, NbaopsError

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun

LOCK_ANNOTATION = "nbaops.dev/deploy-lock"
DEFAULT_TTL_S = 1800
CAS_ATTEMPTS = 5


class LockHeldError(NbaopsError):
    """Another deploy holds the service's lock: refused, nothing changed (exit 2)."""

    exit_code = 2

    def __init__(self, service: str, lock: DeployLock) -> None:
        super().__init__(
            f"{service}: deploy lock held by {lock.holder} since {lock.since.isoformat()} "
            f"(deploy {lock.deploy_id}, expires {lock.expires.isoformat()}); refused, nothing "
            f"changed — wait, or run with --force-unlock if that deploy is dead"
        )
        self.service = service
        self.lock = lock


@dataclass(frozen=True)
class DeployLock:
    holder: str
    since: dt.datetime
    deploy_id: str
    expires: dt.datetime

    def to_annotation(self) -> str:
        return json.dumps(
            {
                "holder": self.holder,
                "since": self.since.isoformat(),
                "deploy_id": self.deploy_id,
                "expires": self.expires.isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_annotation(cls, text: str) -> DeployLock | None:
        """Parse the annotation; None when it is not a lock we can read (treated as stale)."""
        try:
            data = json.loads(text)
            return cls(
                holder=str(data["holder"]),
                since=_aware(dt.datetime.fromisoformat(data["since"])),
                deploy_id=str(data["deploy_id"]),
                expires=_aware(dt.datetime.fromisoformat(data["expires"])),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.to_annotation())  # type: ignore[no-any-return]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def default_holder() -> str:
    """``user@host`` (or the CI actor), for "who holds the lock"."""
    user = os.environ.get("GITHUB_ACTOR") or os.environ.get("USER")
    if not user:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no passwd entry in some containers
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Acquired:
    lock: DeployLock
    took_over: DeployLock | None  # the stale lock that was replaced, if any


def current_lock(cloudrun: CloudRun, service: str) -> DeployLock | None:
    """The lock on the service now (None when unlocked)."""
    info = cloudrun.get_service(service)
    text = info.annotations.get(LOCK_ANNOTATION)
    return DeployLock.from_annotation(text) if text else None


def acquire(
    cloudrun: CloudRun,
    service: str,
    *,
    holder: str,
    deploy_id: str,
    ttl_s: float = DEFAULT_TTL_S,
) -> Acquired:
    """Take the service's deploy lock, or refuse.

    Raises:
        LockHeldError: a live lock held by another deploy.
        CloudRunError: the API failed, or the compare-and-swap kept losing.
    """
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    for _ in range(CAS_ATTEMPTS):
        info = cloudrun.get_service(service)
        now = clock.now()
        text = info.annotations.get(LOCK_ANNOTATION)
        existing = DeployLock.from_annotation(text) if text else None
        if existing is not None and existing.deploy_id == deploy_id:
            return Acquired(existing, None)
        if existing is not None and not existing.expired(now):
            raise LockHeldError(service, existing)
        lock = DeployLock(
            holder=holder,
            since=now,
            deploy_id=deploy_id,
            expires=now + dt.timedelta(seconds=ttl_s),
        )
        try:
            cloudrun.set_annotations(
                service, {LOCK_ANNOTATION: lock.to_annotation()}, etag=info.etag
            )
        except ConcurrentModificationError:
            continue  # someone else wrote in between: re-read and decide again
        return Acquired(lock, existing)
    raise CloudRunError(
        f"{service}: could not take the deploy lock: the service kept changing "
        f"({CAS_ATTEMPTS} compare-and-swap attempts)"
    )


def release(cloudrun: CloudRun, service: str, deploy_id: str) -> bool:
    """Remove our lock. Returns False when the lock is no longer ours (nothing removed).

    Raises:
        CloudRunError: the API failed.
    """
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    for _ in range(CAS_ATTEMPTS):
        info = cloudrun.get_service(service)
        text = info.annotations.get(LOCK_ANNOTATION)
        existing = DeployLock.from_annotation(text) if text else None
        if existing is None or existing.deploy_id != deploy_id:
            return False
        try:
            cloudrun.set_annotations(service, {LOCK_ANNOTATION: None}, etag=info.etag)
        except ConcurrentModificationError:
            continue
        return True
    raise CloudRunError(f"{service}: could not release the deploy lock (service kept changing)")


def force_unlock(cloudrun: CloudRun, service: str) -> DeployLock | None:
    """Remove whatever lock the service carries; returns the removed lock (None: unlocked).

    Raises:
        CloudRunError: the API failed.
    """
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    for _ in range(CAS_ATTEMPTS):
        info = cloudrun.get_service(service)
        text = info.annotations.get(LOCK_ANNOTATION)
        if text is None:
            return None
        removed = DeployLock.from_annotation(text) or DeployLock(
            holder="(unreadable lock)", since=clock.now(), deploy_id="?", expires=clock.now()
        )
        try:
            cloudrun.set_annotations(service, {LOCK_ANNOTATION: None}, etag=info.etag)
        except ConcurrentModificationError:
            continue
        return removed
    raise CloudRunError(f"{service}: could not remove the deploy lock (service kept changing)")
