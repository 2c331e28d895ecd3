"""Drift rehearsal on the local profile: the sandbox's platform clone and the `drift` fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from worlds.sandbox import sandbox_home, use_sandbox

from nbaops.context import Context
from nbaops.drift.detect import detect_drift
from nbaops.sandbox import fault_injection, platform_repo
from nbaops.sandbox.world import open_context
from nbaops.verdict import Verdict

# the clock of the other sandbox tests: their session template, not a build of its own
NOW = "2026-01-14T17:00:00Z"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("drift-rehearsal")
        use_sandbox(mp, sandbox_home(tmp_path_factory, home, NOW), NOW)
        yield open_context("local")


def test_local_drift_reads_the_sandbox_platform_clone_and_the_fault_makes_it_fail(
    ctx: Context,
) -> None:
    clean = detect_drift(ctx)
    assert {s.service: s.verdict for s in clean.services} == dict.fromkeys(
        ctx.config.services, Verdict.PASS
    )
    report = fault_injection.inject(ctx, "drift", service="phase4-processors")
    added = report.to_json()["faults"][0]["commits"]
    try:
        drifted = detect_drift(ctx)
        by = {s.service: s for s in drifted.services}
        phase4 = by["phase4-processors"]
        assert phase4.verdict is Verdict.FAIL  # committed 8 h ago, over the 6 h window
        assert len(phase4.pending) == platform_repo.DRIFT_COMMITS
        assert all("not deployed (sandbox drift fault)" in c.subject for c in phase4.pending)
        assert [c.sha for c in phase4.pending] == list(reversed(added))  # newest first
        assert all(by[s].verdict is Verdict.PASS for s in by if s != "phase4-processors")
    finally:
        fault_injection.clear(ctx)
    assert detect_drift(ctx, service="phase4-processors").verdict is Verdict.PASS


def test_drift_fault_refuses_an_unknown_service(ctx: Context) -> None:
    from nbaops.errors import UsageError

    with pytest.raises(UsageError):
        fault_injection.inject(ctx, "drift", service="nope")
