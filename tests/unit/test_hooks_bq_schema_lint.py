"""bq-schema-lint hook: main([...]) with capsys, exit codes, and no Google import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hooks.bq_schema_lint import main

ROOT = Path(__file__).resolve().parents[2]


def test_clean_files_exit_0_and_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted((ROOT / "schemas").glob("*/*.json"))]
    assert main(files) == 0
    assert capsys.readouterr().out == ""


def test_errors_exit_1_and_print_path_line_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"name": "a", "type": "STRNG"}\n]\n')
    good = tmp_path / "good.json"
    good.write_text('[{"name": "a", "type": "STRING"}]')
    assert main([str(bad), str(good)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{bad}:2: TYPE_UNKNOWN a: unknown type 'STRNG'; did you mean \"STRING\"?",
        "TYPE_UNKNOWN: explained at docs/schema-rules.md#TYPE_UNKNOWN (nbaops docs)",
        "  not waivable: fix the file (see the rule's 'How to fix')",
    ]


def test_one_bad_file_does_not_hide_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(b"\xff\xfe garbage")
    b.write_text("[{]")
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert f"{a}:1: FILE_ENCODING" in out and f"{b}:1: JSON_SYNTAX" in out


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert main([str(empty)]) == 0
    assert "SCHEMA_EMPTY warning: schema has no columns" in capsys.readouterr().out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "1x", "type": "STRING"}]')
    assert main(["--json", str(bad)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in doc["findings"]] == ["FIELD_NAME_INVALID"]


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_no_files_is_clean() -> None:
    assert main([]) == 0


def test_runs_without_importing_google_or_sqlglot(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "a", "type": "NOPE"}]')
    code = (
        "import sys\nfrom hooks.bq_schema_lint import main\n"
        f"rc = main([{str(bad)!r}])\n"
        "heavy = [m for m in sys.modules if m.startswith(('google', 'sqlglot', 'duckdb'))]\n"
        "print(rc, heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "1 []"


def test_injected_default_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 item 1: a default carrying a second statement fails the lint hook."""
    bad = tmp_path / "deploys.json"
    injected = "NULL; DROP TABLE nba_ops.deploys; SELECT 1"
    bad.write_text(
        json.dumps([{"name": "a", "type": "STRING", "defaultValueExpression": injected}])
    )
    assert main([str(bad)]) == 1
    assert "DEFAULT_INVALID" in capsys.readouterr().out


def test_ctrl_c_is_one_line_and_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like every task: no KeyboardInterrupt traceback from a hook."""

    def interrupted(paths: object) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr("nbaops.bqschema.lint.lint_paths", interrupted)
    (tmp_path / "t.json").write_text("[]", encoding="utf-8")
    assert main([str(tmp_path / "t.json")]) == 130
    assert capsys.readouterr().err == "bq-schema-lint: interrupted\n"


def test_a_usage_error_with_json_prints_the_error_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """README: with --json, bad input is one document {"error": ..., "exit_code": 2} on
    stdout. The hook printed argparse's usage on stderr and nothing on stdout."""
    assert main(["--json", "--bogus"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "unrecognized arguments: --bogus", "exit_code": 2}
    assert err.strip() == "bq-schema-lint: error: unrecognized arguments: --bogus"
    # without --json: the one error line (argparse printed its usage line before it),
    # nothing on stdout
    assert main(["--bogus"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "bq-schema-lint: error: unrecognized arguments: --bogus\n"
    # --help beside --json is help (exit 0), not an error document
    assert main(["--json", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: bq-schema-lint")


def test_a_file_name_or_flag_with_control_characters_is_printed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file name (git allows an escape character in one) reached the terminal as it was,
    on stdout in a finding and on stderr in a usage error; the runner escapes both."""
    missing = tmp_path / "no\x1b]0;pwned\x07such.json"
    assert main([str(missing)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path}/no\\x1b]0;pwned\\x07such.json:1: FILE_UNREADABLE" in out
    assert "\x1b" not in out and "\x07" not in out
    assert main(["--json", "--bogus\x1b[2J"]) == 2
    err = capsys.readouterr().err
    assert "--bogus\\x1b[2J" in err and "\x1b" not in err


def test_an_unexpected_exception_in_a_check_is_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug or library error in a hook's check printed a traceback and exited 1, which the
    contract reserves for an error finding: it is one ``internal error`` line naming its
    type, exit 3 (undetermined), as every task ends."""
    from hooks import run
    from hooks.bq_schema_lint import PARSER

    def check(args: object) -> tuple[list[str], list[object]]:
        raise KeyError("fields")

    code = run(PARSER, [str(ROOT / "schemas")], check)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert code == 3
    assert err.splitlines() == [f"{PARSER.prog}: error: internal error: KeyError: 'fields'"]


def test_ctrl_c_while_the_findings_print_is_one_line_and_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The findings (and each rule's help) were printed after the hook's error handling:
    Ctrl-C while a long list printed escaped as a KeyboardInterrupt traceback, not the
    one ``interrupted`` line and 130 that a task gives when Ctrl-C arrives as its report
    prints (nbaops.cli.runner.run prints inside its handling for that reason)."""

    def interrupted(text: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("nbaops.cli.runner.write_stdout", interrupted)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "a", "type": "STRNG"}]', encoding="utf-8")
    assert main([str(bad)]) == 130
    assert capsys.readouterr().err == "bq-schema-lint: interrupted\n"


def test_ctrl_c_once_the_json_document_is_out_prints_no_second_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--json`` the findings are the one document: Ctrl-C as it was written (or
    just after) is 130 and the ``interrupted`` line, not a second, "interrupted" document
    after it (as the task runner: nbaops.cli.runner._interrupted)."""
    import nbaops.cli.runner

    written = nbaops.cli.runner.write_stdout
    calls: list[str] = []

    def out_then_interrupted(text: str) -> None:
        written(text)
        calls.append(text)
        if len(calls) == 1:  # Ctrl-C as the document is written, once
            raise KeyboardInterrupt

    monkeypatch.setattr("nbaops.cli.runner.write_stdout", out_then_interrupted)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "a", "type": "STRNG"}]', encoding="utf-8")
    assert main(["--json", str(bad)]) == 130
    out, err = capsys.readouterr()
    assert [list(json.loads(line)) for line in out.splitlines()] == [["findings"]]
    assert err == "bq-schema-lint: interrupted\n"
