"""The one function the entry points call: load graded predictions, measure, gate, report."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.errors import UsageError
from nbaops.fsutil import output_file
from nbaops.fsutil import write_outputs as write_outputs_atomic
from nbaops.regression import gates, metrics, sources
from nbaops.regression.report import REPORT_MODE, RegressionReport, html_text, junit_text
from nbaops.regression.settings import RegressionSettings

if TYPE_CHECKING:
    import duckdb

    from nbaops.context import Context
    from nbaops.regression.golden import GoldenSummary


@dataclass(frozen=True)
class RegressionRequest:
    """What the user asked for (flags of ``inv regression``)."""

    since: dt.date | None = None
    until: dt.date | None = None
    source: Path | None = None  # --from
    golden: bool = False  # the committed golden set (golden/*.parquet)
    model: str | None = None  # --model MODULE:FUNCTION (implies the golden set)
    predictions: Path | None = None  # --predictions PATH (implies the golden set)
    champion: str | None = None
    challenger: str | None = None
    html: Path | None = None
    junit: Path | None = None


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
        named = f"--until {until}" if request.until else f"yesterday ({until}, US Eastern)"
        raise UsageError(f"--since {since} is after {named}")
    return since, until


def _validate(request: RegressionRequest) -> None:
    if request.model and request.predictions is not None:
        raise UsageError("choose one of --model and --predictions")
    golden = request.golden or bool(request.model) or request.predictions is not None
    if request.source is not None and (request.since or request.until):
        raise UsageError("--from reads a file: it cannot be combined with --since/--until")
    if golden and request.source is not None:
        raise UsageError("choose one of --golden (--model, --predictions) and --from")
    if golden and (request.since or request.until):
        raise UsageError("--golden has its own window: it cannot be combined with --since/--until")
    if request.champion and request.challenger and request.champion == request.challenger:
        raise UsageError("--champion and --challenger must be different model versions")
    if (request.model or request.predictions is not None) and request.challenger:
        raise UsageError(
            "--model/--predictions make the candidate the challenger: leave out --challenger "
            "(--champion picks what it is compared with)"
        )


def default_html_path(ctx_home: Path, settings: RegressionSettings) -> Path:
    """A new report file ``regression-<UTC time>[-N].html``, created empty now (exclusively:
    two runs in the same second, or on a pinned clock, get two files; the run replaces it
    with the report, or removes it if it fails).

    Raises:
        UsageError: the report folder cannot be created or written.
    """
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    folder = Path(settings.report_dir)
    if not folder.is_absolute():
        folder = ctx_home / folder
    folder = output_file("--html", folder / "regression.html").parent  # usage errors first
    for n in itertools.count(1):
        path = folder / f"regression-{stamp}{'' if n == 1 else f'-{n}'}.html"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"--html: cannot create {path}: {exc.strerror or exc}") from None
        return path
    raise AssertionError("unreachable")


def run_regression(ctx: Context, request: RegressionRequest) -> RegressionReport:
    """Load graded predictions (warehouse window, file or golden set), gate, write reports.

    Raises:
        UsageError: bad flags, unreadable file, golden set missing or modified, a
            candidate that fails (exception, wrong length, NaN).
        WarehouseError: the warehouse query failed.
    """
    _validate(request)
    base = ctx.config.settings("regression", RegressionSettings)
    junit = output_file("--junit", request.junit) if request.junit is not None else None
    if request.html is not None:
        html = output_file("--html", request.html)
        if html == junit:
            raise UsageError(f"--html and --junit name the same file ({html}): give two")
        return _run(ctx, request, base, html, junit)
    html = default_html_path(ctx.home, base)
    try:
        return _run(ctx, request, base, html, junit)
    except BaseException:
        with contextlib.suppress(OSError):
            if html.stat().st_size == 0:  # still the empty placeholder: no report was written
                html.unlink()
        raise


def _run(
    ctx: Context,
    request: RegressionRequest,
    base: RegressionSettings,
    html: Path,
    junit: Path | None,
) -> RegressionReport:
    from nbaops.adapters.duckdb_engine import connect  # (not nba_data's re-export: ~8 ms)

    con = connect()
    golden_summary = None
    try:
        if request.golden or request.model or request.predictions is not None:
            golden_summary, settings, loaded = _load_golden(con, ctx.root, request, base)
            title = "Prediction-quality regression (golden set)"
        else:
            settings = base.with_versions(request.champion, request.challenger)
            if request.source is not None:
                loaded = sources.load_file(con, request.source)
                title = "Prediction-quality regression"
            else:
                since, until = _window(request, settings)
                loaded = sources.load_warehouse(con, ctx.warehouse, since, until)
                title = f"Prediction-quality regression ({ctx.profile})"
        if settings.champion == settings.challenger:  # one flag equal to the other's default
            raise UsageError(
                f"--champion and --challenger must be different model versions (both are "
                f"{settings.champion!r}: the comparison gates would not run)"
            )
        report = evaluate(con, settings, loaded, title=title)
    finally:
        con.close()
    report.golden = golden_summary
    write_outputs(report, html=html, junit=junit)
    return report


def _load_golden(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    request: RegressionRequest,
    base: RegressionSettings,
) -> tuple[GoldenSummary, RegressionSettings, sources.Loaded]:
    """The committed golden set as graded predictions: stored versions (+ the candidate)."""
    from nbaops.regression import candidate, golden

    gs = base.golden
    summary = golden.load_golden(con, root)
    systems = {v: f"{v}_points" for v in golden.STORED_VERSIONS}
    table = golden.GAMES_TABLE
    what = ""
    if request.model:
        count = candidate.run_model(con, candidate.load_model(request.model), request.model)
        what = f"--model {request.model} ({count} predictions)"
    elif request.predictions is not None:
        count = candidate.load_predictions(con, request.predictions)
        what = f"--predictions {request.predictions} ({count} predictions)"
    if what:
        table = "golden_with_candidate"
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS SELECT g.*, c.predicted_points AS
            candidate_points FROM {golden.GAMES_TABLE} g JOIN {candidate.CANDIDATE_TABLE} c
            USING (game_id, player_lookup)"""  # noqa: S608
        )
        systems[candidate.CANDIDATE] = "candidate_points"
    sql, _ = golden.graded_sql(table, systems=systems, pass_band=gs.pass_band)
    con.execute(f"CREATE OR REPLACE TABLE {sources.TABLE} AS {sql}")
    challenger = candidate.CANDIDATE if what else gs.challenger
    settings = base.with_versions(request.champion or gs.champion, request.challenger or challenger)
    loaded = sources.Loaded(
        label=f"golden set {summary.path.name} ({summary.rows} player-games, "
        f"{summary.first_date}..{summary.last_date})" + (f"; candidate: {what}" if what else ""),
        query=f"nbaops.regression.golden.load_golden({summary.path.name}) + graded_sql",
        rows=summary.rows * len(systems),
    )
    return summary, settings, loaded


def write_outputs(report: RegressionReport, *, html: Path | None, junit: Path | None) -> None:
    """Write the HTML report and JUnit XML, both or neither; record their paths.

    Raises:
        OutputError: a file could not be written (a full disk): neither was replaced.
    """
    files = []
    if html is not None:
        files.append(("--html", html.resolve(), html_text(report)))
    if junit is not None:
        files.append(("--junit", junit.resolve(), junit_text(report)))
    write_outputs_atomic(files, mode=REPORT_MODE)
    if html is not None:
        report.html_path = html.resolve()
    if junit is not None:
        report.junit_path = junit.resolve()
