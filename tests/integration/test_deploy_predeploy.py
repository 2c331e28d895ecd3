"""The eight pre-deploy checks against a real git repository and the stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from worlds.deploy_world import DeployWorld, git

from nbaops.deploy.predeploy import CHECK_NAMES, run_predeploy
from nbaops.verdict import Verdict

SERVICE = "phase4-processors"


def checks(world: DeployWorld, service: str = SERVICE, **kw: bool) -> dict[str, object]:
    ctx = world.context()
    result = run_predeploy(ctx, ctx.config.service(service), **kw)
    assert [c.name for c in result.checks] == list(CHECK_NAMES)
    return {c.name: c for c in result.checks}


def test_clean_repo_without_upstream_passes_with_a_warning(dworld: DeployWorld) -> None:
    got = checks(dworld)
    verdicts = {k: v.verdict for k, v in got.items()}  # type: ignore[attr-defined]
    assert verdicts == {
        "uncommitted_changes": Verdict.PASS,
        "branch": Verdict.PASS,
        "remote_sync": Verdict.WARN,
        "commits_since_deployed": Verdict.PASS,
        "schema_changes": Verdict.PASS,
        "tests": Verdict.PASS,
        "deployment_status": Verdict.PASS,
        "service_health": Verdict.PASS,
    }
    commits = got["commits_since_deployed"]
    assert commits.details["listed"] == [  # type: ignore[attr-defined]
        f"{git(dworld.repo, 'rev-parse', '--short', 'HEAD')} Ada Lovelace: "
        "phase4: faster lines join"
    ]
    assert "3 passed" in got["tests"].message  # type: ignore[attr-defined]


def test_dirty_outside_service_paths_warns(dworld: DeployWorld) -> None:
    (dworld.repo / "notes.txt").write_text("todo\n")
    got = checks(dworld)
    assert got["uncommitted_changes"].verdict is Verdict.WARN  # type: ignore[attr-defined]


def test_wrong_branch_and_detached_head_fail(dworld: DeployWorld) -> None:
    git(dworld.repo, "checkout", "-q", "-b", "feature")
    assert checks(dworld)["branch"].verdict is Verdict.FAIL  # type: ignore[attr-defined]
    git(dworld.repo, "checkout", "-q", "--detach")
    assert "detached" in checks(dworld)["branch"].message  # type: ignore[attr-defined]


def test_remote_sync_behind_ahead_and_in_sync(dworld: DeployWorld, tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    git(dworld.repo, "init", "-q", "--bare", str(remote))
    git(dworld.repo, "remote", "add", "origin", str(remote))
    git(dworld.repo, "push", "-q", "-u", "origin", "main")
    assert checks(dworld)["remote_sync"].verdict is Verdict.PASS  # type: ignore[attr-defined]
    (dworld.repo / "README").write_text("x\n")
    git(dworld.repo, "add", "README")
    git(dworld.repo, "commit", "-q", "-m", "local only")
    ahead = checks(dworld)["remote_sync"]
    assert ahead.verdict is Verdict.FAIL and "unpushed" in ahead.message  # type: ignore[attr-defined]
    git(dworld.repo, "push", "-q")
    git(dworld.repo, "reset", "-q", "--hard", "HEAD~1")
    behind = checks(dworld)["remote_sync"]
    assert behind.verdict is Verdict.FAIL and "behind" in behind.message  # type: ignore[attr-defined]


def test_failing_tests_fail_and_missing_command_is_error(dworld: DeployWorld) -> None:
    dworld.reconfigure(test_command="python -c \"import sys; print('1 failed'); sys.exit(1)\"")
    got = checks(dworld)["tests"]
    assert got.verdict is Verdict.FAIL and "1 failed" in got.message  # type: ignore[attr-defined]
    dworld.reconfigure(test_command="no-such-test-runner-xyz")
    assert checks(dworld)["tests"].verdict is Verdict.ERROR  # type: ignore[attr-defined]
    assert checks(dworld, skip_tests=True)["tests"].verdict is Verdict.WARN  # type: ignore[attr-defined]


def test_head_without_the_deployed_commit_fails(dworld: DeployWorld) -> None:
    git(dworld.repo, "reset", "-q", "--hard", dworld.first)
    (dworld.repo / "services" / "phase4_processors" / "other.py").write_text("x = 1\n")
    git(dworld.repo, "add", "-A")
    git(dworld.repo, "commit", "-q", "-m", "diverged")
    ctx = dworld.context()
    # the service runs the (now unreachable) commit dworld.head
    from worlds.deploy_world import seed

    seed(dworld.home, dworld.head)
    result = run_predeploy(ctx, ctx.config.service(SERVICE), skip_tests=True)
    got = {c.name: c for c in result.checks}
    assert got["commits_since_deployed"].verdict is Verdict.FAIL
    assert "would remove 1 live commit" in got["commits_since_deployed"].message


def test_unknown_deployed_commit_is_inconclusive_not_blocking(dworld: DeployWorld) -> None:
    from worlds.deploy_world import seed

    seed(dworld.home, "f" * 40)
    got = checks(dworld, skip_tests=True)
    assert got["commits_since_deployed"].verdict is Verdict.INCONCLUSIVE  # type: ignore[attr-defined]
    assert got["schema_changes"].verdict is Verdict.INCONCLUSIVE  # type: ignore[attr-defined]


def test_schema_changes_are_judged_by_the_breaking_rules(dworld: DeployWorld) -> None:
    path = dworld.repo / "schemas" / "nba_ops" / "check_results.json"
    fields = json.loads(path.read_text())
    fields.append({"name": "note", "type": "STRING", "mode": "NULLABLE"})
    path.write_text(json.dumps(fields, indent=2) + "\n")
    git(dworld.repo, "commit", "-q", "-am", "add a nullable column")
    ok = checks(dworld, skip_tests=True)["schema_changes"]
    assert ok.verdict is Verdict.PASS and "none breaking" in ok.message  # type: ignore[attr-defined]
    fields = [f for f in fields if f["name"] != "message"]
    path.write_text(json.dumps(fields, indent=2) + "\n")
    git(dworld.repo, "commit", "-q", "-am", "drop a column")
    bad = checks(dworld, skip_tests=True)["schema_changes"]
    assert bad.verdict is Verdict.FAIL and "message" in bad.message  # type: ignore[attr-defined]


def test_schema_changes_judge_what_deploys_not_uncommitted_edits(dworld: DeployWorld) -> None:
    """The breaking rules read the working tree: a committed breaking change undone by an
    uncommitted edit passed (HEAD, which deploys, still drops the column), and an
    uncommitted breaking edit failed a deploy that does not ship it. They judge HEAD."""
    path = dworld.repo / "schemas" / "nba_ops" / "check_results.json"
    text = path.read_text()
    fields = [f for f in json.loads(text) if f["name"] != "message"]
    path.write_text(json.dumps(fields, indent=2) + "\n")
    git(dworld.repo, "commit", "-q", "-am", "drop a column")
    path.write_text(text)  # undone in the working tree only
    got = checks(dworld, skip_tests=True)["schema_changes"]
    assert got.verdict is Verdict.FAIL, got  # type: ignore[attr-defined]
    message = got.message  # type: ignore[attr-defined]
    assert "repo/schemas/nba_ops/check_results.json:1: FIELD_NO_DELETE column message" in message
    assert "nbaops-schemas-" not in json.dumps(got.to_json())  # type: ignore[attr-defined]
    git(dworld.repo, "commit", "-q", "-am", "restore the column")
    fields = [f for f in json.loads(text) if f["name"] != "message"]
    path.write_text(json.dumps(fields, indent=2) + "\n")  # a breaking edit, not committed
    got = checks(dworld, skip_tests=True)["schema_changes"]
    assert got.verdict is Verdict.PASS, got  # type: ignore[attr-defined]
    assert git(dworld.repo, "worktree", "list").count("\n") == 0  # no checkout left behind


def test_status_and_health_of_what_serves(dworld: DeployWorld) -> None:
    from nbaops.local.api_faults import set_api_fault

    ctx = dworld.context()
    revisions = ctx.cloudrun.list_revisions(SERVICE)
    from nbaops.adapters.cloudrun import TrafficSplit

    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(revisions[1].name, 100)])
    set_api_fault(dworld.home, "health-5xx", service=SERVICE, count=5)
    got = checks(dworld, skip_tests=True)
    assert got["deployment_status"].verdict is Verdict.WARN  # type: ignore[attr-defined]
    assert "not 100% on the latest ready" in got["deployment_status"].message  # type: ignore[attr-defined]
    assert got["service_health"].verdict is Verdict.FAIL  # type: ignore[attr-defined]


def test_a_failed_new_revision_warns_while_the_ready_one_serves_and_deploys_proceed(
    dworld: DeployWorld,
) -> None:
    """A new revision that failed to become ready leaves the Service's terminal (Ready)
    condition FAILED while its latest ready revision keeps 100% (run.v2 service.proto,
    ``reconciling``: "If reconciliation failed, traffic_statuses, observed_generation, and
    latest_ready_revision will have the state of the last serving revision ... Additional
    information on the failure can be found in terminal_condition"). That service serves:
    deployment_status WARNs naming the failed revision, and the deploy that fixes it is not
    refused (a FAIL here refused every later deploy)."""
    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.errors import CloudRunError
    from nbaops.local.api_faults import set_api_fault

    ctx = dworld.context()
    serving = dworld.service().serving_revision
    set_api_fault(dworld.home, "lro-fail", service=SERVICE, count=1)
    with pytest.raises(CloudRunError, match="operation failed"):  # as a failed gcloud deploy
        ctx.cloudrun.deploy_revision(SERVICE, image="example/broken:1", labels={})
    info = dworld.service()
    failed = info.latest_created_revision
    assert not info.ready and failed != serving and info.traffic_by_revision == {serving: 100}
    status = checks(dworld, skip_tests=True)["deployment_status"]
    assert status.verdict is Verdict.WARN, status.message  # type: ignore[attr-defined]
    assert f"latest created revision {failed} failed" in status.message  # type: ignore[attr-defined]
    assert f"{serving} still serves 100%" in status.message  # type: ignore[attr-defined]
    report = run_deploy(dworld.context(), DeployRequest(service=SERVICE, skip_tests=True))
    assert report.outcome == "success", report.final_line()
    assert dworld.service().ready


def test_a_failed_new_revision_warns_after_a_rollback_to_an_older_revision(
    dworld: DeployWorld,
) -> None:
    """After a failed revision, a rollback to an older revision leaves the service not Ready
    (Cloud Run: Ready needs the latest created revision ready, whatever serves), with the
    latest ready revision at 0%: deployment_status FAILed 'service is not Ready', so the
    pre-deploy refused the deploy that fixes it. What serves is ready: WARN, naming it."""
    from nbaops.adapters.cloudrun import TrafficSplit
    from nbaops.errors import CloudRunError
    from nbaops.local.api_faults import set_api_fault

    ctx = dworld.context()
    older = ctx.cloudrun.list_revisions(SERVICE)[1].name
    set_api_fault(dworld.home, "lro-fail", service=SERVICE, count=1)
    with pytest.raises(CloudRunError, match="operation failed"):
        ctx.cloudrun.deploy_revision(SERVICE, image="example/broken:1", labels={})
    ctx.cloudrun.set_traffic(SERVICE, [TrafficSplit(older, 100)])
    info = dworld.service()
    assert not info.ready and info.traffic_by_revision.get(older) == 100
    status = checks(dworld, skip_tests=True)["deployment_status"]
    assert status.verdict is Verdict.WARN, status.message  # type: ignore[attr-defined]
    assert f"latest created revision {info.latest_created_revision} failed" in status.message  # type: ignore[attr-defined]
    assert f"{older} 100% serves" in status.message  # type: ignore[attr-defined]


def test_cloud_run_unreachable_makes_the_cloud_checks_error(dworld: DeployWorld) -> None:
    from nbaops.local.api_faults import set_api_fault

    set_api_fault(dworld.home, "http-5xx", service=SERVICE, method="GET", count=1)
    got = checks(dworld, skip_tests=True)
    for name in ("commits_since_deployed", "schema_changes", "deployment_status", "service_health"):
        assert got[name].verdict is Verdict.ERROR  # type: ignore[attr-defined]


def test_not_a_git_repository_is_error_for_the_git_checks(dworld: DeployWorld) -> None:
    import shutil

    shutil.rmtree(dworld.repo / ".git")
    got = checks(dworld, skip_tests=True)
    assert got["branch"].verdict is Verdict.ERROR  # type: ignore[attr-defined]
    assert got["uncommitted_changes"].verdict is Verdict.ERROR  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", ["grading-service", "prediction-worker"])
def test_other_services_have_their_checklist(dworld: DeployWorld, service: str) -> None:
    got = checks(dworld, service=service, skip_tests=True)
    assert got["commits_since_deployed"].verdict is Verdict.PASS  # type: ignore[attr-defined]


def test_a_passing_run_is_reused_only_for_the_same_clean_commit_and_command(
    dworld: DeployWorld,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    runs = tmp_path / "runs.txt"  # outside the repository: counting runs leaves the tree clean
    count = f"open({str(runs)!r}, 'a').write('x')"
    dworld.reconfigure(test_command=f"python -c \"{count}; print('3 passed')\"")
    first = checks(dworld)["tests"]
    second = checks(dworld)["tests"]
    assert runs.read_text() == "x"  # the second checklist did not run the tests again
    assert first.verdict is second.verdict is Verdict.PASS  # type: ignore[attr-defined]
    assert "reused: same commit, same command, clean tree" in second.message  # type: ignore[attr-defined]
    assert "3 passed" in second.message  # type: ignore[attr-defined]

    (dworld.repo / "notes.txt").write_text("todo\n")  # a dirty tree always runs them
    assert "reused" not in checks(dworld)["tests"].message  # type: ignore[attr-defined]
    assert runs.read_text() == "xx"
    git(dworld.repo, "add", "notes.txt")
    git(dworld.repo, "commit", "-q", "-m", "notes")  # a new commit runs them once more
    assert "reused" not in checks(dworld)["tests"].message  # type: ignore[attr-defined]
    assert "reused" in checks(dworld)["tests"].message  # type: ignore[attr-defined]
    assert runs.read_text() == "xxx"

    failing = f"python -c \"import sys; {count}; print('1 failed'); sys.exit(1)\""
    dworld.reconfigure(test_command=failing)  # another command; a failure is never remembered
    assert checks(dworld)["tests"].verdict is Verdict.FAIL  # type: ignore[attr-defined]
    assert checks(dworld)["tests"].verdict is Verdict.FAIL  # type: ignore[attr-defined]
    assert runs.read_text() == "xxxxx"


def test_a_run_during_which_the_tree_changed_is_not_remembered_as_a_pass_of_that_commit(
    dworld: DeployWorld,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The tree is checked clean before the tests run; an edit made while they ran (here by
    the run itself, as a person saving a file would) was still remembered as a pass of
    HEAD, so once the edit was undone the next checklist reused a run that had tested
    something else. The tree is checked again after the run before it is remembered."""
    runs, editing = tmp_path / "runs.txt", tmp_path / "edit-during-the-run"
    edit = dworld.repo / "edited-during-the-run.txt"
    body = (
        f"import os; open({str(runs)!r}, 'a').write('x'); "
        f"os.path.exists({str(editing)!r}) and open({str(edit)!r}, 'w').write('wip')"
    )
    dworld.reconfigure(test_command=f"python -c \"{body}; print('3 passed')\"")
    editing.touch()
    first = checks(dworld)["tests"]
    assert first.verdict is Verdict.PASS, first.message  # type: ignore[attr-defined]
    assert "(not remembered for reuse: the tree changed while the tests ran)" in first.message  # type: ignore[attr-defined]
    editing.unlink()
    edit.unlink()  # the edit undone: the same clean HEAD, the same command
    second = checks(dworld)["tests"]
    assert "reused" not in second.message  # type: ignore[attr-defined]
    assert runs.read_text() == "xx"  # run again
    assert "reused" in checks(dworld)["tests"].message  # type: ignore[attr-defined]
    assert runs.read_text() == "xx"  # a run on a tree that stayed clean is remembered


def test_tests_that_passed_stay_passed_when_the_state_folder_cannot_remember_them(
    dworld: DeployWorld,
) -> None:
    """A read-only (or full) state folder ran the whole test suite, then made the tests
    check fail on writing the record that only saves the next run's tests."""
    dworld.reconfigure(test_command="python -c \"print('7 passed')\"")
    folder = dworld.context().home / "test-results"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the records' folder goes: nothing can be written in it")
    result = checks(dworld)["tests"]
    assert result.verdict is Verdict.PASS, result.message  # type: ignore[attr-defined]
    assert "(not remembered for reuse: " in result.message  # type: ignore[attr-defined]


_TESTS_WITH_A_CHILD = """
import subprocess, sys, time
from pathlib import Path

child = subprocess.Popen(["sleep", "30"])  # as nox starts pytest: a process of its own
Path(sys.argv[1]).write_text(f"{child.pid}\\n")
time.sleep(30)
"""


def _gone(pid: int, within_s: float = 10.0) -> bool:
    """The process has exited (a zombie no one reaped yet counts as exited)."""
    import time

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False


def _slow_tests(world: DeployWorld, tmp_path: Path, timeout_s: float = 900.0) -> Path:
    script = tmp_path / "slow_tests.py"
    script.write_text(_TESTS_WITH_A_CHILD, encoding="utf-8")
    pid_file = tmp_path / "child.pid"
    world.reconfigure(test_command=f"python {script} {pid_file}", test_timeout_s=timeout_s)
    return pid_file


def test_an_interrupted_checklist_stops_the_test_command_and_its_children(
    dworld: DeployWorld, tmp_path: Path
) -> None:
    """A Ctrl-C or SIGTERM during the checklist waited for the test command to end (up to
    deploy.test_timeout_s, 900 s) before the deploy could write its interrupted row, and
    a CI runner's SIGKILL came first. The command's whole process group is stopped now.

    The signal is a real one, sent once the command's child is up, so it lands where a
    real one does: in the main thread, waiting for the checklist's threads (an exception
    raised in a progress callback lands in whichever part reported first; from the cloud
    part, the wait for the tests part in front of it took the whole 30 s)."""
    import signal
    import threading
    import time

    from nbaops.deploy.signals import Terminated, terminate_as_interrupt

    pid_file = _slow_tests(dworld, tmp_path)
    done = threading.Event()

    def sigterm_once_the_tests_run() -> None:
        deadline = time.monotonic() + 30
        while not _pid_in(pid_file) and time.monotonic() < deadline and not done.is_set():
            time.sleep(0.02)
        if not done.is_set():  # never after the test's handler is gone
            # to the main thread: a process-wide kill() may land in another thread, and the
            # main thread, blocked on a lock, would only see it once the tests ended (30 s)
            signal.pthread_kill(main, signal.SIGTERM)

    main = threading.main_thread().ident or 0
    sender = threading.Thread(target=sigterm_once_the_tests_run)
    ctx = dworld.context()
    started = time.monotonic()
    try:
        with terminate_as_interrupt(), pytest.raises(Terminated):
            sender.start()
            run_predeploy(ctx, ctx.config.service(SERVICE))
    finally:
        done.set()
        sender.join()
    assert time.monotonic() - started < 20  # the command sleeps 30 s
    assert _gone(int(pid_file.read_text()))  # the command's own child too


def _pid_in(path: Path) -> bool:
    """The script wrote its child's pid (the whole line: write_text is not atomic)."""
    return path.exists() and path.read_text().endswith("\n")


def test_a_test_command_past_its_timeout_is_stopped_with_its_children(
    dworld: DeployWorld, tmp_path: Path
) -> None:
    """On deploy.test_timeout_s only the command itself was killed: a child it started
    (nox's pytest) ran on, orphaned."""
    # 5 s: time for a loaded CI machine to start the script and write its child's pid
    pid_file = _slow_tests(dworld, tmp_path, timeout_s=5)
    got = checks(dworld)["tests"]
    assert got.verdict is Verdict.ERROR  # type: ignore[attr-defined]
    assert got.message == "test command timed out after 5s"  # type: ignore[attr-defined]
    assert _gone(int(pid_file.read_text()))
