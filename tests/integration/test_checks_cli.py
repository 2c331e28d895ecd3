"""The check tasks as a user runs them: flags, one JSON document, exit codes 0/1/2/3."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from worlds.sandbox import restore_home, sandbox_home, use_sandbox

from nbaops.cli import checks as tasks

NOW = "2026-01-14T17:00:00Z"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = sandbox_home(tmp_path_factory, tmp_path_factory.mktemp("checks-cli") / "home", NOW)
    with pytest.MonkeyPatch.context() as mp:
        use_sandbox(mp, path, NOW)
        yield path


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_sandbox(monkeypatch, home, NOW)
    return home


def call(task: object, **kwargs: object) -> int:
    try:
        task(InvokeContext(), **kwargs)  # type: ignore[operator]
    except Exit as exc:
        return int(exc.code)
    return 0


def test_every_flag_has_help() -> None:
    for task in tasks.ns.tasks.values():
        params = [p for p in inspect.signature(task.body).parameters if p != "c"]
        assert sorted(task.help) == sorted(params), task.name
        assert all(text.strip() for text in task.help.values())


def test_system_health_json_is_one_document_and_exit_0(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(tasks.system_health, json=True, no_record=True) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert set(doc) == {"verdict", "checks"} and doc["verdict"] == "PASS"
    assert len(doc["checks"]) == 12


def test_a_failed_check_exits_1(
    env: Path, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    restore_home(tmp_path_factory, env, NOW, [("batch-errors", None)])  # as inject makes it
    try:
        assert call(tasks.system_health, service="prediction-coordinator", json=True) == 1
    finally:
        restore_home(tmp_path_factory, env, NOW)  # the template: what clear regenerates
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "FAIL"
    by = {c["name"]: c for c in doc["checks"]}
    assert by["batch_errors"]["verdict"] == "FAIL"
    assert "run_id" in by["batch_errors"]["details"]  # history recorded the run


def test_an_error_exits_3(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nbaops.local.api_faults import clear_api_faults, set_api_fault

    set_api_fault(env, "logging-error")
    try:
        code = call(tasks.system_health, service="grading-service", json=True, no_record=True)
    finally:
        clear_api_faults(env)
    assert code == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "ERROR"


def test_unknown_service_and_bad_date_exit_2_with_one_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(tasks.system_health, service="nope") == 2
    err = capsys.readouterr().err
    assert "unknown service 'nope'" in err and "Traceback" not in err
    assert call(tasks.check_lines, date="2026-13-01") == 2
    err = capsys.readouterr().err
    assert "--date: '2026-13-01' is not a date" in err


def test_single_check_tasks(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(tasks.check_lines, date="today", json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in doc["checks"]] == ["lines_coverage"]
    assert doc["checks"][0]["details"]["game_date"] == "2026-01-14"
    assert call(tasks.check_grading, json=True) == 0
    assert json.loads(capsys.readouterr().out)["checks"][0]["name"] == "grading_completeness"
    assert call(tasks.check_predictions, json=True) == 0
    assert json.loads(capsys.readouterr().out)["checks"][0]["name"] == "recent_predictions"


def test_validate_daily_table_and_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(tasks.validate_daily, json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["game_date"] == "2026-01-13" and doc["broke_at"] is None
    assert [c["name"] for c in doc["checks"]] == [
        "daily.schedule",
        "daily.box_scores",
        "daily.features",
        "daily.predictions",
        "daily.grading",
    ]
    assert call(tasks.validate_daily, date="2026-01-13") == 0
    out = capsys.readouterr().out
    assert "validate-daily 2026-01-13" in out and "chain complete" in out


def test_check_lines_under_a_coverage_drop_names_games_and_players_in_plain_text(
    env: Path, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The on-call's first command: stdout is not a terminal (capsys), so plain lines."""
    import re

    restore_home(tmp_path_factory, env, NOW, [("lines-coverage-drop", None)])  # as inject makes it
    try:
        assert call(tasks.check_lines) == 1
        out = capsys.readouterr().out
        doc_code = call(tasks.check_lines, json=True)
        doc = json.loads(capsys.readouterr().out)
    finally:
        restore_home(tmp_path_factory, env, NOW)  # the template: what clear regenerates
    assert doc_code == 1
    lines = out.splitlines()
    head = next(line for line in lines if line.startswith("FAIL lines_coverage"))
    assert "value=" in head and "%" in head and "threshold: FAIL < 90%" in head
    assert head.endswith("-> see docs/playbooks/lines-coverage.md")
    assert "┃" not in out and "│" not in out  # no table off a terminal
    per_game = doc["checks"][0]["details"]["per_game"]
    zero = [g for g in per_game if g["expected"] and g["with_line"] == 0]
    assert zero, "the fault removes whole games' lines"
    missing = doc["checks"][0]["details"]["missing_players"]
    for game in zero:
        pattern = rf"^    ! {re.escape(game['matchup'])} 0/{game['expected']} \(0\.0%\) missing: "
        line = next(line for line in lines if re.match(pattern, line))
        names = line.split(" missing: ", 1)[1].split(", ")
        assert len(names) == game["expected"]  # every missing player, not a top N
        for player in (p for p in missing if p["game"] == game["matchup"]):
            assert f"{player['player']} ({player['team']})" in names
    assert not any(re.match(r"^ +! \S+ (\d+)/\1 ", line) for line in lines)  # full games hidden
