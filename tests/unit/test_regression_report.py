"""The HTML report: segment rows in bucket order, the McNemar variant named, p-values never
rounded to 1, no calibration caption without calibration; the plain terminal lines."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest
from test_regression_gates import SETTINGS, _pair, _row, _run

from nbaops.regression.report import render_html
from nbaops.regression.settings import RegressionSettings
from nbaops.report import format_p


def test_segment_rows_follow_bucket_order_not_text_order() -> None:
    rows = [
        _row(i, "v8", hit=i % 2 == 0, line=[8.5, 12.5, 17.5, 22.5, 30.5][i % 5]) for i in range(200)
    ]
    rows += [
        _row(i, "v9", hit=i % 3 == 0, line=[8.5, 12.5, 17.5, 22.5, 30.5][i % 5]) for i in range(200)
    ]
    page = render_html(_run(rows))
    section = page.split("Line bucket (points)")[1].split("</table>")[0]
    buckets = [html.unescape(b) for b in re.findall(r"<td>v8 ([^<]+)</td>", section)]
    assert buckets == ["<10", "10-15", "15-20", "20-25", ">=25"]  # text order puts 10-15 first


@pytest.mark.parametrize(("variant", "says"), [("exact", "exact binomial"), ("midp", "mid-p")])
def test_footer_names_the_mcnemar_variant_the_gate_used(variant: str, says: str) -> None:
    page = render_html(_run(_pair(150, 0.6, 0.55), replace(SETTINGS, mcnemar=variant)))
    footer = page.rsplit("<p class='muted'>", 1)[1]
    assert says in footer and f"regression.mcnemar: {variant}" in footer


def test_p_values_are_not_rounded_to_one() -> None:
    assert format_p(0.99951) == "0.9995"
    assert format_p(0.999991) == "> 0.9999"
    assert format_p(1.0) == "1"
    assert format_p(0.0123456) == "0.0123"
    # A challenger far better than the champion: p(worse) is just below 1.
    page = render_html(_run(_pair(300, 0.45, 0.65)))
    cells = re.findall(r"<td class=n>([^<]+)</td>", page.split("Champion vs challenger")[1])
    assert "1" not in cells[6:8] and any(c.startswith(("> 0.9999", "0.99")) for c in cells[6:8])


def test_the_comparison_table_keeps_p_on_its_side_of_alpha() -> None:
    """p(worse) = 0.0518195 passed a configured alpha of 0.05181, as the gate's message
    said, while the HTML comparison table showed it in three significant digits, 0.0518:
    under alpha, significant."""
    page = render_html(_run(_pair(400, 0.56, 0.5), replace(SETTINGS, alpha=0.05181)))
    cells = re.findall(r"<td class=n>([^<]+)</td>", page.split("Champion vs challenger")[1])
    assert cells[6] == "0.052", cells[6:8]  # exact: 0.0518195, above alpha
    assert cells[7] == "0.0451"  # mid-p: far from alpha


def test_no_calibration_caption_when_calibration_is_not_measured() -> None:
    rows = _pair(150, 0.6, 0.55)
    for r in rows:
        r["confidence"] = None
    page = render_html(_run(rows))
    assert "calibration not measured" in page
    assert "points on the diagonal are honest confidence" not in page
    measured = render_html(_run(_pair(150, 0.6, 0.55)))
    assert "points on the diagonal are honest confidence" in measured


def test_plain_output_is_one_line_per_version_without_rich() -> None:
    """Logs and pipes get one unwrapped line per version and no table: the plain console
    never builds its Rich console (Rich's import is ~50 ms of every plain run)."""
    from nbaops.cli.plain import PlainConsole

    report = _run(_pair(150, 0.6, 0.55))
    console = PlainConsole()
    with console.capture() as captured:
        report.render(console)  # type: ignore[arg-type]  # the runner's plain console
    text = captured.get()
    lines = text.splitlines()
    assert console._rich is None
    assert lines[0].startswith("Prediction-quality regression: crafted, 300 predictions")
    v8 = next(line for line in lines if line.startswith("v8 (champion): "))
    assert "predictions 150, bets 150, pushes 0, hit rate 60.0%" in v8
    assert any(line.startswith("v9 (challenger): predictions 150") for line in lines)
    assert not any(ch in text for ch in "┏│━")


def test_the_p_value_column_names_the_configured_break_even() -> None:
    """The terminal's column read "p vs 52.38%" whatever regression.break_even said, and
    the HTML "Break-even at -110": at a configured 50% the p-values were tests against
    50%, headed as if against 52.38%."""
    from nbaops.cli.plain import PlainConsole

    def header(settings: RegressionSettings) -> str:
        console = PlainConsole()
        with console.capture() as captured:
            _run(_pair(150, 0.6, 0.55), settings).render(console)  # type: ignore[arg-type]
        return next(line for line in captured.get().splitlines() if line.startswith("v8 "))

    assert ", p vs 50.00% " in header(replace(SETTINGS, break_even=0.5))
    assert ", p vs 52.38% " in header(SETTINGS)
    # the HTML said "Break-even at -110: 50.00%": -110 odds break even at 52.38% only
    assert "Break-even: 50.00%." in render_html(
        _run(_pair(150, 0.6, 0.55), replace(SETTINGS, break_even=0.5))
    )
    assert "Break-even at -110: 52.38%." in render_html(_run(_pair(150, 0.6, 0.55)))


def test_gate_values_are_what_their_thresholds_compare_with_the_unit_shown() -> None:
    """The floor's value was the hit rate and McNemar's the hit-rate gap, next to thresholds
    on the lower bound and on p: a 51% FAIL under "lower bound > 50%" read as a bug."""
    from nbaops.regression.report import render_junit

    report = _run(_pair(500, 0.51, 0.51), replace(SETTINGS, hit_rate_floor=0.5))
    gates = page_gates(render_html(report))
    floor = gates["hit_rate_floor:v8"]
    assert floor.endswith("(95% lower bound)") and float(floor.split()[0]) < 0.5
    assert gates["challenger_vs_champion:v9&gt;v8"].endswith(" p-value")
    assert "value: 0.4" in render_junit(report) and "(95% lower bound)" in render_junit(report)


def page_gates(page: str) -> dict[str, str]:
    table = page.split("<h2>Gates</h2>")[1].split("</table>")[0]
    return dict(
        re.findall(r"<tr><td>([^<]+)</td><td class='\w+'>\w+</td><td class=n>([^<]+)</td>", table)
    )


def test_report_files_mask_every_secret_fragment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML report and JUnit XML are uploaded as CI artifacts: a gate message that
    quotes part of a token (an error echoed from a failing call) is masked in both, as on
    the terminal."""
    from nbaops.regression.run import write_outputs

    token = "ghp_" + "Q7xk2LmP9vR4tZ8wN3yB6cD1"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    report = _run(_pair(150, 0.6, 0.55))
    leaked = f"upload failed: 401 for token {token[3:17]}"
    report.checks[0] = replace(report.checks[0], message=leaked)
    write_outputs(report, html=tmp_path / "r.html", junit=tmp_path / "r.xml")
    for written in (tmp_path / "r.html", tmp_path / "r.xml"):
        text = written.read_text(encoding="utf-8")
        assert "upload failed: 401 for token" in text
        assert token[3:17] not in text and token[5:13] not in text


def test_format_p_at_exactly_0_9999_shows_the_value() -> None:
    assert format_p(0.9999) == "0.9999"


def test_junit_stays_well_formed_when_a_version_holds_a_control_character() -> None:
    """A model version is whatever the data holds: a vertical tab in it was written into
    the JUnit XML as is, a character XML 1.0 forbids, and every JUnit reader (CI's test
    report, ``nbaops.regression.ci``) refused the whole file."""
    import xml.etree.ElementTree as ET

    from nbaops.regression.report import junit_text

    odd = "v9\x0b\x01"
    rows = [_row(i, "v8", hit=i % 2 == 0) for i in range(150)]
    rows += [_row(i, odd, hit=i % 3 == 0) for i in range(150)]
    root = ET.fromstring(junit_text(_run(rows, replace(SETTINGS, challenger=odd))))
    names = [case.get("name", "") for case in root.iter("testcase")]
    assert "hit_rate_floor:v9\\x0b\\x01" in names
    assert all("\x0b" not in (e.text or "") + "".join(e.attrib.values()) for e in root.iter())


def test_the_golden_build_report_prints_paths_and_problems_as_they_are() -> None:
    """On a terminal the golden set's report went through Rich markup: a checkout under
    '/src/[work]/' printed '/src//golden/...' (the bracket read as a style), and a closing
    tag such as '[/x]' in a path or a manifest value crashed the task with a traceback."""
    import io

    from rich.console import Console

    from nbaops.regression.golden import BuildResult

    manifest = {"rows": 3, "first_date": "2024-10-22", "last_date": "2024-12-15"}
    result = BuildResult(
        path=Path("/src/[work]/golden/nba-points-v1.parquet"),
        manifest={**manifest, "content_sha256": "ab" * 32},
        changed=True,
        written=False,
        problems=('manifest attribution: committed "[/x] edited", rebuilt "..."',),
    )
    console = Console(file=io.StringIO(), force_terminal=True, width=200, record=True)
    result.render(console)
    text = console.export_text()
    assert "/src/[work]/golden/nba-points-v1.parquet" in text, text
    assert '  manifest attribution: committed "[/x] edited"' in text, text


def test_a_wide_terminal_shows_a_version_name_with_brackets_as_it_is() -> None:
    """The per-version table's cells went through Rich markup: a model version named
    'v9[/x]' (a version is whatever the data holds) crashed the report on a wide terminal."""
    import io

    from rich.console import Console

    rows = [
        {**r, "system_id": "v9[/x]"} if r["system_id"] == "v9" else r for r in _pair(150, 0.6, 0.55)
    ]
    report = _run(rows, replace(SETTINGS, challenger="v9[/x]"))
    stream = io.StringIO()
    report.render(Console(file=stream, width=250, force_terminal=True, color_system=None))
    assert "v9[/x] (challenger)" in stream.getvalue()


def test_the_version_tables_keep_the_interval_off_the_floor() -> None:
    """The per-version interval ignored the floor it is gated by: a lower bound near
    a floor configured at three decimals read as the floor (53.084% as '53.1%' beside a
    53.1% floor, which it does not clear), in the terminal line and in the HTML table alike."""
    from nbaops.cli.plain import PlainConsole

    g = _run(_pair(200, 0.6, 0.55)).metrics.overall("v8")
    assert g is not None
    floor = round(g.hit_low, 3)  # the lower bound as one decimal of a percent shows it
    assert floor != g.hit_low
    report = _run(_pair(200, 0.6, 0.55), replace(SETTINGS, hit_rate_floor=floor))
    console = PlainConsole()
    with console.capture() as captured:
        report.render(console)  # type: ignore[arg-type]  # the runner's plain console
    line = next(x for x in captured.get().splitlines() if x.startswith("v8 (champion): "))
    low = float(re.search(r"interval (\d+\.\d+)%-", line).group(1))  # type: ignore[union-attr]
    assert (low > 100 * floor) == (g.hit_low > floor) and low != 100 * floor, line
    cells = re.findall(r"<td class=n>(\d+\.\d+)%-", render_html(report))
    assert cells and float(cells[0]) == low, cells
