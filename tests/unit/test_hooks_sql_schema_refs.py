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
    assert out == [f"{src}:2: SQL_UNKNOWN_COLUMN unknown column venue (not in `nba_raw.games`)"]


def test_missing_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["--bogus"]) == 2


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
