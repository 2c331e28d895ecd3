"""Outputs of the regression suite: terminal table, HTML with inline SVG plots, JUnit XML.

The HTML is one self-contained file (no scripts, no external assets): hit rate by week with
its interval band, a calibration curve, the signed-error distribution and the per-segment
table, per model version.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.redact import redact
from nbaops.regression.metrics import GroupMetrics, Metrics, segment_order
from nbaops.regression.stats import BREAK_EVEN_MINUS_110, format_num
from nbaops.report import format_p, format_pct, value_text
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from rich.console import Console

    from nbaops.regression import sources
    from nbaops.regression.golden import GoldenSummary
    from nbaops.regression.settings import RegressionSettings

# Reports are read by others (CI artifacts, a browser): world-readable, as before.
REPORT_MODE = 0o644
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
SEGMENT_TITLES = {
    "line": "Line bucket (points)",
    "venue": "Home / away",
    "minutes": "Minutes played",
    "side": "Recommendation side",
    "edge": "Edge |predicted - line| (points)",
    "confidence": "Stated confidence",
}


@dataclass
class RegressionReport:
    """Metrics, gate verdicts and where the HTML/JUnit outputs were written."""

    title: str
    source: sources.Loaded
    settings: RegressionSettings
    metrics: Metrics
    checks: list[CheckResult]
    html_path: Path | None = None
    junit_path: Path | None = None
    golden: GoldenSummary | None = None

    @property
    def verdict(self) -> Verdict:
        return worst(c.verdict for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        overall = [g.to_json() for g in self.metrics.groups if g.segment == "all"]
        data: dict[str, Any] = {
            "verdict": self.verdict.value,
            "title": self.title,
            "source": {
                "label": self.source.label,
                "rows": self.source.rows,
                "since": self.source.since,
                "until": self.source.until,
                "bytes_processed": self.source.bytes_processed,
            },
            "champion": self.settings.champion,
            "challenger": self.settings.challenger,
            "checks": [c.to_json() for c in self.checks],
            "versions": overall,
            "comparisons": [c.to_json() for c in self.metrics.comparisons],
            "html": str(self.html_path) if self.html_path else None,
            "junit": str(self.junit_path) if self.junit_path else None,
        }
        if self.golden is not None:
            data["golden"] = self.golden.to_json()
        return data

    def render(self, console: Console) -> None:
        """A table per model version on a wide terminal; elsewhere (logs, pipes) one plain
        line per version, written by :func:`nbaops.report.emit` without importing Rich."""
        from nbaops.report import CheckReport, emit, is_table_console

        m = self.metrics
        interval = f"{int(round(100 * m.confidence_level))}% interval"
        columns = ["version", "predictions", "bets", "pushes", "hit rate", interval]
        columns += [f"p vs {format_pct(m.break_even, digits=2)}", "MAE", "bias", "PASS share"]
        rows = _version_rows(self)
        emit(console, (self.title, "bold"), f": {self.source.label}, {m.rows} predictions")
        if is_table_console(console):
            from rich.table import Table
            from rich.text import Text

            table = Table(title="Per model version", title_justify="left")
            for column in columns:
                table.add_column(column, justify="right" if column != "version" else "left")
            for row in rows:
                table.add_row(*map(Text, row))  # not markup: a version is whatever the data holds
            console.print(table)
        else:
            for row in rows:
                pairs = ", ".join(f"{c} {v}" for c, v in zip(columns[1:], row[1:], strict=True))
                emit(console, f"{row[0]}: {pairs}")
        CheckReport(title="Gates", checks=self.checks).render(console)
        if self.html_path:
            emit(console, f"HTML report: {self.html_path}")
        if self.junit_path:
            emit(console, f"JUnit XML: {self.junit_path}")


# --------------------------------------------------------------------------- terminal


def _metric_cells(g: GroupMetrics, settings: RegressionSettings) -> list[str]:
    """A group's figures as the terminal table and the HTML table both show them; the hit
    rate and its interval's lower bound keep the decimals that keep them off the ceiling
    and the floor they are gated by (a lower bound of 45.504% read 45.5% beside a 45.5%
    floor)."""
    return [
        str(g.predictions),
        str(g.bets),
        str(g.pushes),
        format_pct(g.hit_rate, settings.hit_rate_ceiling),
        f"{format_pct(g.hit_low, settings.hit_rate_floor)}-{format_pct(g.hit_high)}",
        format_p(g.p_vs_break_even),
        format_num(g.mae),
        format_num(g.bias),
        format_pct(g.pass_share),
    ]


def _version_rows(report: RegressionReport) -> list[tuple[str, ...]]:
    """Per model version: the cells of :meth:`RegressionReport.render`'s table, formatted."""
    m = report.metrics
    roles = {report.settings.champion: " (champion)", report.settings.challenger: " (challenger)"}
    rows: list[tuple[str, ...]] = []
    for system in m.systems:
        g = m.overall(system)
        if g is None:
            continue
        rows.append((system + roles.get(system, ""), *_metric_cells(g, report.settings)))
    return rows


# --------------------------------------------------------------------------- SVG


class _Plot:
    """A tiny SVG canvas (640 x 300) with linear axes over non-empty ranges."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.w, self.h = 640, 300
        self.mt, self.mr, self.mb, self.ml = 28, 20, 50, 60  # margins: top, right, bottom, left
        self.parts: list[str] = []

    def x(self, value: float) -> float:
        span = self.w - self.ml - self.mr
        return self.ml + (value - self.x0) / (self.x1 - self.x0) * span

    def y(self, value: float) -> float:
        span = self.h - self.mt - self.mb
        clamped = min(max(value, self.y0), self.y1)
        return self.h - self.mb - (clamped - self.y0) / (self.y1 - self.y0) * span

    def add(self, element: str) -> None:
        self.parts.append(element)

    def axes(
        self,
        y_ticks: Sequence[float],
        y_label: str,
        x_label: str,
        x_ticks: Sequence[tuple[float, str]] = (),
    ) -> None:
        left, right = self.ml, self.w - self.mr
        bottom = self.h - self.mb
        self.add(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>')
        self.add(f'<line x1="{left}" y1="{self.mt}" x2="{left}" y2="{bottom}" stroke="#444"/>')
        for t in y_ticks:
            yy = self.y(t)
            self.add(
                f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#eee"/>'
                f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11">'
                f"{100 * t:.0f}%</text>"
            )
        for value, label in x_ticks:
            xx = self.x(value)
            self.add(
                f'<line x1="{xx:.1f}" y1="{bottom}" x2="{xx:.1f}" y2="{bottom + 4}" stroke="#444"/>'
                f'<text x="{xx:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="10">'
                f"{html.escape(label)}</text>"
            )
        self.add(
            f'<text x="{(left + right) / 2:.0f}" y="{self.h - 8}" text-anchor="middle" '
            f'font-size="12">{html.escape(x_label)}</text>'
        )
        self.add(
            f'<text x="14" y="{(self.mt + bottom) / 2:.0f}" text-anchor="middle" font-size="12" '
            f'transform="rotate(-90 14 {(self.mt + bottom) / 2:.0f})">{html.escape(y_label)}</text>'
        )

    def hline(self, value: float, color: str, label: str, dash: str = "4 3") -> None:
        yy = self.y(value)
        self.add(
            f'<line x1="{self.ml}" y1="{yy:.1f}" x2="{self.w - self.mr}" y2="{yy:.1f}" '
            f'stroke="{color}" stroke-dasharray="{dash}"/>'
            f'<text x="{self.w - self.mr - 4}" y="{yy - 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="{color}">{html.escape(label)}</text>'
        )

    def legend(self, items: Sequence[tuple[str, str]]) -> None:
        for i, (label, color) in enumerate(items):
            xx = self.ml + 10 + 150 * i
            self.add(
                f'<rect x="{xx}" y="{self.mt - 14}" width="10" height="10" fill="{color}"/>'
                f'<text x="{xx + 14}" y="{self.mt - 5}" font-size="11">{html.escape(label)}</text>'
            )

    def svg(self, title: str) -> str:
        body = "".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
            f'viewBox="0 0 {self.w} {self.h}" role="img" aria-label="{html.escape(title)}">'
            f"<title>{html.escape(title)}</title>{body}</svg>"
        )


def _colors(systems: Sequence[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(systems)}


def weekly_plot(m: Metrics, systems: Sequence[str], floor: float | None) -> str:
    weeks = sorted({g.bucket for g in m.segment("week") if g.system_id in systems})
    if not weeks:
        return "<p>No weekly data.</p>"
    plot = _Plot((-0.5, len(weeks) - 0.5), (0.3, 0.8))
    x = {w: plot.x(i) for i, w in enumerate(weeks)}  # a week's position on the axis
    step = max(1, len(weeks) // 8)
    plot.axes(
        [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        "hit rate",
        "week starting",
        [(i, w[5:]) for i, w in enumerate(weeks) if i % step == 0],
    )
    plot.hline(m.break_even, "#555", f"break-even {format_pct(m.break_even)}")
    if floor is not None:
        plot.hline(floor, "#b00", f"floor {format_pct(floor)}", dash="2 2")
    colors = _colors(systems)
    for system in systems:
        groups = sorted(
            (g for g in m.segment("week", system) if g.decided > 0), key=lambda g: g.bucket
        )
        if not groups:
            continue
        color = colors[system]
        upper = " ".join(f"{x[g.bucket]:.1f},{plot.y(g.hit_high):.1f}" for g in groups)
        lower = " ".join(f"{x[g.bucket]:.1f},{plot.y(g.hit_low):.1f}" for g in reversed(groups))
        plot.add(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.12"/>')
        line = " ".join(f"{x[g.bucket]:.1f},{plot.y(g.hit_rate or 0):.1f}" for g in groups)
        plot.add(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for g in groups:
            plot.add(
                f'<circle cx="{x[g.bucket]:.1f}" cy="{plot.y(g.hit_rate or 0):.1f}" '
                f'r="3" fill="{color}"><title>{html.escape(system)} week {g.bucket}: '
                f"{format_pct(g.hit_rate)} of {g.decided} "
                f"({format_pct(g.hit_low)}-{format_pct(g.hit_high)})"
                "</title></circle>"
            )
    plot.legend([(s, colors[s]) for s in systems])
    return plot.svg("Hit rate by week with its interval band")


def calibration_plot(m: Metrics, systems: Sequence[str]) -> str:
    groups = [
        g
        for g in m.segment("confidence")
        if g.system_id in systems and g.decided > 0 and g.mean_confidence is not None
    ]
    if not groups:
        return "<p>No stated confidence in these predictions: calibration not measured.</p>"
    plot = _Plot((0.5, 1.0), (0.0, 1.0))
    plot.axes(
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "realised hit rate",
        "stated confidence",
        [(v, f"{100 * v:.0f}%") for v in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)],
    )
    plot.add(
        f'<line x1="{plot.x(0.5):.1f}" y1="{plot.y(0.5):.1f}" x2="{plot.x(1.0):.1f}" '
        f'y2="{plot.y(1.0):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
    )
    colors = _colors(systems)
    for system in systems:
        points = sorted(
            (g for g in groups if g.system_id == system), key=lambda g: g.mean_confidence or 0
        )
        if not points:
            continue
        color = colors[system]
        path = " ".join(
            f"{plot.x(g.mean_confidence or 0):.1f},{plot.y(g.hit_rate or 0):.1f}" for g in points
        )
        plot.add(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for g in points:
            xx = plot.x(g.mean_confidence or 0)
            plot.add(
                f'<line x1="{xx:.1f}" y1="{plot.y(g.hit_low):.1f}" x2="{xx:.1f}" '
                f'y2="{plot.y(g.hit_high):.1f}" stroke="{color}" stroke-opacity="0.5"/>'
                f'<circle cx="{xx:.1f}" cy="{plot.y(g.hit_rate or 0):.1f}" r="3" fill="{color}">'
                f"<title>{html.escape(system)} {html.escape(g.bucket)}: "
                f"stated {format_pct(g.mean_confidence)}, realised {format_pct(g.hit_rate)} "
                f"of {g.decided}</title></circle>"
            )
    plot.legend([(s, colors[s]) for s in systems])
    return plot.svg("Calibration: stated confidence vs realised hit rate")


def error_plot(m: Metrics, systems: Sequence[str]) -> str:
    series = {s: m.histogram.get(s, []) for s in systems if m.histogram.get(s)}
    if not series:
        return "<p>No errors to plot.</p>"
    edges = sorted({b for bins in series.values() for b, _ in bins})
    width = min((b - a for a, b in zip(edges, edges[1:], strict=False)), default=2.0)
    shares = {
        s: {b: n / max(1, sum(c for _, c in bins)) for b, n in bins} for s, bins in series.items()
    }
    top = max(v for d in shares.values() for v in d.values())
    top = math.ceil(top * 20) / 20 or 0.05
    plot = _Plot((edges[0], edges[-1] + width), (0.0, top))
    plot.axes(
        [i * 0.05 for i in range(int(round(top / 0.05)) + 1)],
        "share of predictions",
        "predicted - actual (points)",
        [(e, f"{e:g}") for e in edges if e % (2 * width) == 0] or [(e, f"{e:g}") for e in edges],
    )
    colors = _colors(systems)
    for system, share in shares.items():
        points = [f"{plot.x(edges[0]):.1f},{plot.y(0):.1f}"]
        for b in edges:
            v = share.get(b, 0.0)
            points.append(f"{plot.x(b):.1f},{plot.y(v):.1f}")
            points.append(f"{plot.x(b + width):.1f},{plot.y(v):.1f}")
        points.append(f"{plot.x(edges[-1] + width):.1f},{plot.y(0):.1f}")
        plot.add(
            f'<polyline points="{" ".join(points)}" fill="{colors[system]}" fill-opacity="0.08" '
            f'stroke="{colors[system]}" stroke-width="1.5"/>'
        )
    plot.add(
        f'<line x1="{plot.x(0):.1f}" y1="{plot.y(0):.1f}" x2="{plot.x(0):.1f}" '
        f'y2="{plot.y(top):.1f}" stroke="#444" stroke-dasharray="2 2"/>'
    )
    plot.legend([(s, colors[s]) for s in shares])
    return plot.svg("Distribution of prediction errors")


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;
font-size:13px}th{background:#f4f4f4;text-align:left}td.n{text-align:right}
.PASS{color:#167a16;font-weight:600}.WARN{color:#a66b00;font-weight:600}
.FAIL{color:#c00;font-weight:600}.INCONCLUSIVE{color:#8a2be2;font-weight:600}
.ERROR{color:#fff;background:#c00;font-weight:600}.muted{color:#777;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:16px}
"""


def _group_row(g: GroupMetrics, first: str, settings: RegressionSettings) -> str:
    cells = [html.escape(first), *_metric_cells(g, settings), format_pct(g.mean_confidence)]
    return (
        "<tr>"
        + "".join(f"<td{' class=n' if i else ''}>{c}</td>" for i, c in enumerate(cells))
        + "</tr>"
    )


_GROUP_HEADER = (
    "<tr><th>{first}</th><th>predictions</th><th>bets</th><th>pushes</th><th>hit rate</th>"
    "<th>interval</th><th>p vs break-even</th><th>MAE</th><th>bias</th><th>PASS share</th>"
    "<th>mean confidence</th></tr>"
)


_MCNEMAR = {
    "exact": "one-sided exact binomial test",
    "midp": "one-sided mid-p test (exact p minus half the probability of the observed count)",
}


def render_html(report: RegressionReport) -> str:
    m = report.metrics
    s = report.settings
    gated = [v for v in (s.champion, s.challenger) if v in m.systems]
    systems = gated or m.systems
    verdict = report.verdict.value
    # -110 odds only when that is what break_even is (it is configurable)
    at_110 = " at -110" if m.break_even == BREAK_EVEN_MINUS_110 else ""
    out: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}: <span class='{verdict}'>{verdict}</span></h1>",
        f"<p>Source: {html.escape(report.source.label)}; {m.rows} graded predictions; "
        f"versions: {html.escape(', '.join(m.systems))}. Champion "
        f"<b>{html.escape(s.champion)}</b>, challenger <b>{html.escape(s.challenger)}</b>. "
        f"Break-even{at_110}: {format_pct(m.break_even, digits=2)}. Intervals: Wilson "
        f"{int(round(100 * m.confidence_level))}%.</p>",
    ]
    if report.golden is not None:
        gs = report.golden
        out.append(
            f"<p class='muted'>Golden set {html.escape(gs.path.name)}: {gs.rows} real "
            f"player-games with their points lines, {gs.first_date} to {gs.last_date} "
            f"(content sha256 {gs.content_sha256[:12]}). Stored versions "
            f"{html.escape(', '.join(gs.versions))} are reference predictors standing in for "
            "the serving model; a candidate is compared with them on the same bets.</p>"
        )
    out.append(
        "<h2>Gates</h2><table><tr><th>check</th><th>verdict</th><th>value</th>"
        "<th>threshold</th><th>message</th></tr>"
    )
    for c in report.checks:
        value = value_text(c.value, c.unit)
        out.append(
            f"<tr><td>{html.escape(c.name)}</td><td class='{c.verdict.value}'>{c.verdict.value}"
            f"</td><td class=n>{html.escape(value)}</td>"
            f"<td>{html.escape(c.threshold)}</td><td>{html.escape(c.message)}</td></tr>"
        )
    out.append("</table>")
    out.append("<h2>Model versions</h2><table>" + _GROUP_HEADER.format(first="version"))
    for system in m.systems:
        g = m.overall(system)
        if g is not None:
            out.append(_group_row(g, system, s))
    out.append("</table>")
    if m.comparisons:
        out.append(
            "<h2>Champion vs challenger (same bets)</h2><table><tr><th>pair</th>"
            "<th>shared</th><th>paired bets</th><th>both hit</th><th>both miss</th>"
            "<th>champion only</th><th>challenger only</th><th>p(worse) exact</th>"
            "<th>p(worse) mid-p</th><th>MAE diff</th><th>interval</th></tr>"
        )
        for pair in m.comparisons:
            out.append(
                f"<tr><td>{html.escape(pair.challenger)} vs {html.escape(pair.champion)}</td>"
                f"<td class=n>{pair.shared}</td><td class=n>{pair.paired_bets}</td>"
                f"<td class=n>{pair.both_hit}</td><td class=n>{pair.both_miss}</td>"
                f"<td class=n>{pair.champion_only}</td><td class=n>{pair.challenger_only}</td>"
                f"<td class=n>{format_p(pair.mcnemar.p_challenger_worse, s.alpha)}</td>"
                f"<td class=n>{format_p(pair.mcnemar.p_challenger_worse_mid, s.alpha)}</td>"
                f"<td class=n>{format_num(pair.mae_diff, 3)}</td>"
                f"<td class=n>{format_num(_finite(pair.mae_diff_low), 3)} to "
                f"{format_num(_finite(pair.mae_diff_high), 3)}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Plots</h2><div class='plots'>")
    out.append(
        f"<figure>{weekly_plot(m, systems, s.hit_rate_floor)}"
        "<figcaption>Hit rate by week, shaded: Wilson interval.</figcaption></figure>"
    )
    calibration = calibration_plot(m, systems)
    if calibration.startswith("<svg"):
        out.append(
            f"<figure>{calibration}"
            "<figcaption>Calibration: points on the diagonal are honest confidence."
            "</figcaption></figure>"
        )
    else:  # not measured: the sentence says so, and no caption claims a plot
        out.append(calibration)
    out.append(
        f"<figure>{error_plot(m, systems)}"
        "<figcaption>Signed error (predicted - actual), clipped at the ends."
        "</figcaption></figure>"
    )
    out.append("</div><h2>Segments</h2>")
    order = segment_order(s.buckets)
    for segment, title in SEGMENT_TITLES.items():
        rows = [g for g in m.segment(segment) if g.system_id in systems]
        if not rows:
            continue
        rank = {label: i for i, label in enumerate(order.get(segment, []))}
        out.append(f"<h3>{html.escape(title)}</h3><table>" + _GROUP_HEADER.format(first="bucket"))
        # Buckets in their natural order (<10, 10-15, ..., >=25), not as sorted text.
        for g in sorted(rows, key=lambda g: (g.system_id, rank.get(g.bucket, len(rank)), g.bucket)):
            out.append(_group_row(g, f"{g.system_id} {g.bucket}", s))
        out.append("</table>")
    out.append(
        "<p class='muted'>Pushes (actual = line) are counted and excluded from the hit rate. "
        "p vs break-even: one-sided exact binomial test of hit rate > break-even. "
        f"McNemar: {_MCNEMAR[s.mcnemar]} on the discordant pairs of the same bets (the "
        f"gate uses this variant: <code>regression.mcnemar: {html.escape(s.mcnemar)}</code>).</p>"
        "</body></html>"
    )
    return "\n".join(out)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def html_text(report: RegressionReport) -> str:
    """The HTML report as written (every secret fragment masked: a CI artifact)."""
    return redact(render_html(report))


# --------------------------------------------------------------------------- JUnit


# Characters XML 1.0 does not allow in a document, even escaped: ElementTree writes them
# as they are, and every JUnit reader then refuses the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """``text`` with each character XML cannot hold written as its escape (``\\x0b``)."""
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def render_junit(report: RegressionReport) -> str:
    """One testsuite; each gate a testcase: FAIL -> failure, ERROR -> error,
    INCONCLUSIVE -> skipped (with the reason), WARN -> passed with a system-out note.

    Names and messages quote the input (a model version is whatever the data holds): a
    control character in them is written as its escape, so the file stays well-formed."""
    import xml.etree.ElementTree as ET  # only with --junit

    checks = report.checks
    suite = ET.Element(
        "testsuite",
        {
            "name": "nbaops.regression",
            "tests": str(len(checks)),
            "failures": str(sum(c.verdict is Verdict.FAIL for c in checks)),
            "errors": str(sum(c.verdict is Verdict.ERROR for c in checks)),
            "skipped": str(sum(c.verdict is Verdict.INCONCLUSIVE for c in checks)),
            "time": f"{sum(c.duration_s for c in checks):.3f}",
        },
    )
    for c in checks:
        name, message = _xml_safe(c.name), _xml_safe(c.message)
        case = ET.SubElement(
            suite, "testcase", {"classname": f"regression.{c.service}", "name": name}
        )
        text = _xml_safe(
            f"{c.message}\nvalue: {value_text(c.value, c.unit)}\nthreshold: {c.threshold}"
        )
        if c.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", {"message": message[:500]}).text = text
        elif c.verdict is Verdict.ERROR:
            ET.SubElement(case, "error", {"message": message[:500]}).text = text
        elif c.verdict is Verdict.INCONCLUSIVE:
            ET.SubElement(case, "skipped", {"message": f"INCONCLUSIVE: {message}"[:500]})
        else:
            ET.SubElement(case, "system-out").text = f"{c.verdict.value}: {text}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def junit_text(report: RegressionReport) -> str:
    """The JUnit XML as written (masked like the HTML report)."""
    return redact(render_junit(report)) + "\n"
