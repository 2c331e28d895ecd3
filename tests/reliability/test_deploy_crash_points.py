"""The crash-point harness: a deploy killed at every step boundary, then the next command.

Each case starts a real child process that runs a deploy (plain, ``--canary``,
``--model-version``, or one whose new revision fails its health gate and is rolled back)
the way the ``inv deploy`` task does (``nbaops.cli.runner.run`` with SIGTERM/SIGHUP
handled by :func:`nbaops.deploy.signals.terminate_as_interrupt`), against the Cloud Run
stand-in and DuckDB warehouse of a private ``NBAOPS_HOME``. The deploy kills itself at a
chosen boundary through the journal's documented test-only crash point
(``NBAOPS_CRASH_AT``, :func:`nbaops.deploy.journal.crash_point`): every journal/mutation
boundary by label, plus seeded-random ordinals over all boundaries (progress lines
included) for the "random instants", with SIGKILL, SIGTERM and SIGHUP. Then the next
``deploy`` or ``rollback`` runs in this process, on the same home, without
``--force-unlock``. The invariant after it:

- traffic is 100% on the pre-deploy revision or on a validated new one (a revision whose
  deploy row says ``success``);
- no lease and no journal left on the service;
- exactly one audit row per attempt that took the lease (none for one killed before it,
  which changed nothing), and the follow-up's own row;
- an alert naming the interrupted attempt was sent (local outbox).

Also: two deploys racing with a lease shorter than the deploy — exactly one proceeds, the
other is fenced off the moment it tries to write.

Cheap by construction (CI budget): one git repo and one seeded home per module, copied per
case; the clock is pinned (``NBAOPS_NOW``), the observation window has a zero interval,
tests are skipped in the checklist, and the child is forked from a fork server (no
interpreter start-up; not from the pytest worker, whose gRPC state a fork must not
inherit: :mod:`worlds.forked_deploy`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from worlds.deploy_world import (
    FAST_DEPLOY,
    NOW,
    NOW_DT,
    REPO,
    known_schedule,
    make_repo,
    seed,
)
from worlds.forked_deploy import ForkedDeploy, sandbox_context

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.context import Context
from nbaops.deploy import journal as journal_mod
from nbaops.deploy.deploy import DeployRequest, run_deploy
from nbaops.deploy.journal import JOURNAL_ANNOTATION, journal_of
from nbaops.deploy.lock import LOCK_ANNOTATION, LockHeldError
from nbaops.deploy.rollback import run_rollback
from nbaops.local.standin import StandIn
from nbaops.sandbox import faults

SERVICE = "phase4-processors"
WORKER = "prediction-worker"

# The journal/mutation boundaries of a deploy, in order (nbaops.deploy.deploy/journal).
PLAIN = [
    "lock:before",
    "lock:after",
    "journal:revision:before",
    "journal:revision:after",
    "revision:created",
    "journal:traffic:before",
    "journal:traffic:after",
    "traffic:moved",
    "journal:finished:before",
    "journal:finished:after",
    "audit:written",
]
CANARY = [
    *PLAIN[:8],
    "journal:promote:before",
    "journal:promote:after",
    "promote:moved",
    *PLAIN[8:],
]
FAILING = ["journal:rollback:before", "journal:rollback:after", "journal:finished:after"]
SIGNALS = ("KILL", "TERM", "HUP")


@dataclass(frozen=True)
class Case:
    variant: str  # plain, canary, model, failing
    where: str  # a boundary label (#1) or an ordinal
    how: str  # KILL, TERM, HUP
    follow: str  # deploy or rollback

    @property
    def id(self) -> str:
        return f"{self.variant}-{self.where}-{self.how}-then-{self.follow}"


def _cases() -> list[Case]:
    cases = [
        Case("plain", label, "KILL", "deploy" if i % 2 else "rollback")
        for i, label in enumerate(PLAIN)
    ]
    cases += [
        Case("canary", label, "TERM", "rollback" if i % 2 else "deploy")
        for i, label in enumerate(CANARY)
    ]
    # a model deploy crosses the plain boundaries (its request only adds the model env):
    # every other one, each signal at least once, keeps the suite within its budget
    cases += [
        Case("model", label, SIGNALS[i % 3], "deploy" if i % 2 else "rollback")
        for i, label in enumerate(PLAIN[1::2])
    ]
    cases += [Case("failing", label, "KILL", "rollback") for label in FAILING]
    rng = random.Random(13)  # "random instants", reproducible: ordinals over every boundary
    for variant in ("plain", "canary", "model"):
        for follow in ("rollback", "deploy"):  # a rollback follow-up is the cheaper one
            cases.append(Case(variant, str(rng.randint(1, 40)), rng.choice(SIGNALS), follow))
    return cases


CASES = _cases()


# ---------------------------------------------------------------- the sandbox


@dataclass
class Template:
    repo: Path
    home: Path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("crash-template")
    repo, first, _head = make_repo(root, FAST_DEPLOY)
    home = root / "home"
    home.mkdir()
    seed(home, first)
    wh = DuckDBWarehouse(home / "warehouse.duckdb", root=REPO)
    wh.create_tables()
    known_schedule(wh)  # "no games today" is a known fact: the post-deploy checks pass
    return Template(repo, home)


@dataclass
class Sandbox:
    home: Path
    repo: Path
    tmp: Path

    def context(self) -> Context:
        return sandbox_context(self.home)

    def service(self, ctx: Context, name: str) -> Any:
        return ctx.cloudrun.get_service(name)

    def rows(self, ctx: Context) -> list[dict[str, Any]]:
        return ctx.warehouse.query(
            "SELECT * FROM `nba_ops.deploys` WHERE started_at >= @since ORDER BY started_at",
            {"since": NOW_DT.replace(year=2024)},
        ).rows

    def alerts(self) -> list[dict[str, Any]]:
        path = self.home / "outbox.jsonl"
        if not path.exists():
            return []
        return [
            event
            for line in path.read_text().splitlines()
            if line.strip()
            for event in json.loads(line).get("events", [])
        ]

    def trace(self) -> list[str]:
        path = self.tmp / "trace.txt"
        return path.read_text().split("\n") if path.exists() else []


@pytest.fixture
def sandbox(
    template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.setenv("NBAOPS_ROOT", str(template.repo))
    monkeypatch.setenv("NBAOPS_CONFIG", str(template.repo / "nbaops.yaml"))
    monkeypatch.setenv("NBAOPS_NOW", NOW)
    monkeypatch.setenv("USER", "ada")
    for var in ("NBAOPS_PROFILE", "SLACK_WEBHOOK_URL", "GITHUB_ACTOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    box = Sandbox(home, template.repo, tmp_path)
    yield box
    for standin in [s for k, s in StandIn._instances.items() if k == str(home.resolve())]:
        standin.stop()


def request(variant: str) -> DeployRequest:
    if variant == "canary":
        return DeployRequest(service=SERVICE, canary=30, skip_tests=True)
    if variant == "model":
        return DeployRequest(service=WORKER, model_version="v9", skip_tests=True)
    return DeployRequest(service=SERVICE, skip_tests=True)


def settled(box: Sandbox, ctx: Context, service: str, before: str | None) -> None:
    """No recovery needed: 100% on the pre-deploy or a validated revision, no lease."""
    info = box.service(ctx, service)
    serving = {r: p for r, p in info.traffic_by_revision.items() if p}
    validated = {r["revision_after"] for r in box.rows(ctx) if r["outcome"] == "success"}
    assert len(serving) == 1 and (before in serving or set(serving) <= validated), serving
    assert LOCK_ANNOTATION not in info.annotations


# ---------------------------------------------------------------- the harness


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_deploy_killed_at_a_boundary_is_recovered_by_the_next_command(
    sandbox: Sandbox, case: Case
) -> None:
    req = request(case.variant)
    service = req.service
    ctx = sandbox.context()
    before = sandbox.service(ctx, service).serving_revision
    if case.variant == "failing":  # the new revision comes up unhealthy: rolled back
        faults.write_records(
            sandbox.home, [{"name": faults.ARMED, "service": service, "armed": True}]
        )
    where = case.where if case.where.isdigit() else f"{case.where}#1"
    child = ForkedDeploy(
        sandbox.home,
        {
            journal_mod.CRASH_ENV: f"{where}:{case.how}",
            journal_mod.TRACE_ENV: str(sandbox.tmp / "trace.txt"),
        },
        sandbox.tmp / "child.out",
        req,
    )
    status = child.wait()
    trace = sandbox.trace()
    fired = any(
        line.split(" ", 1)[-1] == case.where or line.split(" ", 1)[0] == case.where
        for line in trace
        if line
    )
    # a named boundary the deploy never crossed would test nothing (an ordinal may lie
    # past the last boundary of a short deploy: then it is a deploy that was not killed)
    if not (fired or case.where.isdigit()):
        said = child.output_tail()
        pytest.fail(f"{case.where} never reached: {trace[-3:]}; the deploy said:\n{said}")
    if case.how == "KILL" and fired:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    elif fired:  # TERM/HUP: handled like Ctrl-C, exit 3
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3, (status, trace[-3:])
    leased = any(line.endswith(" lock:after") for line in trace)
    crashed = journal_of(sandbox.service(ctx, service))
    crashed_id = crashed.deploy_id if crashed else None
    rows_before = {r["deploy_id"] for r in sandbox.rows(ctx)}
    if crashed is None:  # nothing to recover: the attempt cleaned up itself, or never began
        settled(sandbox, ctx, service, before)

    # ---- the next command, in this process, without --force-unlock
    if case.follow == "deploy":
        report = run_deploy(sandbox.context(), DeployRequest(service=service, skip_tests=True))
        assert report.outcome == "success", report.final_line()
        follow_id, final = report.deploy_id, report.new_revision
    else:
        rb = run_rollback(sandbox.context(), service)
        assert rb.result is not None and rb.result.ok, rb.final_line()
        follow_id, final = rb.deploy_id, rb.target

    # ---- the invariant
    info = sandbox.service(ctx, service)
    rows = sandbox.rows(ctx)
    assert {r: p for r, p in info.traffic_by_revision.items() if p} == {final: 100}
    if crashed is not None or case.follow == "deploy":
        validated = {r["revision_after"] for r in rows if r["outcome"] == "success"}
        assert final == before or final in validated, (final, before, validated)
    if case.follow == "rollback" and crashed is not None:
        assert final == before  # the journal's pre-deploy revision, not one further back
    assert LOCK_ANNOTATION not in info.annotations
    assert JOURNAL_ANNOTATION not in info.annotations
    ids = [r["deploy_id"] for r in rows]
    assert ids.count(follow_id) == 1
    attempts = [i for i in ids if i != follow_id]
    if leased:
        assert len(attempts) == 1, rows  # exactly one row for the interrupted attempt
        attempt = attempts[0]
        assert crashed_id in (None, attempt)
        assert any(a["fields"].get("deploy id") == attempt for a in sandbox.alerts())
        row = next(r for r in rows if r["deploy_id"] == attempt)
        assert row["outcome"] in ("interrupted", "success", "rolled_back"), row
    else:  # killed before the lease: nothing changed, nothing to record
        assert attempts == [] or (case.how != "KILL" and len(attempts) == 1), rows
        assert crashed_id is None and not rows_before - set(attempts)


def test_two_deploys_racing_with_a_lease_shorter_than_the_deploy_exactly_one_proceeds(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pauses mid-deploy past its lease; B (whose clock says A's lease lapsed) takes over,
    recovers A's changes and deploys; A wakes up and is fenced off at its very next write."""
    path = sandbox.repo / "nbaops.yaml"
    ctx = sandbox.context()
    before = sandbox.service(ctx, SERVICE).serving_revision
    monkeypatch.setenv("NBAOPS_CONFIG", str(path))
    child_a = ForkedDeploy(
        sandbox.home,
        {journal_mod.CRASH_ENV: "traffic:moved#1:PAUSE"},
        sandbox.tmp / "a.out",
        DeployRequest(service=SERVICE, skip_tests=True),
    )
    paused = sandbox.home / "crash-paused"
    import time

    deadline = time.monotonic() + 60
    while not paused.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paused.exists(), (sandbox.tmp / "a.out").read_text()
    moved = sandbox.service(ctx, SERVICE)
    a_new = next(r for r, p in moved.traffic_by_revision.items() if p == 100)
    assert a_new != before  # A moved traffic and is now stuck past its lease
    # B runs "later": A's lease (pinned clock + ttl) has expired by B's clock.
    monkeypatch.setenv("NBAOPS_NOW", "2025-01-15T17:30:00Z")
    b = run_deploy(sandbox.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert b.outcome == "success", b.final_line()
    assert any("recovered interrupted deploy" in n for n in b.notes)
    after_b = sandbox.service(ctx, SERVICE).traffic_by_revision
    (sandbox.home / "crash-resume").write_text("go")
    status = child_a.wait()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3, (sandbox.tmp / "a.out").read_text()
    a_doc = json.loads((sandbox.tmp / "a.out").read_text().strip().splitlines()[-1])
    assert a_doc["summary"].startswith("LEASE LOST"), a_doc
    # A changed nothing after it woke up: B's revision still serves 100%.
    assert sandbox.service(ctx, SERVICE).traffic_by_revision == after_b
    assert after_b[b.new_revision or ""] == 100
    rows = sandbox.rows(ctx)
    assert sorted(r["outcome"] for r in rows) == ["interrupted", "success"]
    # And a third deploy while B's successor holds nothing: a live lease refuses at once.
    from nbaops.deploy import lock

    held = lock.acquire(ctx.cloudrun, SERVICE, holder="c@ci", deploy_id="c-1", ttl_s=5)
    with pytest.raises(LockHeldError):
        run_deploy(sandbox.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert held.lock.generation == 1


# ---------------------------------------------------------------- inv rollback killed

# The journal/mutation boundaries of ``inv rollback`` (nbaops.deploy.rollback), in order:
# the traffic PATCH is between the first and the second ``progress:rollback`` line (the
# second reports its verification); ``audit:written`` is after the row, before the release.
ROLLBACK = [
    "lock:before#1",
    "lock:after#1",
    "journal:rollback:before#1",
    "journal:rollback:after#1",
    "progress:rollback#1",
    "progress:rollback#2",
    "audit:written#1",
]
FOLLOWS = ("rollback", "verify", "deploy")


@dataclass(frozen=True)
class RollbackCase:
    where: str  # a boundary label#N or an ordinal
    how: str  # KILL, TERM
    follow: str  # rollback, verify or deploy

    @property
    def id(self) -> str:
        return f"rollback-{self.where}-{self.how}-then-{self.follow}"


def _rollback_cases() -> list[RollbackCase]:
    cases = [RollbackCase(w, "KILL", FOLLOWS[i % 3]) for i, w in enumerate(ROLLBACK)]
    cases += [  # the reviewer's reproduction, each follow-up; a handled SIGTERM after the PATCH
        RollbackCase("progress:rollback#2", "KILL", "rollback"),
        RollbackCase("progress:rollback#2", "KILL", "verify"),
        RollbackCase("progress:rollback#2", "TERM", "rollback"),
    ]
    # (no random instants: a rollback's boundaries are few, and the named ones above
    # cover each side of its one mutation)
    return list({c.id: c for c in cases}.values())


ROLLBACK_CASES = _rollback_cases()


def third_revision(ctx: Context, service: str) -> tuple[str, str]:
    """A newer revision of the serving code, serving 100%: ``(it, the one before it)``, so
    a rollback goes one revision back and a repeated one would go a second one back."""
    from nbaops.adapters.cloudrun import TrafficSplit

    serving = ctx.cloudrun.list_revisions(service)[0]
    created = ctx.cloudrun.deploy_revision(
        service, image=serving.image or "", labels={"commit-sha": serving.commit or ""}
    )
    newest = created.latest_created_revision or ""
    ctx.cloudrun.set_traffic(service, [TrafficSplit(newest, 100)])
    return newest, serving.name


@pytest.mark.parametrize("case", ROLLBACK_CASES, ids=[c.id for c in ROLLBACK_CASES])
def test_rollback_killed_at_a_boundary_is_recorded_never_undone_nor_repeated(
    sandbox: Sandbox, case: RollbackCase
) -> None:
    from worlds.forked_deploy import RollbackCall

    from nbaops.deploy.verify import run_verify

    ctx = sandbox.context()
    newest, target = third_revision(ctx, SERVICE)
    status = ForkedDeploy(
        sandbox.home,
        {
            journal_mod.CRASH_ENV: f"{case.where}:{case.how}",
            journal_mod.TRACE_ENV: str(sandbox.tmp / "trace.txt"),
        },
        sandbox.tmp / "child.out",
        RollbackCall(SERVICE),
    ).wait()
    trace = sandbox.trace()
    if case.how == "KILL":
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (status, trace)
    leased = any(line.endswith(" lock:after") for line in trace)
    crashed = sandbox.service(ctx, SERVICE)
    left = {r: p for r, p in crashed.traffic_by_revision.items() if p}
    assert left in ({newest: 100}, {target: 100}), left  # one PATCH, whole or not at all
    moved = left == {target: 100}
    pending = journal_of(crashed)
    assert pending is None or (pending.action, pending.new_revision) == ("rollback", target)
    if leased and case.how == "KILL" and "audit:written" not in case.where:
        assert pending is not None  # the journal a kill -9 leaves for the next command
    dead_ids = {r["deploy_id"] for r in sandbox.rows(ctx)}

    # ---- the next command, in this process, without --force-unlock
    follow_id: str | None = None
    if case.follow == "rollback":
        rb = run_rollback(sandbox.context(), SERVICE)
        assert rb.result is not None and rb.result.ok, rb.final_line()
        assert rb.target == target  # the same target: never a second revision back
        follow_id = rb.deploy_id
    elif case.follow == "verify":
        run_verify(sandbox.context(), SERVICE)
    else:
        report = run_deploy(sandbox.context(), DeployRequest(service=SERVICE, skip_tests=True))
        assert report.outcome == "success", report.final_line()
        assert report.revision_before == (target if moved else newest)  # not routed back
        follow_id = report.deploy_id

    # ---- the invariant
    info = sandbox.service(ctx, SERVICE)
    now = {r: p for r, p in info.traffic_by_revision.items() if p}
    if case.follow == "rollback":
        assert now == {target: 100}
    elif case.follow == "verify":
        assert now == left  # recovery records, it never moves traffic (back or on)
    assert LOCK_ANNOTATION not in info.annotations
    assert JOURNAL_ANNOTATION not in info.annotations
    rows = sandbox.rows(ctx)
    ids = [r["deploy_id"] for r in rows]
    if follow_id is not None:
        assert ids.count(follow_id) == 1
    attempts = [r for r in rows if r["deploy_id"] != follow_id]
    if not leased:  # killed before the lease: nothing changed; a handled signal has its row
        assert not moved and len(attempts) == (0 if case.how == "KILL" else 1), rows
        return
    (row,) = attempts  # exactly one row for the interrupted rollback
    assert row["action"] == "rollback" and row["revision_before"] == newest, row
    if moved:
        assert row["revision_after"] == target
        assert row["outcome"] == "success" or case.how != "KILL", row
        if row["deploy_id"] not in dead_ids:  # written by the recovery
            assert "[row written by recovery]" in row["message"], row
    else:
        assert row["outcome"] == "interrupted", row
    if pending is not None:
        assert any(a["fields"].get("deploy id") == pending.deploy_id for a in sandbox.alerts())
        assert any("interrupted rollback recovered" in a["title"] for a in sandbox.alerts())
