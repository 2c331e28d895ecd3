"""The end of ``nox -s regression``: refuse a run that gated nothing, show where the report is.

``python -m nbaops.regression.ci --reports DIR`` reads the pytest JUnit XML and the gate
JUnit XML the suite wrote into ``DIR`` and

* fails (exit 1) when pytest ran no test, or skipped any: a gate whose tests skipped gates
  nothing (the reason CI used to be green without data);
* prints the HTML report's path;
* writes the gate table as Markdown to ``DIR/summary.md`` and appends it to
  ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions' job summary).

``python -m nbaops.regression.ci --gates JUNIT [--html PATH]`` only writes the gate table of
an ``inv regression --junit JUNIT`` run to ``$GITHUB_STEP_SUMMARY`` (and stdout): what the
reusable workflow does after gating a candidate.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nbaops.fsutil import write_text_atomic
from nbaops.redact import printable, redact
from nbaops.report import markdown_text, publish_step_summary
from nbaops.stdio import parse_args, run_main

PYTEST_JUNIT = "pytest-junit.xml"
GATES_JUNIT = "golden-junit.xml"
HTML = "golden.html"
SUMMARY = "summary.md"


@dataclass(frozen=True)
class PytestCounts:
    tests: int
    skipped: int
    failures: int
    errors: int
    skipped_names: tuple[str, ...]


class NotJunit(Exception):
    """A JUnit file that is not well-formed XML, or whose counts are not numbers."""


def _root(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise NotJunit(f"{path}: not a readable JUnit XML file ({exc})") from None


def _total(suites: Sequence[ET.Element], key: str, path: Path) -> int:
    try:
        return sum(int(s.get(key, 0)) for s in suites)
    except ValueError:
        raise NotJunit(f"{path}: a testsuite's {key!r} is not a number") from None


def pytest_counts(path: Path) -> PytestCounts:
    """Totals of a pytest JUnit XML file (every testsuite summed).

    Raises:
        NotJunit: the file is not well-formed XML or a count is not a number.
    """
    root = _root(path)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests, skipped, failures, errors = (
        _total(suites, key, path) for key in ("tests", "skipped", "failures", "errors")
    )
    names = tuple(
        f"{case.get('classname', '')}::{case.get('name', '')}"
        for case in root.iter("testcase")
        if case.find("skipped") is not None
    )
    return PytestCounts(tests, skipped, failures, errors, names)


def gate_rows(path: Path) -> list[tuple[str, str, str]]:
    """(gate, verdict, message) from the suite's gate JUnit XML (nbaops.regression.report).

    Raises:
        NotJunit: the file is not well-formed XML.
    """
    root = _root(path)
    rows: list[tuple[str, str, str]] = []
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if (node := case.find("failure")) is not None:
            verdict, message = "FAIL", node.get("message", "")
        elif (node := case.find("error")) is not None:
            verdict, message = "ERROR", node.get("message", "")
        elif (node := case.find("skipped")) is not None:
            verdict, message = (
                "INCONCLUSIVE",
                node.get("message", "").removeprefix("INCONCLUSIVE: "),
            )
        else:
            out = case.findtext("system-out", "")
            verdict, _, message = out.partition(": ")
            message = message.splitlines()[0] if message else ""
        rows.append((name, verdict, message))
    return rows


def markdown(rows: Sequence[tuple[str, str, str]], html: Path | None) -> str:
    lines = ["### Prediction-quality regression (golden set)", ""]
    if html is not None:
        lines += [f"HTML report: `{html}` (artifact `regression-report`)", ""]
    lines += ["| gate | verdict | message |", "|---|---|---|"]
    for name, verdict, message in rows:
        # GitHub ends a cell at any unescaped |, inside a code span too (a version's name
        # is whatever the data holds); the message is text as the health summary's is
        gate = name.replace("|", "\\|")
        text = markdown_text(message)
        lines.append(f"| `{gate}` | **{verdict}** | {text} |")
    return "\n".join(lines) + "\n"


def _say(text: str, end: str = "\n") -> None:
    """Print ``text`` with every secret fragment masked and the data's control characters
    escaped: a test name or gate message from a JUnit file is whatever the data held."""
    print(printable(redact(text)), end=end)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except NotJunit as exc:  # a truncated or foreign file: one line, not a traceback
        _say(f"regression: {exc}")
        return 1


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nbaops.regression.ci", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--reports", type=Path, help="folder the nox session's suite wrote")
    mode.add_argument("--gates", type=Path, help="JUnit XML of an inv regression run")
    parser.add_argument("--html", type=Path, help="with --gates: the HTML report's path")
    args = parse_args(parser, argv)
    if args.gates is not None:
        if not args.gates.is_file():
            _say(f"regression: no gate JUnit XML at {args.gates}")
            return 1
        text = markdown(gate_rows(args.gates), args.html)
        publish_step_summary(text)  # (masked there)
        _say(text, end="")
        return 0
    reports: Path = args.reports
    junit = reports / PYTEST_JUNIT
    if not junit.is_file():
        _say(f"regression: no pytest JUnit XML at {junit}: the suite did not run")
        return 1
    counts = pytest_counts(junit)
    code = 0
    if counts.tests == 0 or counts.skipped == counts.tests:
        _say(f"regression: every test skipped ({counts.skipped} of {counts.tests}): gated nothing")
        code = 1
    elif counts.skipped:
        _say(f"regression: {counts.skipped} test(s) skipped; the gate must run them all:")
        for name in counts.skipped_names:
            _say(f"  skipped: {name}")
        code = 1
    html = reports / HTML
    html_path = html.resolve() if html.is_file() else None
    gates = reports / GATES_JUNIT
    if gates.is_file():
        # the gate table to the job summary (masked there) and to summary.md, masked the same
        text = markdown(gate_rows(gates), html_path)
        # replaced whole: a full disk or a kill mid-write never leaves half a table
        write_text_atomic(reports / SUMMARY, redact(text), mode=0o644)
        publish_step_summary(text)
    if html_path is not None:
        _say(f"HTML report: {html_path}")
    else:
        _say(f"regression: no HTML report at {html}")
        code = 1
    _say(
        f"regression: {counts.tests} tests, {counts.skipped} skipped, "
        f"{counts.failures} failed, {counts.errors} errors"
    )
    return code


if __name__ == "__main__":
    sys.exit(run_main(main))
