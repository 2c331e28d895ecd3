"""The end of `nox -s regression`: a run that skipped gates nothing and fails; the report
path is printed and the gate table reaches the GitHub job summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaops.regression import ci


def _pytest_junit(folder: Path, tests: int, skipped: int) -> None:
    skip = "<skipped message='x'/>"
    cases = "".join(
        f'<testcase classname="t" name="c{i}">{skip if i < skipped else ""}</testcase>'
        for i in range(tests)
    )
    (folder / ci.PYTEST_JUNIT).write_text(
        f'<testsuites><testsuite name="pytest" tests="{tests}" skipped="{skipped}" '
        f'failures="0" errors="0">{cases}</testsuite></testsuites>',
        encoding="utf-8",
    )


def _gates(folder: Path) -> None:
    (folder / ci.GATES_JUNIT).write_text(
        '<testsuites><testsuite name="nbaops.regression" tests="3">'
        '<testcase name="hit_rate_floor:v8"><system-out>PASS: v8: hit rate 51.5% | ok\n'
        "value: 0.51</system-out></testcase>"
        '<testcase name="leakage:candidate"><failure message="candidate: leak"/></testcase>'
        '<testcase name="mae"><skipped message="INCONCLUSIVE: too few"/></testcase>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    (folder / ci.HTML).write_text("<html></html>", encoding="utf-8")


def test_a_run_where_every_test_skipped_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pytest_junit(tmp_path, 8, 8)
    _gates(tmp_path)
    assert ci.main(["--reports", str(tmp_path)]) == 1
    assert "every test skipped (8 of 8): gated nothing" in capsys.readouterr().out


def test_any_skipped_test_fails_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pytest_junit(tmp_path, 5, 1)
    _gates(tmp_path)
    assert ci.main(["--reports", str(tmp_path)]) == 1
    assert "skipped: t::c0" in capsys.readouterr().out


def test_a_complete_run_prints_the_report_path_and_writes_the_step_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _pytest_junit(tmp_path, 5, 0)
    _gates(tmp_path)
    assert ci.main(["--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"HTML report: {(tmp_path / ci.HTML).resolve()}" in out
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier\n")
    assert "| `hit_rate_floor:v8` | **PASS** | v8: hit rate 51.5% \\| ok |" in text
    assert "| `leakage:candidate` | **FAIL** | candidate: leak |" in text
    assert "| `mae` | **INCONCLUSIVE** | too few |" in text
    assert (tmp_path / ci.SUMMARY).read_text(encoding="utf-8") in text


def test_missing_outputs_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ci.main(["--reports", str(tmp_path)]) == 1
    assert "the suite did not run" in capsys.readouterr().out
    _pytest_junit(tmp_path, 2, 0)
    assert ci.main(["--reports", str(tmp_path)]) == 1
    assert "no HTML report" in capsys.readouterr().out


def test_gates_mode_writes_the_table_of_one_inv_regression_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _gates(tmp_path)
    gates = tmp_path / ci.GATES_JUNIT
    assert ci.main(["--gates", str(gates), "--html", "report.html"]) == 0
    text = summary.read_text(encoding="utf-8")
    assert "HTML report: `report.html`" in text and "**FAIL**" in text
    assert capsys.readouterr().out == text
    assert ci.main(["--gates", str(tmp_path / "none.xml")]) == 1


def test_the_job_summary_masks_secret_fragments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everyone who can see the workflow run reads its job summary: a gate message quoting
    part of the Slack webhook is masked there, in the summary copy and on stdout."""
    hook = "https://hooks.example.com/services/T0AAA/B0BBB/" + "s3cr3tW3bh00kT0k3n"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _pytest_junit(tmp_path, 5, 0)
    _gates(tmp_path)
    gates = (tmp_path / ci.GATES_JUNIT).read_text(encoding="utf-8")
    gates = gates.replace("candidate: leak", "candidate: post to B0BBB/s3cr3tW3bh00k failed")
    (tmp_path / ci.GATES_JUNIT).write_text(gates, encoding="utf-8")
    assert ci.main(["--reports", str(tmp_path)]) == 0
    for text in (
        summary.read_text(encoding="utf-8"),
        (tmp_path / ci.SUMMARY).read_text(encoding="utf-8"),
    ):
        assert "| `leakage:candidate` | **FAIL** | candidate: post to " in text
        assert "s3cr3tW3bh00k" not in text and "B0BBB/s3cr3t" not in text
    assert ci.main(["--gates", str(tmp_path / ci.GATES_JUNIT)]) == 0
    assert "s3cr3tW3bh00k" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "name", "content"),
    [
        ("--gates", ci.GATES_JUNIT, '<testsuites><testsuite name="nbaops.regression"'),
        ("--reports", ci.PYTEST_JUNIT, "<testsuites><testsuite tests='12'>"),
        ("--reports", ci.PYTEST_JUNIT, "<testsuites><testsuite tests='many'/></testsuites>"),
    ],
)
def test_a_truncated_or_foreign_junit_file_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, name: str, content: str
) -> None:
    """A pytest killed mid-write leaves a truncated file: ElementTree's ParseError (or int()'s
    ValueError on a count) escaped as a traceback at the end of the nox session."""
    (tmp_path / name).write_text(content, encoding="utf-8")
    target = tmp_path / name if mode == "--gates" else tmp_path
    assert ci.main([mode, str(target)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"regression: {tmp_path / name}: ")


def test_a_pipe_in_a_gate_name_does_not_split_the_summary_row() -> None:
    """A model version is whatever the data holds: `v9|b` in a gate's name ended the table
    cell early on GitHub (an unescaped | ends a cell even inside a code span)."""
    text = ci.markdown([("hit_rate_floor:v9|b", "PASS", "ok")], None)
    row = text.splitlines()[-1]
    assert row == "| `hit_rate_floor:v9\\|b` | **PASS** | ok |"
    assert len(row.replace("\\|", "").split("|")) == 5  # four cell borders, three cells


def test_a_gate_message_is_text_in_the_summary_not_html_or_a_cell_border() -> None:
    """A gate's message quotes data (model versions, row values): `<details>` in it was
    read by GitHub as HTML and `a\\|b` gained a column (the escaped | after an unescaped
    backslash), as the health summary's cells once did."""
    text = ci.markdown([("hit_rate_floor:v9", "FAIL", "<details> a\\|b\nnext")], None)
    row = text.splitlines()[-1]
    assert row == "| `hit_rate_floor:v9` | **FAIL** | &lt;details&gt; a\\\\\\|b next |"


def test_printed_lines_are_masked_and_escape_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A skipped test's name and a gate's message come from a JUnit file: they were
    printed as they were, a CSI (``\\x9b``) or carriage return from the data reaching the
    terminal and a secret fragment in a name printed unmasked."""
    monkeypatch.setenv(
        "SLACK_WEBHOOK_URL", "https://hooks.example.com/services/T0/B0/s3cr3tT0k3nV4lue"
    )
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    _pytest_junit(tmp_path, 2, 1)
    junit = tmp_path / ci.PYTEST_JUNIT
    junit.write_text(
        junit.read_text(encoding="utf-8").replace(
            'name="c0"', 'name="c0[s3cr3tT0k3nV4lue&#13;\x9b2J]"'
        ),
        encoding="utf-8",
    )
    _gates(tmp_path)
    assert ci.main(["--reports", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "  skipped: t::c0[***\\x0d\\x9b2J]\n" in out
    assert "s3cr3t" not in out and "\r" not in out and "\x9b" not in out

    gates = tmp_path / ci.GATES_JUNIT
    gates.write_text(
        gates.read_text(encoding="utf-8").replace("candidate: leak", "candidate:\x9b2J leak"),
        encoding="utf-8",
    )
    assert ci.main(["--gates", str(gates)]) == 0
    out = capsys.readouterr().out
    assert "| candidate:\\x9b2J leak |" in out and "\x9b" not in out


def test_a_missing_mode_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m nbaops.regression.ci`` without --reports/--gates printed argparse's usage
    line before the error (README: bad input is one line)."""
    from nbaops.stdio import run_main

    assert run_main(lambda: ci.main([])) == 2
    assert capsys.readouterr().err == (
        "nbaops: error: one of the arguments --reports --gates is required\n"
    )


def test_a_summary_write_cut_short_leaves_the_previous_summary_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """summary.md was written in place: a full disk (or a kill) in the middle of the write
    left a truncated gate table where the previous one was. It is replaced atomically:
    the previous file stays whole until the new one is complete."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    _pytest_junit(tmp_path, 5, 0)
    _gates(tmp_path)
    previous = "| gate | verdict | message |\n| `earlier` | **PASS** | whole |\n"
    (tmp_path / ci.SUMMARY).write_text(previous, encoding="utf-8")
    real_write = Path.write_text

    def disk_full(self: Path, data: str, *args: object, **kwargs: object) -> int:
        if ci.SUMMARY in self.name:  # summary.md, or its temporary file beside it
            real_write(self, data[: len(data) // 2], encoding="utf-8")
            raise OSError(28, "No space left on device")
        return real_write(self, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        ci.main(["--reports", str(tmp_path)])
    monkeypatch.undo()
    assert (tmp_path / ci.SUMMARY).read_text(encoding="utf-8") == previous
    assert [p.name for p in tmp_path.iterdir() if ci.SUMMARY in p.name] == [ci.SUMMARY]
