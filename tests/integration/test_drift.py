"""check-drift end to end: a real git repository and the Cloud Run stand-in (official client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from worlds.drift_world import World, build_world, commit, git, seed_default

from nbaops.cli.drift import check_drift


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = build_world(tmp_path, monkeypatch)
    seed_default(w, monkeypatch)
    return w


def run_task(capsys: pytest.CaptureFixture[str], **flags: Any) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        check_drift(InvokeContext(), **flags)
        code = 0
    except Exit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def drift_json(capsys: pytest.CaptureFixture[str], **flags: Any) -> tuple[int, dict[str, Any]]:
    code, out, _err = run_task(capsys, json=True, **flags)
    return code, json.loads(out)  # exactly one JSON document


def by_service(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in doc["services"]}


def test_report_shape_and_verdict_per_service(world: World, capsys: pytest.CaptureFixture[str]):
    code, doc = drift_json(capsys)
    c = world.commits
    services = by_service(doc)
    assert doc["verdict"] == "FAIL" and code == 1
    assert doc["head_commit"] == c["c4"] and doc["main_ref"] == "main"
    for s in doc["services"]:
        assert {
            "service",
            "verdict",
            "deployed_commit",
            "head_commit",
            "pending",
            "oldest_pending_age_s",
        } <= set(s)
    assert {name: s["verdict"] for name, s in services.items()} == {
        "phase3-processors": "PASS",
        "phase4-processors": "FAIL",
        "prediction-coordinator": "INCONCLUSIVE",
        "prediction-worker": "WARN",
        "grading-service": "PASS",
    }


def test_changes_outside_the_service_paths_do_not_make_it_drift(
    world: World, capsys: pytest.CaptureFixture[str]
):
    # phase3 serves c0; main has four newer commits, none under services/phase3/ or shared/.
    code, doc = drift_json(capsys, service="phase3-processors")
    (svc,) = doc["services"]
    assert code == 0 and doc["verdict"] == "PASS"
    assert svc["deployed_commit"] == world.commits["c0"]
    assert svc["head_commit"] == world.commits["c4"]
    assert svc["pending"] == [] and svc["oldest_pending_age_s"] is None

    # A change to shared/ (one of its paths) makes it drift.
    commit(world.repo, {"shared/lib.py": "lib v2\n"}, "shared: fix", "2026-03-01T11:30:00Z")
    code, doc = drift_json(capsys, service="phase3-processors")
    (svc,) = doc["services"]
    assert svc["verdict"] == "WARN" and code == 0
    assert [p["subject"] for p in svc["pending"]] == ["shared: fix"]
    assert svc["oldest_pending_age_s"] == 1800


def test_drift_older_than_window_fails_with_pending_commits_named(
    world: World, capsys: pytest.CaptureFixture[str]
):
    code, doc = drift_json(capsys, service="phase4-processors")
    (svc,) = doc["services"]
    c = world.commits
    assert code == 1 and svc["verdict"] == "FAIL"
    assert [p["sha"] for p in svc["pending"]] == [c["c4"], c["c1"]]  # newest first
    assert svc["pending"][1]["author"] == "Ada Author"
    assert svc["pending"][1]["subject"] == "phase4: fix lines join"
    assert svc["pending"][1]["short"] == c["c1"][: len(svc["pending"][1]["short"])]
    assert svc["oldest_pending_age_s"] == 10 * 3600
    assert svc["window_s"] == 6 * 3600


def test_the_oldest_commit_named_is_the_one_whose_age_is_reported(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # After a rebase a child can carry an older committer date than its parent: the
    # message named the last listed commit (c1, 10 h) with the age of another (11 h).
    from worlds.drift_world import commit

    late = commit(
        world.repo, {"services/phase4/app.py": "p4 v4\n"}, "phase4: rebased", "2026-03-01T01:00:00Z"
    )
    code, doc = drift_json(capsys, service="phase4-processors")
    (svc,) = doc["services"]
    assert svc["oldest_pending_age_s"] == 11 * 3600
    assert f"oldest {late[:7]}" in svc["message"] and "waiting 11h" in svc["message"]


def test_drift_within_window_warns_and_window_flag_moves_the_line(
    world: World, capsys: pytest.CaptureFixture[str]
):
    code, doc = drift_json(capsys, service="prediction-worker")
    (svc,) = doc["services"]
    assert code == 0 and svc["verdict"] == "WARN"
    assert svc["oldest_pending_age_s"] == 3 * 3600
    assert [p["sha"] for p in svc["pending"]] == [world.commits["c2"]]

    code, doc = drift_json(capsys, service="prediction-worker", window="2h")
    assert code == 1 and doc["services"][0]["verdict"] == "FAIL"
    code, doc = drift_json(capsys, service="phase4-processors", window="12h")
    assert code == 0 and doc["services"][0]["verdict"] == "WARN"


def test_missing_commit_label_is_inconclusive(world: World, capsys: pytest.CaptureFixture[str]):
    code, doc = drift_json(capsys, service="prediction-coordinator")
    (svc,) = doc["services"]
    assert code == 3 and svc["verdict"] == "INCONCLUSIVE"
    assert "no 'commit-sha' label" in svc["message"]
    assert svc["deployed_commit"] is None


def test_commit_unknown_to_the_repository_is_error(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.seed("grading-service", ("f" * 40, 100))
    code, doc = drift_json(capsys, service="grading-service")
    (svc,) = doc["services"]
    assert code == 3 and svc["verdict"] == "ERROR"
    assert "ffffffffffff" in svc["message"] and "not in this repository" in svc["message"]


def test_split_traffic_is_reported_and_drift_measured_from_the_main_share(
    world: World, capsys: pytest.CaptureFixture[str]
):
    c = world.commits
    names = world.seed("prediction-worker", (c["c0"], 80), (c["c2"], 20))
    code, doc = drift_json(capsys, service="prediction-worker")
    (svc,) = doc["services"]
    assert svc["traffic_split"] is True
    assert {(t["revision"], t["percent"], t["commit"]) for t in svc["traffic"]} == {
        (names[0], 80, c["c0"]),
        (names[1], 20, c["c2"]),
    }
    assert svc["deployed_revision"] == names[0] and svc["deployed_commit"] == c["c0"]
    assert svc["verdict"] == "WARN" and "traffic split" in svc["message"]


def test_serving_commit_not_on_main_is_reported(world: World, capsys: pytest.CaptureFixture[str]):
    git(world.repo, "checkout", "-q", "-b", "hotfix", world.commits["c4"])
    side = commit(
        world.repo, {"services/grading/app.py": "hot\n"}, "grading: hotfix", "2026-03-01T11:45:00Z"
    )
    git(world.repo, "checkout", "-q", "main")
    world.seed("grading-service", (side, 100))
    code, doc = drift_json(capsys, service="grading-service")
    (svc,) = doc["services"]
    assert svc["deployed_on_main"] is False
    assert svc["verdict"] == "WARN" and "not on main" in svc["message"]


def test_remote_main_is_preferred_over_local_main(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(world.repo), str(origin))
    git(world.repo, "remote", "add", "origin", str(origin))
    git(world.repo, "fetch", "-q", "origin")
    # A local, unpushed phase3 commit is not "main" while origin/main exists.
    commit(world.repo, {"services/phase3/app.py": "local\n"}, "wip", "2026-03-01T11:50:00Z")
    code, doc = drift_json(capsys, service="phase3-processors")
    assert doc["main_ref"] == "origin/main" and doc["head_commit"] == world.commits["c4"]
    assert doc["services"][0]["verdict"] == "PASS"


def test_table_and_markdown_outputs(world: World, capsys: pytest.CaptureFixture[str]):
    code, out, _ = run_task(capsys)
    assert code == 1
    assert "phase4-processors" in out and "FAIL" in out and "phase4: fix lines join" in out
    code, out, _ = run_task(capsys, markdown=True)
    assert code == 1
    assert out.startswith("## Deployment drift: FAIL")
    assert "| phase4-processors | ❌ FAIL |" in out
    # A subject's pipe and angle brackets cannot break the table or inject HTML.
    assert "worker: v9 \\| threshold &lt;55%&gt;" in out


def test_report_files_are_written(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    md, js = tmp_path / "out" / "drift.md", tmp_path / "out" / "drift.json"
    code, _out, _ = run_task(capsys, markdown_file=str(md), json_file=str(js))
    assert code == 1
    assert md.read_text(encoding="utf-8").startswith("## Deployment drift: FAIL")
    assert json.loads(js.read_text(encoding="utf-8"))["verdict"] == "FAIL"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"service": "nope"}, "unknown service 'nope'"),
        ({"window": "soon"}, "--window: 'soon' is not a duration"),
        ({"markdown": True, "json": True}, "choose one of --json and --markdown"),
        ({"sync_issues": True}, "GITHUB_TOKEN"),
        # alone it was accepted and ignored: a user expecting the issue preview got none
        ({"dry_run": True}, "--dry-run previews --sync-issues: give both, or neither"),
        ({"markdown_file": "/"}, "--markdown-file: / is a folder; give a file name"),
        ({"json_file": "/proc/nbaops/x.json"}, "--json-file: cannot create /proc/nbaops"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    world: World, capsys: pytest.CaptureFixture[str], flags: dict[str, Any], message: str
):
    code, _out, err = run_task(capsys, **flags)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_not_a_git_repository_exits_3(world: World, capsys: pytest.CaptureFixture[str]):
    import shutil

    shutil.rmtree(world.repo / ".git")
    code, _out, err = run_task(capsys, service="phase3-processors")
    assert code == 3 and "not a git repository" in err


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("  windw: 6h", "drift: Additional properties are not allowed ('windw'"),
        ("  window: six hours", "drift.window"),
    ],
)
def test_drift_config_typos_exit_2(
    world: World, capsys: pytest.CaptureFixture[str], replacement: str, message: str
):
    config = world.repo / "nbaops.yaml"
    text = config.read_text(encoding="utf-8").replace("  window: 6h", replacement)
    config.write_text(text, encoding="utf-8")
    code, _out, err = run_task(capsys)
    assert code == 2 and message in err


def test_service_missing_in_cloud_run_is_error_not_pass(
    world: World, capsys: pytest.CaptureFixture[str]
):
    config = world.repo / "nbaops.yaml"
    ghost = (
        "services:\n  ghost-service:\n    owner: '@x'\n    source_paths: [services/ghost/]\n"
        "    health_path: /health\n    post_deploy: []\n"
    )
    config.write_text(
        config.read_text(encoding="utf-8").replace("services:\n", ghost, 1), encoding="utf-8"
    )
    code, doc = drift_json(capsys, service="ghost-service")
    (svc,) = doc["services"]
    assert code == 3 and svc["verdict"] == "ERROR"
    assert "ghost-service" in svc["message"]
