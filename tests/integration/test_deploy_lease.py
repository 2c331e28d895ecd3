"""The deploy lease (renewal, fencing, lapse), its heartbeat, the journal and the signal
handling — against the Cloud Run stand-in, with the clock pinned through NBAOPS_NOW and the
heartbeat's wait injected (no real waiting)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbaops.adapters.cloudrun import CloudRun
from nbaops.config import ProfileConfig
from nbaops.deploy import journal as journal_mod
from nbaops.deploy import lock
from nbaops.deploy.heartbeat import Heartbeat, default_interval
from nbaops.deploy.journal import JOURNAL_ANNOTATION, Journal, journal_of, record
from nbaops.deploy.signals import Terminated, terminate_as_interrupt
from nbaops.errors import CloudRunError
from nbaops.local.api_faults import set_api_fault
from nbaops.local.standin import StandIn

SERVICE = "phase4-processors"
T0 = "2025-01-15T17:00:00Z"


@pytest.fixture
def run(
    standin: StandIn, local_profile: ProfileConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CloudRun]:
    monkeypatch.setenv("NBAOPS_NOW", T0)
    yield CloudRun(local_profile, endpoint=standin.url, timeout_s=10.0, retries=False)


def at(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the pinned clock to T0 + seconds."""
    moment = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    monkeypatch.setenv("NBAOPS_NOW", moment.isoformat())


def test_the_heartbeat_renews_until_stopped_and_pushes_the_expiry(
    run: CloudRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1", ttl_s=120).lock
    waits: list[float] = []

    def wait(seconds: float) -> bool:  # three beats 30 s apart, then "stop"
        waits.append(seconds)
        at(monkeypatch, 30 * len(waits))
        return len(waits) > 3

    beat = Heartbeat(run, SERVICE, lease, 120, wait=wait)
    beat.run()
    assert waits == [30.0, 30.0, 30.0, 30.0] and beat.renewals == 3
    held = lock.current_lock(run, SERVICE)
    assert held is not None and held.token == lease.token  # same deploy, same generation
    assert held.expires == lease.expires + dt.timedelta(seconds=90)
    assert "renewed 3 time(s) every 30s" in beat.describe()
    assert default_interval(0.01) == 0.05


def test_a_lease_taken_over_stops_the_heartbeat_and_fences_every_write(
    run: CloudRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1", ttl_s=60).lock
    at(monkeypatch, 61)  # our lease expired: a second deploy takes it over
    theirs = lock.acquire(run, SERVICE, holder="bob@ci", deploy_id="d2", ttl_s=60)
    assert theirs.took_over == ours and theirs.lock.generation == ours.generation + 1
    beat = Heartbeat(run, SERVICE, ours, 60, wait=lambda _s: False)
    beat.run()  # returns at once: the first beat finds the lease lost
    assert beat.lost is not None and "taken over by bob@ci" in beat.lost
    assert not beat.beat() and "LOST" in beat.describe()
    info = run.get_service(SERVICE)
    with pytest.raises(lock.LeaseLostError, match="stopped changing the service"):
        run.set_traffic(
            SERVICE,
            [],
            fence=lambda i: lock.check_fence(i, SERVICE, ours.token),
        )
    assert run.get_service(SERVICE).etag == info.etag  # nothing written
    lock.release(run, SERVICE, "d2")
    with pytest.raises(lock.LeaseLostError, match="the lease was removed"):
        lock.check_fence(run.get_service(SERVICE), SERVICE, ours.token)


def test_our_own_lease_expiring_unrenewed_is_lost_too(
    run: CloudRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1", ttl_s=60).lock
    at(monkeypatch, 60)
    with pytest.raises(lock.LeaseLostError, match="expired at .* without renewal"):
        lock.renew(run, SERVICE, ours, 60)


def test_renewal_api_errors_are_retried_until_the_lease_would_have_expired(
    run: CloudRun, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1", ttl_s=60).lock
    beat = Heartbeat(run, SERVICE, lease, 60)
    set_api_fault(standin.home, "http-5xx", service=SERVICE, method="GET", count=2)
    assert beat.beat() is True and beat.errors and beat.lost is None  # may still be ours
    at(monkeypatch, 60)
    assert beat.beat() is False
    assert beat.lost is not None and "the last renewals failed" in beat.lost
    beat.start().stop()  # a lost heartbeat's thread ends at once


def test_renewal_gives_up_after_losing_every_compare_and_swap(
    run: CloudRun, standin: StandIn
) -> None:
    lease = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1").lock
    set_api_fault(
        standin.home,
        "http-4xx",
        service=SERVICE,
        method="PATCH",
        status=409,
        count=lock.CAS_ATTEMPTS,
    )
    with pytest.raises(CloudRunError, match="could not renew"):
        lock.renew(run, SERVICE, lease, 60)


def test_a_lease_of_a_dead_process_on_this_host_has_lapsed_at_once(run: CloudRun) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(child.stdout)
    now = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
    later = now + dt.timedelta(minutes=2)
    here = socket.gethostname()
    assert lock.DeployLock("a", now, "d", later, host=here, pid=dead).lapsed(now)
    assert not lock.DeployLock("a", now, "d", later, host=here, pid=os.getpid()).lapsed(now)
    assert not lock.DeployLock("a", now, "d", later, host="elsewhere", pid=dead).lapsed(now)
    assert not lock.DeployLock("a", now, "d", later, host=here, pid=1).holder_dead()  # not ours
    text = lock.DeployLock("a", now, "d", later, renewed=later, host=here, pid=dead)
    assert lock.DeployLock.from_annotation(text.to_annotation()) == text


def test_a_killed_process_not_yet_reaped_has_lapsed_at_once(run: CloudRun) -> None:
    """A `kill -9`ed deploy stays a zombie until its parent reaps it (seconds, in a
    container): the signal 0 probe still succeeds, yet nothing runs. Rerunning then must
    not be refused as "lease held"."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        pytest.skip("no /proc: zombies cannot be told apart here")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = proc / str(child.pid) / "stat"
        for _ in range(3000):  # the child exits within milliseconds; not reaped (no wait)
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        else:
            pytest.fail("the child never became a zombie")
        now = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
        later = now + dt.timedelta(minutes=2)
        zombie = lock.DeployLock("a", now, "d", later, host=socket.gethostname(), pid=child.pid)
        assert zombie.holder_dead() and zombie.lapsed(now)
    finally:
        child.wait()


def test_a_lapsed_lease_over_an_unrecovered_journal_is_not_taken_over(
    run: CloudRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease and the journal are one write: taking the lease with our journal would
    erase a dead deploy's; ``unrecovered`` makes acquire refuse instead, writing nothing."""
    info = run.get_service(SERVICE)
    dead = Journal.start("dead", "deploy", "old@ci", info).advance("traffic")
    lock.acquire(
        run,
        SERVICE,
        holder="old@ci",
        deploy_id="dead",
        ttl_s=60,
        extra={JOURNAL_ANNOTATION: dead.to_annotation()},
    )
    at(monkeypatch, 61)  # its lease lapsed
    etag = run.get_service(SERVICE).etag
    with pytest.raises(lock.UnrecoveredDeployError, match="interrupted") as raised:
        lock.acquire(
            run,
            SERVICE,
            holder="ada@h",
            deploy_id="next",
            extra=lambda i: {
                JOURNAL_ANNOTATION: Journal.start("next", "deploy", "ada", i).to_annotation()
            },
            unrecovered=lambda i: "deploy dead was interrupted" if journal_of(i) else None,
        )
    assert raised.value.exit_code == 2
    after = run.get_service(SERVICE)
    assert after.etag == etag and journal_of(after).deploy_id == "dead"  # type: ignore[union-attr]
    # without the guard (the recovery's own lease) it is taken over, the journal kept
    took = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="recovery")
    assert took.took_over is not None and took.took_over.deploy_id == "dead"
    assert journal_of(run.get_service(SERVICE)).deploy_id == "dead"  # type: ignore[union-attr]


def test_the_winner_confirms_its_token_after_the_compare_and_swap(run: CloudRun) -> None:
    acquired = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1")
    assert lock.current_lock(run, SERVICE) == acquired.lock
    with pytest.raises(lock.LockHeldError, match="lease held by ada@h"):
        lock.acquire(run, SERVICE, holder="bob@ci", deploy_id="d2")


def test_the_journal_round_trips_and_is_written_only_under_our_lease(run: CloudRun) -> None:
    info = run.get_service(SERVICE)
    journal = Journal.start("d1", "deploy", "ada@h", info, canary=10)
    lease = lock.acquire(
        run,
        SERVICE,
        holder="ada@h",
        deploy_id="d1",
        extra={JOURNAL_ANNOTATION: journal.to_annotation()},
    ).lock
    assert journal_of(run.get_service(SERVICE)) == journal  # written with the lease
    assert not journal.mutated and journal.before_text() == f"{info.serving_revision} 100%"
    record(run, SERVICE, journal.advance("traffic", new_revision="r-new"), lease.token)
    back = journal_of(run.get_service(SERVICE))
    assert back is not None and back.phase == "traffic" and back.mutated
    assert [s["step"] for s in back.steps] == ["lock", "traffic"]
    assert back.before_splits()[0].percent == 100
    with pytest.raises(ValueError, match="unknown journal phase"):
        journal.advance("teleport")
    assert Journal.from_annotation("{not json") is None
    with pytest.raises(lock.LeaseLostError):
        record(run, SERVICE, journal, ("someone-else", 1))


def test_journal_writes_retry_a_lost_compare_and_swap_then_give_up(
    run: CloudRun, standin: StandIn
) -> None:
    journal = Journal.start("d1", "deploy", "ada@h", run.get_service(SERVICE))
    lease = lock.acquire(run, SERVICE, holder="ada@h", deploy_id="d1").lock
    lost = {"kind": "http-4xx", "service": SERVICE, "method": "PATCH", "status": 409}
    set_api_fault(standin.home, count=1, **lost)  # type: ignore[arg-type]
    record(run, SERVICE, journal, lease.token)
    assert journal_of(run.get_service(SERVICE)) == journal
    set_api_fault(standin.home, count=lock.CAS_ATTEMPTS, **lost)  # type: ignore[arg-type]
    with pytest.raises(CloudRunError, match="could not write the deploy journal"):
        record(run, SERVICE, journal, lease.token)


def test_crash_points_trace_and_fire_by_label_or_ordinal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv(journal_mod.TRACE_ENV, str(trace))
    monkeypatch.setenv(journal_mod.CRASH_ENV, "b#2:PAUSE")
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    (tmp_path / "crash-resume").write_text("go")  # the pause returns at once
    journal_mod.reset_crash_points()
    for label in ("a", "b", "b"):
        journal_mod.crash_point(label)
    assert trace.read_text().splitlines() == ["1 a", "2 b", "3 b"]
    assert (tmp_path / "crash-paused").read_text() == str(os.getpid())
    received: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, _f: received.append(signum))
    try:
        monkeypatch.setenv(journal_mod.CRASH_ENV, "4:HUP")
        journal_mod.crash_point("c")  # the 4th boundary: SIGHUP to ourselves
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert received == [signal.SIGHUP]
    monkeypatch.delenv(journal_mod.TRACE_ENV)
    monkeypatch.delenv(journal_mod.CRASH_ENV)
    journal_mod.crash_point("d")  # neither set: nothing counted
    assert len(trace.read_text().splitlines()) == 4
    journal_mod.reset_crash_points()


def test_sigterm_and_sighup_raise_terminated_twice_then_are_only_counted() -> None:
    with terminate_as_interrupt() as received:
        with pytest.raises(Terminated) as first:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause()
        assert first.value.signal_name == "SIGTERM" and first.value.exit_code == 3
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGHUP)
            signal.pause()
        os.kill(os.getpid(), signal.SIGTERM)  # a third: recorded, not raised
    assert received == ["SIGTERM", "SIGHUP", "SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is not None
