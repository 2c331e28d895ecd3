"""The ``check-drift`` operation: detect, optionally sync GitHub issues, write report files.

The report is complete before GitHub is contacted, and the files asked for are written
whatever GitHub answers, so a GitHub outage never loses the drift report (the run then
ends with ERROR, exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops import clock
from nbaops.errors import UsageError
from nbaops.fsutil import input_file, output_file

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.drift.report import DriftReport


def check_drift(
    ctx: Context,
    *,
    service: str | None = None,
    window: str | None = None,
    fetch: bool = False,
    sync_issues: bool = False,
    dry_run: bool = False,
    output_format: str = "table",
    markdown_file: str | None = None,
    json_file: str | None = None,
    from_report: str | None = None,
) -> DriftReport:
    """Measure drift and, with ``sync_issues``, open/update/close the GitHub issues.

    The arguments are the ``check-drift`` flags (``nbaops.cli.drift``); ``output_format``
    is ``table`` or ``markdown`` (``--json`` is the runner's business), ``from_report``
    replays a report saved with ``json_file`` instead of measuring (the workflow's issue
    job has no cloud access).

    Raises:
        UsageError: bad window, unknown service, missing GitHub settings, or an output
            file that cannot be written (before anything is measured or changed).
    """
    from nbaops.adapters.github import GitHubClient, GitHubSettings
    from nbaops.drift import detect
    from nbaops.drift.github_issues import sync_issues as sync
    from nbaops.drift.settings import DriftSettings

    if output_format not in ("table", "markdown"):
        raise UsageError(f"unknown output format {output_format!r}")
    settings = ctx.config.settings("drift", DriftSettings)
    span = clock.parse_duration(window, flag="--window") if window else settings.window
    ctx.config.select_services(service)  # unknown service: exit 2 before any call
    if from_report and (window or fetch):
        raise UsageError("--from-report replays a measured report: drop --window/--fetch")
    github = GitHubSettings.from_env() if sync_issues else None
    # a report that is not a readable regular file (/dev/zero was read until memory ran
    # out) and an output path that cannot be written: exit 2 now, before any work
    saved = input_file("--from-report", from_report) if from_report else None
    markdown_path = output_file("--markdown-file", markdown_file) if markdown_file else None
    json_path = output_file("--json-file", json_file) if json_file else None
    if markdown_path is not None and markdown_path == json_path:  # the JSON replaced it
        raise UsageError(
            f"--markdown-file and --json-file name the same file ({json_path}): give two"
        )
    if saved is not None:
        report = load_report(str(saved), service=service, known=ctx.config.service_names)
    else:
        report = detect.detect_drift(ctx, service=service, window=span, fetch=fetch)
    report.output_format = output_format
    try:
        if github is not None:
            report.sync = sync(
                report,
                GitHubClient(github),
                now=clock.now(),
                label=settings.issue_label,
                comment_interval=settings.comment_interval,
                dry_run=dry_run,
            )
    finally:
        write_files(report, markdown_file=markdown_path, json_file=json_path)
    return report


def load_report(path: str, *, service: str | None, known: list[str]) -> DriftReport:
    """A report saved with ``--json-file`` (only ``service`` when given).

    ``known``: the configured services; a report naming another is refused (its name
    would go into an issue's marker and title: a retired service's issue never closes,
    one the marker pattern cannot read is opened again on every run).

    Raises:
        UsageError: unreadable file, not JSON, not a drift report, a service not in
            ``known``, or ``service`` absent.
    """
    from nbaops.drift.report import report_from_json

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--from-report: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--from-report: {path} is not JSON: {exc}") from None
    report = report_from_json(doc, source=path)
    unknown = [s.service for s in report.services if s.service not in known]
    if unknown:
        raise UsageError(
            f"--from-report: {path} names a service not in the config: {unknown[0][:60]!r} "
            f"(known: {', '.join(known)})"
        )
    if service is not None:
        report.services = [s for s in report.services if s.service == service]
        if not report.services:
            raise UsageError(f"--from-report: {path} has no service {service!r}")
    return report


def write_files(report: DriftReport, *, markdown_file: Path | None, json_file: Path | None) -> None:
    """Write the report files asked for (paths from :func:`~nbaops.fsutil.output_file`),
    redacted like everything printed: a GitHub error body may echo the token, and the
    workflow copies the Markdown into the job summary."""
    from nbaops.drift.report import markdown_report
    from nbaops.fsutil import write_outputs
    from nbaops.redact import redact, redact_tree

    files = []
    if markdown_file:
        files.append(("--markdown-file", markdown_file, redact(markdown_report(report))))
    if json_file:
        document = redact_tree(report.to_json())
        files.append(("--json-file", json_file, json.dumps(document, indent=2) + "\n"))
    write_outputs(files)  # both or neither, each replaced whole (exit 3 on a full disk)
