"""The per-service deploy lease: a service annotation set by compare-and-swap, renewed.

The lease is the annotation ``nbaops.dev/deploy-lock`` on the Cloud Run service itself,
holding ``{"holder", "since", "deploy_id", "generation", "renewed", "expires", "host",
"pid"}`` as JSON. It is written with ``set_annotations(..., etag=...)``: the API rejects a
write whose etag is stale, so when two deploys race exactly one write wins; the winner
re-reads the service and confirms its ``deploy_id`` and ``generation`` before going on,
the other re-reads, sees the winner's lease and refuses.

A lease is short (``deploy.lock_ttl_s``, default 120 s) and renewed by a heartbeat
(:mod:`nbaops.deploy.heartbeat`) while its deploy runs. Its **fencing token** is
``(deploy_id, generation)``: every write a deploy makes first checks, on the same read
whose ``etag`` the write carries, that the service still holds this token and that it has
not expired (:func:`check_fence`). A deploy whose lease was taken over therefore cannot
change the service any more: its next write raises :class:`LeaseLostError`.

A lease has *lapsed* (its deploy is dead) when it is past ``expires``, or when it was
taken on this host by a process that no longer exists (a ``kill -9`` on this machine is
recognised at once, without waiting for the expiry). A lapsed lease is taken over (the
generation goes up) and the takeover reported. ``force_unlock`` removes any lease; its
caller audits it. Service-level annotations are not part of the revision template, so
taking, renewing or releasing the lease never creates a revision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbaops import clock
from nbaops.environment import read
from nbaops.errors import CloudRunError, NbaopsError

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun, ServiceInfo

LOCK_ANNOTATION = "nbaops.dev/deploy-lock"
DEFAULT_TTL_S = 120
CAS_ATTEMPTS = 5
T = TypeVar("T")


class LockHeldError(NbaopsError):
    """Another deploy holds the service's lease: refused, nothing changed (exit 2)."""

    exit_code = 2

    def __init__(self, service: str, lock: DeployLock) -> None:
        super().__init__(
            f"{service}: deploy lease held by {lock.holder} since {lock.since.isoformat()} "
            f"(deploy {lock.deploy_id}, renewed {lock.last_renewed.isoformat()}, expires "
            f"{lock.expires.isoformat()}); refused, nothing changed — if that deploy is dead "
            "its lease lapses at that time and the next command recovers it (or run with "
            "--force-unlock)"
        )


class UnrecoveredDeployError(NbaopsError):
    """The service carries an interrupted deploy's journal under no live lease: it must be
    recovered before a new lease is taken (taking it over would overwrite the journal)."""

    exit_code = 2

    def __init__(self, service: str, what: str) -> None:
        super().__init__(
            f"{service}: {what}; refused, nothing changed — run the command again: the next "
            "deploy, rollback or verify-deploy recovers it first"
        )


class LeaseLostError(NbaopsError):
    """Our lease expired or was taken over: this deploy must not change the service (exit 3)."""

    exit_code = 3

    def __init__(self, service: str, deploy_id: str, reason: str) -> None:
        super().__init__(
            f"{service}: deploy {deploy_id} lost its lease ({reason}); it stopped changing "
            "the service"
        )
        self.reason = reason


@dataclass(frozen=True)
class DeployLock:
    """One lease as stored in the annotation."""

    holder: str
    since: dt.datetime
    deploy_id: str
    expires: dt.datetime
    generation: int = 1
    renewed: dt.datetime | None = None  # None: never renewed (= since)
    host: str = ""
    pid: int = 0

    @property
    def last_renewed(self) -> dt.datetime:
        return self.renewed or self.since

    @property
    def token(self) -> tuple[str, int]:
        """The fencing token: ``(deploy_id, generation)``."""
        return (self.deploy_id, self.generation)

    def to_annotation(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_annotation(cls, text: str | None) -> DeployLock | None:
        """Parse the annotation; None when absent or not a lease we can read (lapsed)."""
        try:
            data = json.loads(text or "")
            since = clock.as_utc(data["since"])
            renewed = clock.as_utc(data["renewed"]) if data.get("renewed") else None
            return cls(
                holder=str(data["holder"]),
                since=since,
                deploy_id=str(data["deploy_id"]),
                expires=clock.as_utc(data["expires"]),
                generation=int(data.get("generation", 1)),
                # to_json writes a lease never renewed as renewed == since
                renewed=None if renewed == since else renewed,
                host=str(data.get("host", "")),
                pid=int(data.get("pid", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires

    def holder_dead(self) -> bool:
        """True when the lease was taken on this host by a process that no longer runs:
        gone, or a zombie (killed, not yet reaped by its parent: signal 0 still reaches it)."""
        if not self.pid or self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, owned by someone else
            return False
        return _zombie(self.pid)

    def lapsed(self, now: dt.datetime) -> bool:
        """Its deploy is dead: expired, or its process on this host is gone."""
        return self.expired(now) or self.holder_dead()

    def lapsed_text(self, now: dt.datetime) -> str:
        """What was taken over: ``expired lock of H``, or — its process gone before the
        lease expired — ``lock of H, whose process (pid N on this host) had ended``."""
        if self.expired(now) or not self.holder_dead():
            return f"expired lock of {self.holder}"
        return f"lock of {self.holder}, whose process (pid {self.pid} on this host) had ended"

    def to_json(self) -> dict[str, Any]:
        times = {"since": self.since, "renewed": self.last_renewed, "expires": self.expires}
        return {**asdict(self), **{k: t.isoformat() for k, t in times.items()}}


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but not been reaped (Linux ``/proc``; elsewhere False)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()  # after "(comm)", which may hold spaces
    return bool(fields) and fields[0] in ("Z", "X")


def default_holder() -> str:
    """``user@host`` (or the CI actor), for "who holds the lease"."""
    user = read("GITHUB_ACTOR") or read("USER")
    if not user:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no passwd entry in some containers
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Acquired:
    lock: DeployLock
    took_over: DeployLock | None  # the lapsed lease that was replaced, if any


def lease_of(info: ServiceInfo) -> DeployLock | None:
    """The lease carried by a service read (None when there is none)."""
    return DeployLock.from_annotation(info.annotations.get(LOCK_ANNOTATION))


def current_lock(cloudrun: CloudRun, service: str) -> DeployLock | None:
    """The lease on the service now (None when there is none)."""
    return lease_of(cloudrun.get_service(service))


def check_fence(info: ServiceInfo, service: str, token: tuple[str, int]) -> None:
    """Raise LeaseLostError unless ``info`` still carries our unexpired lease.

    Called on the very read whose ``etag`` the following write carries, so the check and
    the write are one compare-and-swap.
    """
    held = lease_of(info)
    deploy_id, generation = token
    if held is None:
        raise LeaseLostError(service, deploy_id, "the lease was removed")
    if held.token != token:
        raise LeaseLostError(
            service,
            deploy_id,
            f"taken over by {held.holder} (deploy {held.deploy_id}, generation {held.generation})",
        )
    if held.expired(clock.now()):
        raise LeaseLostError(
            service, deploy_id, f"it expired at {held.expires.isoformat()} without renewal"
        )


def retry_cas(write: Callable[[], T], what: str) -> T:
    """``write()``, again after a lost compare-and-swap (a 409 ABORTED applied nothing;
    each attempt reads the service afresh), at most :data:`CAS_ATTEMPTS` times.

    Raises:
        CloudRunError: every attempt lost (``what`` says what could not be done).
    """
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    for _ in range(CAS_ATTEMPTS):
        with contextlib.suppress(ConcurrentModificationError):
            return write()
    raise CloudRunError(
        f"{what}: the service kept changing ({CAS_ATTEMPTS} compare-and-swap attempts)"
    )


def write_annotations(
    cloudrun: CloudRun,
    service: str,
    changes: Callable[[ServiceInfo], dict[str, str | None] | None],
    what: str,
) -> ServiceInfo | None:
    """Write ``changes(info)`` with the etag of the read ``info`` it was decided on.

    ``changes`` may raise (a fence check) or return None: nothing is written, None returned.
    """

    def attempt() -> ServiceInfo | None:
        info = cloudrun.get_service(service)
        annotations = changes(info)
        if annotations is None:
            return None
        return cloudrun.set_annotations(service, annotations, etag=info.etag)

    return retry_cas(attempt, f"{service}: could not {what}")


def acquire(
    cloudrun: CloudRun,
    service: str,
    *,
    holder: str,
    deploy_id: str,
    ttl_s: float = DEFAULT_TTL_S,
    extra: Mapping[str, str | None]
    | Callable[[ServiceInfo], Mapping[str, str | None]]
    | None = None,
    unrecovered: Callable[[ServiceInfo], str | None] | None = None,
) -> Acquired:
    """Take the service's lease (and write ``extra`` annotations in the same write), or refuse.

    ``extra`` may be a function of the service read the write is decided on (a journal
    recording exactly the traffic that read shows). ``unrecovered(info)`` names an
    interrupted deploy the service carries (None: none); a lease is then not taken over
    or created over it, so its journal is recovered before anything overwrites it.
    After the compare-and-swap wins, the service is read again and must show our
    ``deploy_id`` and generation; anything else is a lost race (refused).

    Raises:
        LockHeldError: a live lease held by another deploy.
        UnrecoveredDeployError: ``unrecovered`` found an interrupted deploy.
        CloudRunError: the API failed, or the compare-and-swap kept losing.
    """
    from nbaops.adapters.cloudrun import ConcurrentModificationError

    def attempt() -> Acquired:
        info = cloudrun.get_service(service)
        now = clock.now()
        existing = lease_of(info)
        if existing is not None and existing.deploy_id == deploy_id:
            return Acquired(existing, None)
        if existing is not None and not existing.lapsed(now):
            raise LockHeldError(service, existing)
        pending = unrecovered(info) if unrecovered is not None else None
        if pending:
            raise UnrecoveredDeployError(service, pending)
        lease = DeployLock(
            holder=holder,
            since=now,
            deploy_id=deploy_id,
            expires=now + dt.timedelta(seconds=ttl_s),
            generation=(existing.generation + 1) if existing is not None else 1,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        written = extra(info) if callable(extra) else (extra or {})
        cloudrun.set_annotations(
            service, {**written, LOCK_ANNOTATION: lease.to_annotation()}, etag=info.etag
        )
        confirmed = current_lock(cloudrun, service)
        if confirmed is None or confirmed.token != lease.token:
            if confirmed is not None and not confirmed.lapsed(clock.now()):
                raise LockHeldError(service, confirmed)
            raise ConcurrentModificationError(f"{service}: the lease write was overtaken")
        return Acquired(lease, existing)

    return retry_cas(attempt, f"{service}: could not take the deploy lease")


def renew(cloudrun: CloudRun, service: str, lease: DeployLock, ttl_s: float) -> DeployLock:
    """Push our lease's expiry to ``now + ttl_s``; returns the renewed lease.

    Raises:
        LeaseLostError: the service no longer carries our token (or it expired).
        CloudRunError: the API failed or the compare-and-swap kept losing.
    """
    now = clock.now()
    renewed = replace(lease, renewed=now, expires=now + dt.timedelta(seconds=ttl_s))

    def changes(info: ServiceInfo) -> dict[str, str | None]:
        check_fence(info, service, lease.token)
        return {LOCK_ANNOTATION: renewed.to_annotation()}

    write_annotations(cloudrun, service, changes, "renew the deploy lease")
    return renewed


def release(
    cloudrun: CloudRun,
    service: str,
    deploy_id: str,
    *,
    extra: Mapping[str, str | None] | None = None,
) -> bool:
    """Remove our lease (and write ``extra`` in the same write).

    Returns False when the lease is no longer ours (nothing removed, ``extra`` not written).

    Raises:
        CloudRunError: the API failed.
    """

    def changes(info: ServiceInfo) -> dict[str, str | None] | None:
        existing = lease_of(info)
        if existing is None or existing.deploy_id != deploy_id:
            return None
        return {**(extra or {}), LOCK_ANNOTATION: None}

    return write_annotations(cloudrun, service, changes, "release the deploy lease") is not None


def force_unlock(cloudrun: CloudRun, service: str) -> DeployLock | None:
    """Remove whatever lease the service carries; returns the removed lease (None: none).

    Raises:
        CloudRunError: the API failed.
    """
    removed: list[DeployLock] = []

    def changes(info: ServiceInfo) -> dict[str, str | None] | None:
        text = info.annotations.get(LOCK_ANNOTATION)
        if text is None:
            return None
        removed[:] = [
            DeployLock.from_annotation(text)
            or DeployLock("(unreadable lease)", clock.now(), "?", expires=clock.now())
        ]
        return {LOCK_ANNOTATION: None}

    written = write_annotations(cloudrun, service, changes, "remove the deploy lease")
    return removed[0] if written is not None else None
