"""The one function the entry points call: load graded predictions, measure, gate, report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.errors import UsageError
from nbaops.regression import gates, metrics, sources
from nbaops.regression.settings import RegressionSettings, settings_from_section
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

    from nbaops.context import Context
    from nbaops.regression.golden import GoldenSummary


@dataclass(frozen=True)
class RegressionRequest:
    """What the user asked for (flags of ``inv regression``)."""

    since: dt.date | None = None
    until: dt.date | None = None
    source: Path | None = None  # --from
    golden: bool = False  # build the golden set from ../shared/data/nba
    champion: str | None = None
    challenger: str | None = None
    html: Path | None = None
    junit: Path | None = None


@dataclass
class RegressionReport:
    """Metrics, gate verdicts and where the HTML/JUnit outputs were written."""

    title: str
    source: sources.Loaded
    settings: RegressionSettings
    metrics: metrics.Metrics
    checks: list[CheckResult]
    html_path: Path | None = None
    junit_path: Path | None = None
    golden: GoldenSummary | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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
            data["golden"] = {
                "targets": self.golden.targets,
                "rows": self.golden.rows,
                "predictors": list(self.golden.predictors),
                "match_rate": round(self.golden.match.match_rate, 4),
                "first_date": self.golden.first_date,
                "last_date": self.golden.last_date,
            }
        return data

    def render(self, console: Console) -> None:
        from nbaops.regression.report import render_terminal

        render_terminal(self, console)


def evaluate(
    con: duckdb.DuckDBPyConnection,
    settings: RegressionSettings,
    loaded: sources.Loaded,
    *,
    table: str = sources.TABLE,
    title: str = "Prediction-quality regression",
) -> RegressionReport:
    """Measure and gate a loaded table (no context, no files: what tests call)."""
    pairs: list[tuple[str, str]] = []
    if settings.champion and settings.challenger and settings.champion != settings.challenger:
        pairs.append((settings.champion, settings.challenger))
    measured = metrics.compute(
        con,
        table,
        pairs=pairs,
        buckets=settings.buckets,
        break_even=settings.break_even,
        confidence_level=settings.confidence_level,
    )
    checks = gates.evaluate(measured, settings, loaded.query)
    return RegressionReport(
        title=title, source=loaded, settings=settings, metrics=measured, checks=checks
    )


def _window(request: RegressionRequest, settings: RegressionSettings) -> tuple[dt.date, dt.date]:
    # Grading finishes the morning after; the default window ends yesterday (Eastern).
    until = request.until or (clock.today_eastern() - dt.timedelta(days=1))
    since = request.since or (until - dt.timedelta(days=settings.window_days - 1))
    if since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    return since, until


def _validate(request: RegressionRequest) -> None:
    if request.source is not None and (request.since or request.until):
        raise UsageError("--from reads a file: it cannot be combined with --since/--until")
    if request.golden and request.source is not None:
        raise UsageError("choose one of --golden and --from")
    if request.golden and (request.since or request.until):
        raise UsageError(
            "--golden builds its own window: it cannot be combined with --since/--until"
        )
    if request.champion and request.challenger and request.champion == request.challenger:
        raise UsageError("--champion and --challenger must be different model versions")


def default_html_path(ctx_home: Path, settings: RegressionSettings) -> Path:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    folder = Path(settings.report_dir)
    if not folder.is_absolute():
        folder = ctx_home / folder
    return folder / f"regression-{stamp}.html"


def run_regression(ctx: Context, request: RegressionRequest) -> RegressionReport:
    """Load graded predictions (warehouse window, file or golden set), gate, write reports.

    Raises:
        UsageError: bad flags, unreadable file, missing data folder for ``--golden``.
        WarehouseError: the warehouse query failed.
    """
    from nbaops import nba_data

    _validate(request)
    base = settings_from_section(ctx.config.section("regression"))
    con = nba_data.connect()
    golden_summary = None
    try:
        if request.golden:
            from nbaops.regression import golden

            gs = base.golden
            settings = base.with_versions(
                request.champion or gs.champion, request.challenger or gs.challenger
            )
            golden_summary = golden.build_golden(
                con,
                root=ctx.root,
                predictors=gs.predictors,
                pass_band=gs.pass_band,
                ewma_halflife=gs.ewma_halflife,
                table=sources.TABLE,
            )
            loaded = sources.Loaded(
                label=f"golden set from {nba_data.data_dir(ctx.root)} "
                f"({golden_summary.first_date}..{golden_summary.last_date})",
                query="nbaops.regression.golden.build_golden (real game logs + points lines)",
                rows=golden_summary.rows,
            )
            title = "Prediction-quality regression (golden set, reference predictors)"
        else:
            settings = base.with_versions(request.champion, request.challenger)
            if request.source is not None:
                loaded = sources.load_file(con, request.source)
                title = "Prediction-quality regression"
            else:
                since, until = _window(request, settings)
                loaded = sources.load_warehouse(con, ctx.warehouse, since, until)
                title = f"Prediction-quality regression ({ctx.profile})"
        report = evaluate(con, settings, loaded, title=title)
    finally:
        con.close()
    report.golden = golden_summary
    write_outputs(
        report, html=request.html or default_html_path(ctx.home, settings), junit=request.junit
    )
    return report


def write_outputs(report: RegressionReport, *, html: Path | None, junit: Path | None) -> None:
    """Write the HTML report and JUnit XML; record their paths on the report."""
    from nbaops.regression.report import write_html, write_junit

    if html is not None:
        report.html_path = write_html(report, html)
    if junit is not None:
        report.junit_path = write_junit(report, junit)
