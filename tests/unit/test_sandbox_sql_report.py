"""``inv sandbox.sql`` off a terminal: tab-separated rows, redacted like every other output."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from rich.console import Console

from nbaops.cli.runner import emit_json
from nbaops.redact import Secret
from nbaops.sandbox.sql import SqlReport


def test_plain_rows_keep_their_tabs_and_are_redacted() -> None:
    token = "Zq8Wx7Vc6Bn5Mk4Lj3Hg"
    Secret(f"https://hooks.example.net/services/T0/B0/{token}")  # a secret this process knows
    report = SqlReport(
        sql="SELECT ...",
        columns=["name", "note"],
        rows=[{"name": "a", "note": f"row {token} end"}, {"name": "b", "note": "plain"}],
        duration_s=0.01,
    )
    out = io.StringIO()
    report.render(Console(file=out, width=200, force_terminal=False))
    lines = out.getvalue().splitlines()
    assert lines[0] == "name\tnote"  # written as is: printing would expand the tabs
    assert token not in out.getvalue() and lines[1] == "a\trow *** end", lines
    assert lines[2] == "b\tplain" and lines[3].startswith("2 row(s)")


def test_a_tab_or_line_break_in_a_value_keeps_one_row_a_line_off_a_terminal() -> None:
    """A value holding a tab or a line break (a log message, a note pasted with its
    newline) came out as is in the tab-separated rows: one row became two lines and its
    cells slid into the wrong columns (README: off a terminal, one record per line). They
    are written escaped, as ``printable`` writes every other control character."""
    report = SqlReport(
        sql="SELECT ...",
        columns=["x", "y\tz", "n"],
        rows=[{"x": "a\tb", "y\tz": "c\nd\r", "n": 1}],
        duration_s=0.01,
    )
    out = io.StringIO()
    report.render(Console(file=out, width=200, force_terminal=False))
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["x\ty\\tz\tn", "a\\tb\tc\\nd\\x0d\t1"], lines
    assert lines[2].startswith("1 row(s)")


def test_values_are_written_as_bigquery_writes_them_and_json_stays_strict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--json printed arrays, structs and JSON as Python reprs ("{'x': 1}"), BYTES as
    "b'ab'" and a NaN as a bare NaN that jq refuses; NUMERIC showed DuckDB's scale."""
    row = {
        "n": Decimal("1.250000000"),
        "h": Decimal("100.000000000"),
        "d": dt.date(2026, 1, 1),
        "a": [1, 2],
        "s": {"x": 1, "arr": [{"z": "y"}]},
        "by": b"ab",
        "f": float("nan"),
        "g": float("-inf"),
    }
    report = SqlReport(sql="SELECT ...", columns=list(row), rows=[row], duration_s=0.01)
    emit_json(report.to_json())
    text = capsys.readouterr().out
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert doc["rows"] == [
        {
            "n": "1.25",
            "h": "100",
            "d": "2026-01-01",
            "a": [1, 2],
            "s": {"x": 1, "arr": [{"z": "y"}]},
            "by": "YWI=",
            "f": "NaN",
            "g": "-Infinity",
        }
    ]
    out = io.StringIO()
    report.render(Console(file=out, width=200, force_terminal=False))
    assert out.getvalue().splitlines()[1].split("\t")[:2] == ["1.25", "100"]
    assert out.getvalue().splitlines()[1].split("\t")[-2:] == ["NaN", "-Infinity"]


def test_a_parameter_given_twice_or_outside_int64_is_bad_input() -> None:
    """--param x=1 --param x=2 ran with x=2 silently; a 23-digit integer reached DuckDB as
    a HUGEINT where BigQuery has no such INT64."""
    from nbaops.errors import UsageError
    from nbaops.sandbox.sql import parse_params

    assert parse_params(["d=2026-01-14", "n=3", "t=text"]) == {
        "d": dt.date(2026, 1, 14),
        "n": 3,
        "t": "text",
    }
    with pytest.raises(UsageError, match="--param x: given twice"):
        parse_params(["x=1", "x=2"])
    with pytest.raises(UsageError, match="outside INT64"):
        parse_params(["x=" + "9" * 23])
    assert parse_params([f"x={2**63 - 1}"]) == {"x": 2**63 - 1}


def test_words_python_reads_as_numbers_stay_text() -> None:
    """--param name=Nan or =inf became a FLOAT64 NaN/infinity (Python's float reads the
    words), 1_000 and Arabic-Indic digits an INT64; a number too large for FLOAT64 became
    infinity."""
    from nbaops.errors import UsageError
    from nbaops.sandbox.sql import parse_params

    words = ["a=nan", "b=Infinity", "c=-inf", "d=1_000", "e=\u0663"]
    assert parse_params(words) == {
        "a": "nan",
        "b": "Infinity",
        "c": "-inf",
        "d": "1_000",
        "e": "\u0663",
    }
    assert parse_params(["f=1.5", "g=-2e3", "h=.5", "i= 7"]) == {
        "f": 1.5,
        "g": -2000.0,
        "h": 0.5,
        "i": 7,
    }
    for bad in ["x=1e400", "x=[NaN]"]:
        with pytest.raises(UsageError, match="not a finite FLOAT64"):
            parse_params([bad])


def test_an_array_parameter_is_given_as_json() -> None:
    """A runbook query with an ARRAY<STRING> parameter (batch-errors' @real_sources) could
    not be run as written: every value was a scalar."""
    from nbaops.errors import UsageError
    from nbaops.sandbox.sql import parse_params

    assert parse_params(['s=["REAL", "VEGAS"]', "n=[1, 2]", 'd=["2026-01-14"]']) == {
        "s": ["REAL", "VEGAS"],
        "n": [1, 2],
        "d": [dt.date(2026, 1, 14)],
    }
    for bad, message in [
        ('s=["REAL", 1]', "an array holds one type, got int, str"),
        ("s=[1,", "not a JSON array"),
        ('s=[["x"]]', "an array holds strings or numbers"),
        ("s=[true]", "an array holds strings or numbers"),
        (f"s=[{2**63}]", "outside INT64"),
    ]:
        with pytest.raises(UsageError, match=message.replace("[", "\\[")):
            parse_params([bad])


def test_the_json_document_gives_an_array_parameter_as_a_list_of_its_values() -> None:
    """``--param 'd=["2026-01-14"]' --json`` wrote "params": {"d": "[datetime.date(2026, 1,
    14)]"}, Python's repr in a JSON document; a list of the values as scalars are written
    (BigQuery's queryParameters give an ARRAY's values as a list, arrayValues)."""
    from nbaops.sandbox.sql import parse_params

    params = parse_params(['d=["2026-01-14", "2026-01-15"]', 's=["REAL"]', "n=3"])
    doc = SqlReport("SELECT 1", [], [], 0.0, params).to_json()
    assert doc["params"] == {"d": ["2026-01-14", "2026-01-15"], "s": ["REAL"], "n": "3"}


def test_a_wide_terminal_shows_brackets_in_column_names_and_values_as_they_are() -> None:
    """The table's header and cells were Rich markup: a value "[projects/nba-prod]" (or a
    column named so) vanished on a terminal, and one holding "[/x]" crashed the task with
    a MarkupError traceback."""
    report = SqlReport(
        sql="SELECT ...",
        columns=["[b]name", "note"],
        rows=[{"[b]name": "v9[/x]", "note": "denied on [projects/nba-prod]"}],
        duration_s=0.01,
    )
    out = io.StringIO()
    report.render(Console(file=out, width=200, force_terminal=True, color_system=None))
    text = out.getvalue()
    assert "[b]name" in text and "v9[/x]" in text and "denied on [projects/nba-prod]" in text
