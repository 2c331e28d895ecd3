"""sql-schema-refs hook: main([...]) with capsys on this repository and on samples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hooks.sql_schema_refs import main

ROOT = Path(__file__).resolve().parents[2]


def test_this_repository_has_no_unknown_references(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code = main([])
    out = capsys.readouterr().out
    assert code == 0, out


def test_unknown_column_fails_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "queries.py"
    src.write_text(
        "LATEST_SQL = '''\n"
        "SELECT game_id, home_team, venue\n"
        "FROM `nba_raw.games`\n"
        "WHERE game_date = @d\n"
        "'''\n"
    )
    assert main([str(src), "--schemas-dir", str(ROOT / "schemas")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{src}:2: SQL_UNKNOWN_COLUMN unknown column venue (not in `nba_raw.games`)",
        "SQL_UNKNOWN_COLUMN: explained at docs/schema-rules.md#SQL_UNKNOWN_COLUMN (nbaops docs)",
        "  not waivable: fix the file (see the rule's 'How to fix')",
    ]


def test_missing_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["--bogus"]) == 2


def test_a_schemas_dir_that_is_a_file_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file read as a folder of no schemas: every table in every query was reported
    # unknown ('no schema file in schemas/'), exit 1, the typo never named.
    src = tmp_path / "q.py"
    src.write_text("def f(wh):\n    return wh.query('SELECT game_id FROM `nba_raw.games`')\n")
    assert main([str(src), "--schemas-dir", str(src)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"sql-schema-refs: error: {src}: not a folder"]


def test_subprocess_imports_no_google_client(tmp_path: Path) -> None:
    src = tmp_path / "q.py"
    src.write_text("def f(wh):\n    return wh.query('SELECT nope FROM `nba_raw.games`')\n")
    code = (
        "import sys\nfrom hooks.sql_schema_refs import main\n"
        f"rc = main([{str(src)!r}, '--schemas-dir', {str(ROOT / 'schemas')!r}])\n"
        "print(rc, [m for m in sys.modules if m.startswith('google')])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "1 []"


def test_a_service_repository_is_scanned_by_default_and_globs_are_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No args: every *.py below the repository (not `nbaops/`), tests and venvs skipped."""
    svc = tmp_path / "svc"
    (svc / "services" / "grading").mkdir(parents=True)
    (svc / "tests").mkdir()
    (svc / ".venv" / "lib").mkdir(parents=True)
    bad = "GRADE_SQL = 'SELECT game_id, venue FROM `nba_raw.games`'\n"
    (svc / "services" / "grading" / "queries.py").write_text(bad)
    (svc / "tests" / "test_q.py").write_text(bad)
    (svc / ".venv" / "lib" / "x.py").write_text(bad)
    monkeypatch.chdir(svc)
    assert main(["--schemas-dir", str(ROOT / "schemas")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "SQL_UNKNOWN_COLUMN unknown" in line] == [
        "services/grading/queries.py:1: SQL_UNKNOWN_COLUMN unknown column venue "
        "(not in `nba_raw.games`)"
    ]
    args = ["--schemas-dir", str(ROOT / "schemas"), "--glob", "tests/*.py", "--exclude", "x"]
    assert main(args) == 1
    assert capsys.readouterr().out.startswith("tests/test_q.py:1: SQL_UNKNOWN_COLUMN")
    assert main(["--schemas-dir", str(ROOT / "schemas"), "--glob", "docs/*.py"]) == 0


def test_a_schema_file_the_catalog_refuses_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook reads schemas/ with the same strict loader as the warehouse (table_catalog)."""
    (tmp_path / "nba_raw").mkdir()
    (tmp_path / "nba_raw" / "games.json").write_text('[{"name": "game_id"}]')
    src = tmp_path / "q.py"
    src.write_text("def f(wh):\n    return wh.query('SELECT game_id FROM `nba_raw.games`')\n")
    assert main([str(src), "--schemas-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sql-schema-refs: error: cannot use table schema")


def test_a_tables_yaml_that_is_not_utf8_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """read_text's UnicodeDecodeError escaped the catalog loader: a traceback, exit 1."""
    (tmp_path / "nba_raw").mkdir()
    (tmp_path / "nba_raw" / "games.json").write_text('[{"name": "game_id", "type": "STRING"}]')
    (tmp_path / "tables.yaml").write_bytes(b"nba_raw.games: {partition: \xff}\n")
    src = tmp_path / "q.py"
    src.write_text("def f(wh):\n    return wh.query('SELECT game_id FROM `nba_raw.games`')\n")
    assert main([str(src), "--schemas-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    catalog = tmp_path / "tables.yaml"
    assert err == [f"sql-schema-refs: error: {catalog}: cannot read: not UTF-8 text"]
