"""``inv sandbox.sql`` off a terminal: tab-separated rows, redacted like every other output."""

from __future__ import annotations

import io

from rich.console import Console

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
