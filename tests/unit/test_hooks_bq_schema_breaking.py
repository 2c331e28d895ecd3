"""bq-schema-breaking hook: main([...]) in a temporary git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks.bq_schema_breaking import main

FIELDS: list[dict[str, Any]] = [
    {"name": "game_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "game_date", "type": "DATE", "mode": "REQUIRED"},
    {"name": "points", "type": "INT64", "mode": "REQUIRED"},
]
SCHEMA = "schemas/nba_raw/games.json"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
        "NBAOPS_NOW": "2026-11-25T15:00:00Z",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    root = tmp_path / "svc"
    (root / "schemas" / "nba_raw").mkdir(parents=True)
    (root / SCHEMA).write_text(json.dumps(FIELDS, indent=2))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    monkeypatch.chdir(root)
    return root


def change(root: Path, fields: list[dict[str, Any]]) -> None:
    (root / SCHEMA).write_text(json.dumps(fields))


def test_unchanged_is_clean(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([SCHEMA]) == 0
    assert capsys.readouterr().out == ""


def test_allowed_change_prints_ddl_and_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo, [*FIELDS[:2], {**FIELDS[2], "mode": "NULLABLE"}, {"name": "x", "type": "BOOL"}])
    assert main([SCHEMA]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"-- nba_raw.games: DDL for the allowed changes ({SCHEMA})",
        "ALTER TABLE `nba_raw.games` ALTER COLUMN `points` DROP NOT NULL;",
        "ALTER TABLE `nba_raw.games` ADD COLUMN IF NOT EXISTS `x` BOOL;",
    ]
    assert main(["--no-ddl", SCHEMA]) == 0
    assert capsys.readouterr().out == ""


def test_breaking_change_fails_with_rule_ids(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo, FIELDS[:2])
    assert main([SCHEMA]) == 1
    out = capsys.readouterr().out
    assert f"{SCHEMA}:1: FIELD_NO_DELETE column points (REQUIRED INT64) removed" in out


def test_waiver_from_config_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change(repo, FIELDS[:2])
    rules = repo / "rules.yaml"
    rules.write_text(
        "schema_rules:\n  waivers:\n    - {rule: FIELD_NO_DELETE, table: nba_raw.games, "
        "column: points, reason: moved to box scores, expires: 2026-12-01}\n"
    )
    assert main(["--config", str(rules), SCHEMA]) == 0
    out = capsys.readouterr().out
    assert "FIELD_NO_DELETE warning:" in out
    assert "ALTER TABLE `nba_raw.games` DROP COLUMN IF EXISTS `points`;" in out
    rules.write_text(rules.read_text().replace("2026-12-01", "2026-11-01"))
    assert main(["--config", str(rules), SCHEMA]) == 1
    assert "waiver expired on 2026-11-01" in capsys.readouterr().out


def test_a_config_that_is_no_regular_file_is_refused_not_read_for_ever(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --config was read with open(): a FIFO nobody writes to blocked the commit for ever
    # and /dev/zero was read until memory ran out (nbaops.yaml itself is read bounded).
    fifo = repo / "rules.fifo"
    os.mkfifo(fifo)
    code = (
        "from hooks.bq_schema_breaking import main\n"
        f"raise SystemExit(main(['--config', {str(fifo)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"bq-schema-breaking: error: {fifo}: not a regular file, not a config file"
    ]
    big = repo / "big.yaml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    assert main(["--config", str(big)]) == 2
    assert "larger than 1024 KiB" in capsys.readouterr().err


def test_the_default_config_is_found_from_a_subfolder(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run from schemas/, the hook read no nbaops.yaml: the waiver vanished and it failed.
    change(repo, FIELDS[:2])
    (repo / "nbaops.yaml").write_text(
        "schema_rules:\n  waivers:\n    - {rule: FIELD_NO_DELETE, table: nba_raw.games, "
        "column: points, reason: moved to box scores, expires: 2026-12-01}\n"
    )
    monkeypatch.chdir(repo / "schemas")
    assert main(["nba_raw/games.json"]) == 0
    assert "FIELD_NO_DELETE warning:" in capsys.readouterr().out
    # ... but not from above the repository.
    (repo.parent / "nbaops.yaml").write_text("schema_rules:\n  except: [NOT_A_RULE]\n")
    (repo / "nbaops.yaml").unlink()
    assert main(["nba_raw/games.json"]) == 1


def test_a_folder_stands_for_its_schemas_and_a_missing_path_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both were ignored: nothing compared, exit 0, a breaking change unreported.
    change(repo, FIELDS[:2])
    assert main(["schemas/nba_raw"]) == 1
    assert "FIELD_NO_DELETE column points" in capsys.readouterr().out
    assert main(["schemas/nba_raw/gamez.json"]) == 2
    assert "gamez.json: no such file in the working tree or at HEAD" in capsys.readouterr().err
    # A file deleted in the working tree still exists at the base: compared, not refused.
    (repo / SCHEMA).unlink()
    assert main([SCHEMA]) == 1
    assert "TABLE_NO_DELETE" in capsys.readouterr().out


def test_a_file_outside_the_repository_is_a_usage_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text("[]")
    assert main([str(outside)]) == 2
    assert "elsewhere.json: outside the repository" in capsys.readouterr().err


def test_bad_config_and_bad_ref_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "nbaops.yaml").write_text("schema_rules:\n  except: [NOT_A_RULE]\n")
    assert main([SCHEMA]) == 2
    assert "unknown rule id 'NOT_A_RULE'" in capsys.readouterr().err
    (repo / "nbaops.yaml").unlink()
    assert main(["--against", "no-such-branch", SCHEMA]) == 2
    assert "unknown git ref 'no-such-branch'" in capsys.readouterr().err
    assert main(["--bogus"]) == 2


def test_no_filenames_checks_the_whole_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / SCHEMA).unlink()
    assert main([]) == 1
    assert "TABLE_NO_DELETE table nba_raw.games removed" in capsys.readouterr().out


def test_outside_a_git_repository_is_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert main([]) == 3
    assert "not a git repository" in capsys.readouterr().err


def test_runs_without_importing_google(repo: Path) -> None:
    change(repo, FIELDS[:2])
    code = (
        "import sys\n"  # hooks is installed with the project (editable): no path insert
        "from hooks.bq_schema_breaking import main\n"
        f"rc = main([{SCHEMA!r}])\n"
        # SQLGlot is allowed: the printed DDL is built as a syntax tree (issue 14)
        "heavy = [m for m in sys.modules if m.startswith(('google', 'duckdb'))]\n"
        "print(rc, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-1] == "1 []"


def _uncommitted_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: list[dict[str, Any]]
) -> Path:
    """A new repository (no commit yet, git config isolated) holding SCHEMA as ``fields``."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "new-svc"
    (root / "schemas" / "nba_raw").mkdir(parents=True)
    (root / SCHEMA).write_text(json.dumps(fields))
    git(root, "init", "-q", "-b", "main")
    return root


def test_a_first_commit_has_no_base_and_is_linted_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _uncommitted_repo(tmp_path, monkeypatch, FIELDS)
    git(root, "add", "-A")  # staged, never committed: HEAD does not exist yet
    monkeypatch.chdir(root)
    assert main([SCHEMA]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "note: no commit yet to compare with (HEAD does not exist: a first commit): "
        "breaking-change rules skipped, 1 schema file(s) linted"
    ]
    (root / SCHEMA).write_text(json.dumps([{"name": "bad name", "type": "STRING"}]))
    assert main([]) == 1  # lint still applies
    assert main([SCHEMA, "--against", "origin/main"]) == 1


def test_a_first_commit_takes_a_folder_and_refuses_a_missing_path_as_later_commits_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before the first commit a folder named no schema file ('0 schema file(s) linted',
    # exit 0 over an invalid schema) and a typo was linted as FILE_UNREADABLE (exit 1);
    # with a commit the folder stands for its schemas and the typo is bad usage (exit 2).
    root = _uncommitted_repo(tmp_path, monkeypatch, [{"name": "bad name", "type": "STRING"}])
    monkeypatch.chdir(root / "schemas")
    assert main(["nba_raw"]) == 1
    out = capsys.readouterr().out
    assert "1 schema file(s) linted" in out
    assert "nba_raw/games.json:1: FIELD_NAME_INVALID" in out
    assert main(["nba_raw/gamez.json"]) == 2
    assert "gamez.json: no such file in the working tree" in capsys.readouterr().err


def test_an_unknown_ref_in_a_repository_with_commits_is_still_bad_usage(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([SCHEMA, "--against", "no-such-branch"]) == 2
    assert "unknown git ref 'no-such-branch'" in capsys.readouterr().err


def test_a_breaking_change_names_its_doc_anchor_and_the_waiver_syntax(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(repo, FIELDS[:2])  # points removed
    assert main([SCHEMA]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "FIELD_NO_DELETE: explained at docs/schema-rules.md#FIELD_NO_DELETE (nbaops docs)" in out
    assert (
        "    - {rule: FIELD_NO_DELETE, table: nba_raw.games, column: points, "
        'reason: "why it is safe", expires: YYYY-MM-DD}'
    ) in out
    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema-rules.md").read_text()
    assert '<a id="FIELD_NO_DELETE"></a>' in doc  # the anchor exists


def test_injected_default_is_rejected_and_no_ddl_printed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 item 1: the DROP TABLE default fails the breaking hook; nothing is printed
    that could be pasted into a console."""
    inj = "NULL; DROP TABLE nba_ops.deploys; SELECT 1"
    change(repo, [*FIELDS, {"name": "x", "type": "STRING", "defaultValueExpression": inj}])
    assert main([SCHEMA]) == 1
    out = capsys.readouterr().out
    assert "DEFAULT_VALID" in out
    assert "DROP TABLE" not in out.replace(inj, "")
    assert "ADD COLUMN" not in out


def test_schemas_dir_is_checked_and_may_be_absolute_inside_the_repository(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in --schemas-dir silently turned off removed-table detection; an absolute
    path (as sql-schema-refs takes it) was a git failure (exit 3)."""
    (repo / "schemas" / "nba_raw" / "games.json").unlink()  # a removed table
    assert main([]) == 1 and "games" in capsys.readouterr().out
    assert main(["--schemas-dir", str(repo / "schemas")]) == 1  # absolute, inside: same
    assert "games" in capsys.readouterr().out
    assert main(["--schemas-dir", "schema"]) == 2
    assert "--schemas-dir: no folder 'schema'" in capsys.readouterr().err
    assert main(["--schemas-dir", "/elsewhere"]) == 2
    assert "is outside the repository" in capsys.readouterr().err
    assert main(["--schemas-dir", "../schemas"]) == 2
    assert "must be a folder inside the repository" in capsys.readouterr().err
