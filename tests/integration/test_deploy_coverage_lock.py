"""The deploy lock's compare-and-swap under contention, against the Cloud Run stand-in.

A 409 ABORTED on the annotation PATCH (what Cloud Run answers for a stale etag) is injected
with ``set_api_fault``: acquire, release and force-unlock re-read and retry, and give up
with a CloudRunError after ``CAS_ATTEMPTS`` lost races. Also: a deploy re-acquiring its own
lock, releasing a lock that is not ours, an unreadable lock, and who holds a lock.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbaops.adapters.cloudrun import CloudRun
from nbaops.config import ProfileConfig
from nbaops.deploy import lock
from nbaops.errors import CloudRunError
from nbaops.local.api_faults import clear_api_faults, set_api_fault
from nbaops.local.standin import StandIn

SERVICE = "phase4-processors"


@pytest.fixture
def run(standin: StandIn, local_profile: ProfileConfig) -> Iterator[CloudRun]:
    yield CloudRun(local_profile, endpoint=standin.url, timeout_s=10.0, retries=False)


def lost_races(home: Path, count: int) -> None:
    """The next ``count`` annotation writes lose the compare-and-swap (409 ABORTED)."""
    set_api_fault(home, "http-4xx", service=SERVICE, method="PATCH", status=409, count=count)


def patches(home: Path) -> int:
    return sum(1 for r in StandIn.requests(home) if r["method"] == "PATCH")


def test_holder_is_the_ci_actor_then_the_user_then_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = socket.gethostname()
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("USER", "ada")
    assert lock.default_holder() == f"octocat@{host}"
    monkeypatch.delenv("GITHUB_ACTOR")
    assert lock.default_holder() == f"ada@{host}"
    monkeypatch.delenv("USER")

    def no_passwd_entry() -> str:
        raise OSError("no passwd entry for uid 1234")

    monkeypatch.setattr(getpass, "getuser", no_passwd_entry)
    assert lock.default_holder() == f"unknown@{host}"


def test_acquiring_our_own_lock_again_returns_it_without_writing(
    run: CloudRun, nbaops_home: Path
) -> None:
    first = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    writes = patches(nbaops_home)
    again = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    assert again.lock == first.lock
    assert again.took_over is None
    assert patches(nbaops_home) == writes


def test_acquire_retries_after_losing_a_race_and_takes_the_lock(
    run: CloudRun, nbaops_home: Path
) -> None:
    lost_races(nbaops_home, 2)
    acquired = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    assert acquired.lock.deploy_id == "d1"
    assert lock.current_lock(run, SERVICE) == acquired.lock
    assert patches(nbaops_home) == 3  # two lost, one won


def test_acquire_gives_up_after_the_attempts_and_leaves_no_lock(
    run: CloudRun, nbaops_home: Path
) -> None:
    lost_races(nbaops_home, lock.CAS_ATTEMPTS)
    with pytest.raises(CloudRunError, match="kept changing .5 compare-and-swap attempts"):
        lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    assert lock.current_lock(run, SERVICE) is None


def test_release_leaves_a_lock_that_is_not_ours(run: CloudRun, nbaops_home: Path) -> None:
    theirs = lock.acquire(run, SERVICE, holder="bob@ci", deploy_id="theirs").lock
    assert lock.release(run, SERVICE, "ours") is False
    assert lock.current_lock(run, SERVICE) == theirs
    assert lock.release(run, SERVICE, "theirs") is True
    assert lock.release(run, SERVICE, "theirs") is False  # already gone


def test_release_retries_after_a_lost_race_then_gives_up(run: CloudRun, nbaops_home: Path) -> None:
    lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    lost_races(nbaops_home, 1)
    assert lock.release(run, SERVICE, "d1") is True
    assert lock.current_lock(run, SERVICE) is None

    held = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d2").lock
    lost_races(nbaops_home, lock.CAS_ATTEMPTS)
    with pytest.raises(CloudRunError, match="could not release the deploy lease"):
        lock.release(run, SERVICE, "d2")
    assert lock.current_lock(run, SERVICE) == held  # still there: it expires by itself


def test_force_unlock_on_an_unlocked_service_changes_nothing(
    run: CloudRun, nbaops_home: Path
) -> None:
    assert lock.force_unlock(run, SERVICE) is None
    assert patches(nbaops_home) == 0


def test_force_unlock_removes_an_unreadable_lock(
    run: CloudRun, nbaops_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:00:00Z")
    etag = run.get_service(SERVICE).etag
    run.set_annotations(SERVICE, {lock.LOCK_ANNOTATION: "{not json"}, etag=etag)
    assert lock.current_lock(run, SERVICE) is None  # unreadable: treated as stale
    removed = lock.force_unlock(run, SERVICE)
    assert removed is not None
    assert (removed.holder, removed.deploy_id) == ("(unreadable lease)", "?")
    assert removed.since == dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
    assert lock.LOCK_ANNOTATION not in run.get_service(SERVICE).annotations


def test_force_unlock_retries_after_a_lost_race_then_gives_up(
    run: CloudRun, nbaops_home: Path
) -> None:
    held = lock.acquire(run, SERVICE, holder="bob@ci", deploy_id="stuck").lock
    lost_races(nbaops_home, 1)
    assert lock.force_unlock(run, SERVICE) == held
    assert lock.current_lock(run, SERVICE) is None

    lock.acquire(run, SERVICE, holder="bob@ci", deploy_id="stuck2")
    lost_races(nbaops_home, lock.CAS_ATTEMPTS)
    with pytest.raises(CloudRunError, match="could not remove the deploy lease"):
        lock.force_unlock(run, SERVICE)
    clear_api_faults(nbaops_home)
    assert lock.current_lock(run, SERVICE) is not None
