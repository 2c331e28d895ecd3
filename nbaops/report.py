"""Reports: what a library operation returns to an entry point.

A report has an overall verdict (which decides the exit code), a JSON form (exactly
one document for ``--json``) and a terminal rendering. Every task returns a
:class:`Report`; :class:`CheckReport` is the default one: its checks (a list of
:class:`~nbaops.verdict.CheckResult`), ``extra`` fields for the JSON document, ``notes``
shown under the checks, and one rendering for all (a table on a wide terminal, one
unwrapped line per check elsewhere). A class of its own is only for a different shape
(the deploy timeline, a schema diff, query rows), and says so in its docstring.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nbaops.environment import step_summary_path
from nbaops.redact import redact
from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from rich.console import Console

# Below this many columns a table would fold every message: print one block per check.
WIDE_LAYOUT_MIN = 120

VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "bold magenta",
    Verdict.ERROR: "bold red reverse",
}

# The verdict in Markdown (GitHub job summaries and issues).
VERDICT_ICON = {
    Verdict.PASS: "✅",
    Verdict.WARN: "⚠️",
    Verdict.FAIL: "❌",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.ERROR: "🛑",
}


class Report(Protocol):
    """What every task returns: a verdict (the exit code), one JSON document, a rendering."""

    @property
    def verdict(self) -> Verdict: ...

    def to_json(self) -> dict[str, Any]: ...

    def render(self, console: Console) -> None: ...


def nonfinite_name(value: float) -> str | None:
    """``NaN``, ``Infinity`` or ``-Infinity`` for a float that is not finite, as BigQuery
    writes such a FLOAT64 (its REST API and its console); None for a finite one."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def decimals(value: float, places: int) -> int:
    """``places`` decimals, or more when rounding ``value`` to them would land on a whole
    number it is not (floating-point noise aside; nine always do): most thresholds are
    whole percents, and a measured 94.996% shown as ``95.0%`` reads as meeting "< 95%" (the
    others are passed to :func:`format_pct` / :func:`places_beside`). The nearest whole
    number is one more threshold for :func:`places_beside`."""
    whole = round(value)
    return places if abs(value - whole) <= 1e-9 else places_beside(value, whole, places=places)


def format_pct(value: float | None, *thresholds: float, digits: int = 1) -> str:
    """A measured share as a percentage (``54.2%``), ``-`` when unknown; more decimals when
    ``digits`` would round it onto a whole percent it is not, or onto or across one of the
    ``thresholds`` (shares, as configured) it is judged against: 0.5802 is ``58.02%``, not
    ``58.0%`` beside "hit rate <= 58.0%", 0.9496 is ``94.96%``, not ``95.0%`` beside
    "< 95% (WARN)", 0.99995 is ``99.995%``, never ``100.0%`` when something is missing, and
    0.52396 beside a 0.524 threshold is ``52.396%``, not ``52.4%``. The checks and the
    regression gates both show their measured percents with it."""
    if value is None:
        return "-"
    percent = as_percent(value)
    places = places_beside(percent, *map(as_percent, thresholds), places=decimals(percent, digits))
    return f"{percent:.{places}f}%"


def as_percent(share: float) -> float:
    """A share as a percent without the multiplication's floating-point noise (100 * 0.524
    is 52.400000000000006, which a shown 52.4 is "below"): measured percents and the
    thresholds they are compared with are rounded alike."""
    return round(100 * share, 9)


def places_beside(value: float, *thresholds: float, places: int) -> int:
    """``places`` decimals, or more (up to 15) when fewer would round ``value`` onto or
    across one of the ``thresholds`` it is judged against: a 0.58004 hit rate must not
    read 0.58 beside "hit rate <= 58.0%", nor a p-value of 0.049996 read 0.05 beside
    "p >= 0.05", nor a heartbeat 2h and 1s old read "2.0h" beside "WARN age > 2h"."""
    for more in range(places, 16):
        if all(same_side(round(value, more), value, t) for t in thresholds):
            return more
    return 15


def same_side(shown: float, value: float, threshold: float) -> bool:
    """``shown`` is on the side of ``threshold`` that ``value`` is on (on it only when
    ``value`` is)."""
    return (shown < threshold) == (value < threshold) and (shown > threshold) == (value > threshold)


def format_p(value: float, alpha: float | None = None) -> str:
    """A p-value for people: 3 significant digits, but never rounded up to 1, nor onto
    or across the ``alpha`` it is judged against (0.049996 is ``0.049996`` beside
    "p >= 0.05", not ``0.05``; 9.9996e-08 is ``9.9996e-08`` beside an alpha of 1e-07,
    not ``1e-07`` nor ``0.000``). The regression gates and the canary analysis show
    their p-values with it.

    ``0.99951`` would print as ``1`` with ``.3g``; a p-value of 1 claims certainty the test
    never gives, so values just below 1 keep the digits that show it (``> 0.9999`` at most).
    """
    if value >= 1.0:
        return "1"
    if value > 0.9999:
        return "> 0.9999"
    if value >= 0.995:
        return f"{value:.4f}"
    text = f"{value:.3g}"
    if alpha is not None and not same_side(float(text), value, alpha):
        if value >= 0.001:
            text = f"{value:.{places_beside(value, alpha, places=3)}f}"
        else:  # decimals would read 0.000 beside an alpha under 0.001: significant digits
            shown = (f"{value:.{digits}g}" for digits in range(4, 18))  # 17 give it back
            text = next(t for t in shown if same_side(float(t), value, alpha))
    return text


def round_beside(value: float, *thresholds: float, places: int = 4) -> float:
    """``value`` rounded as :func:`places_beside` decides: a stored value keeps the side
    of each threshold it was judged against."""
    return round(value, places_beside(value, *thresholds, places=places))


def format_value(value: object) -> str:
    """A value as a report shows it: ``-`` for None; a float in four significant digits,
    more when four would round it onto a whole number it is not (94.996 is ``94.996``,
    never ``95`` beside "WARN < 95%": the checks store such a value unrounded for that),
    and all of a value stored with at most eight (:func:`round_beside` kept 0.58002 off a
    0.58 ceiling and 0.049996 off a 0.05 alpha: ``.4g`` showed them as ``0.58``, ``0.05``;
    a coverage of 52.39996% beside a 52.4% threshold needs seven)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        text = next(
            (t for t in (f"{value:.{d}g}" for d in range(4, 9)) if float(t) == value),
            f"{value:.4g}",
        )
        if math.isfinite(value) and abs(value - round(value)) > 1e-9:  # not float noise
            digits = 4
            while digits < 17 and float(text) == round(float(text)):
                digits += 1
                text = f"{value:.{digits}g}"
        return text
    return str(value)


def verdict_text(verdict: Verdict) -> Any:
    from rich.text import Text

    return Text(verdict.value, style=VERDICT_STYLE[verdict])


Part = str | tuple[str, str]  # a piece of a line: text, or (text, Rich style)


def emit(console: Console, *parts: Part) -> None:
    """Print one line as it is (no markup, never wrapped); the styles only on a Rich console.

    Any other console (off a terminal the runner's plain one, ``nbaops.cli.plain``) gets
    the plain text, so a report of lines renders without importing Rich.
    """
    rich_console = sys.modules.get("rich.console")
    if rich_console is None or not isinstance(console, rich_console.Console):
        text = "".join(p if isinstance(p, str) else p[0] for p in parts)
        console.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)
        return
    from rich.text import Text

    console.print(Text.assemble(*parts), highlight=False, soft_wrap=True)


def verdict_part(verdict: Verdict) -> Part:
    return (verdict.value, VERDICT_STYLE[verdict])


def value_text(value: object, unit: str = "") -> str:
    """A measured value with its unit: ``59.05%``, ``19.7 min``, ``0 entries``, ``-``."""
    text = format_value(value)
    if value is None or not unit:
        return text
    return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"


def is_table_console(console: Console) -> bool:
    """The rich table only on a wide interactive terminal; logs and pipes get plain lines."""
    return bool(console.is_terminal) and console.width >= WIDE_LAYOUT_MIN


@dataclass
class CheckGroup:
    """Checks shown as one line: a single check, or identical ERRORs collapsed."""

    checks: list[CheckResult]
    cause: str = ""  # identical ERRORs: what they share (shown instead of each message)

    @property
    def message(self) -> str:
        if len(self.checks) > 1 and self.cause:
            return self.cause
        return self.first.message

    @property
    def first(self) -> CheckResult:
        return self.checks[0]

    @property
    def names(self) -> str:
        return ", ".join(dict.fromkeys(c.name for c in self.checks))

    @property
    def services(self) -> str:
        return ", ".join(dict.fromkeys(c.service for c in self.checks))

    @property
    def doc(self) -> str:
        if len(self.checks) > 1:
            return TROUBLESHOOTING
        first = self.first
        return f"{first.doc} ({first.doc_url})" if first.doc and first.doc_url else first.doc


# Where identical ERRORs of several checks (credentials, network) are explained.
TROUBLESHOOTING = "docs/troubleshooting.md#every-check-is-error"


# Every Google client words "no Application Default Credentials" its own way; on
# --profile prod without credentials that is one cause, so it is one line.
NO_CREDENTIALS = (
    "no usable Google credentials: run `gcloud auth application-default login` "
    "(Workload Identity in CI)"
)


def error_cause(message: str) -> str:
    """What identical ERRORs share: the message, or one wording for missing credentials."""
    lowered = message.lower()
    if "credentials" in lowered and ("not found" in lowered or "no usable" in lowered):
        return NO_CREDENTIALS
    return message


def group_checks(checks: list[CheckResult]) -> list[CheckGroup]:
    """One group per check, except ERRORs with the same cause: one group naming them all."""
    groups: list[CheckGroup] = []
    errors: dict[str, CheckGroup] = {}
    for c in checks:
        if c.verdict is Verdict.ERROR:
            cause = error_cause(c.message)
            if cause in errors:
                errors[cause].checks.append(c)
                continue
            errors[cause] = CheckGroup([c], cause)
            groups.append(errors[cause])
        else:
            groups.append(CheckGroup([c]))
    return groups


def check_line(group: CheckGroup) -> list[Part]:
    """The one line of a check (or of identical ERRORs): verdict, value, threshold, message, doc."""
    c = group.first
    line: list[Part] = [verdict_part(c.verdict), " ", (group.names, "bold"), f" [{group.services}]"]
    if len(group.checks) > 1:
        line.append(f" ({len(group.checks)} checks)")
    else:
        line.append(f" value={value_text(c.value, c.unit)}")
    if c.threshold:
        line.append(f" threshold: {c.threshold}")
    line.append(f" ({max(x.duration_s for x in group.checks):.2f}s): {group.message}")
    if c.verdict is not Verdict.PASS and group.doc:
        line.append((f" -> see {group.doc}", "cyan"))
    return line


def finding_lines(c: CheckResult, *, all_findings: bool) -> list[str]:
    """The findings to show under a check: its problems when not PASS, all with ``--details``;
    then, when not PASS, its fix (``details["fix"]``: the command or step that repairs it)."""
    if all_findings:
        lines = [("! " if f.problem else "  ") + f.text for f in c.findings]
    else:
        lines = ["! " + f.text for f in c.findings if f.problem and c.verdict is not Verdict.PASS]
    if c.verdict is not Verdict.PASS and c.details.get("fix"):
        lines.append(f"fix: {c.details['fix']}")
    return lines


@dataclass
class CheckReport:
    """A titled list of check results; overall verdict = the worst of them.

    Rendering (the one place every check's output is shaped): a wide interactive terminal
    gets a table; anything else (pipes, CI logs, narrow terminals) gets one line per check
    that never wraps, with full values. Under each FAIL/WARN check come the findings that
    caused it (games under threshold and their missing players); ``details`` shows every
    finding. Identical ERRORs are one line naming the checks. Then the ``notes`` (plain
    lines, never markup), then the verdict with ``summary`` (default: the counts), then
    the ``after`` lines (e.g. where validate-daily's chain broke) and one line per check
    that history marked as an anomaly (``details["anomaly"]``, system-health).

    JSON: ``verdict``, ``checks``, then ``extra`` in its order (``extra`` may place
    ``checks`` itself, to keep a document's key order). An action report (a fault set, a
    job installed: ``outcome`` given, nothing checked) has no ``checks`` key: its verdict
    is ``outcome``, not the worst of an empty list (which is INCONCLUSIVE).
    """

    title: str
    checks: list[CheckResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    details: bool = False
    notes: list[str] = field(default_factory=list)
    summary: str = ""
    outcome: Verdict | None = None  # the verdict when it is not the worst of the checks
    after: list[list[Part]] = field(default_factory=list)  # lines under the verdict

    @property
    def verdict(self) -> Verdict:
        if self.outcome is not None:
            return self.outcome
        return worst(c.verdict for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"verdict": self.verdict.value}
        if "checks" not in self.extra and (self.checks or self.outcome is None):
            document["checks"] = [c.to_json() for c in self.checks]
        return {**document, **self.extra}

    def render(self, console: Console) -> None:
        groups = group_checks(self.checks)
        if groups and is_table_console(console):
            self._render_table(console, groups)
        else:  # logs, pipes and narrow terminals: one line per check, never wrapped or cut
            emit(console, (self.title, "bold"))
            for g in groups:
                emit(console, *check_line(g))
                self._render_findings(console, g.first)
        for note in self.notes:
            emit(console, note)
        summary = self.summary or f"{self.title}: {summary_counts(c.verdict for c in self.checks)}"
        emit(console, verdict_part(self.verdict), " ", summary)
        for line in self.after:
            emit(console, *line)
        for c in self.checks:
            if c.details.get("anomaly"):
                emit(
                    console,
                    ("anomaly ", "magenta"),
                    f"{c.name} [{c.service}]: {c.details['anomaly']}",
                )

    def _render_findings(self, console: Console, c: CheckResult) -> None:
        for text in finding_lines(c, all_findings=self.details):
            emit(console, "    " + text)

    def _render_table(self, console: Console, groups: list[CheckGroup]) -> None:
        from rich.table import Table
        from rich.text import Text

        # every cell as Text, as emit prints lines: a string cell is Rich markup, and names
        # and messages quote the data ("[projects/x]" vanished, a "[/x]" raised MarkupError)
        table = Table(title=Text(self.title), title_justify="left")
        table.add_column("check", overflow="fold")
        table.add_column("service", overflow="fold")
        table.add_column("verdict", no_wrap=True)
        table.add_column("value", justify="right")
        table.add_column("threshold", overflow="fold", ratio=1)
        table.add_column("message", overflow="fold", ratio=2)
        table.add_column("s", justify="right")
        for g in groups:
            c = g.first
            table.add_row(
                Text(g.names),
                Text(g.services),
                verdict_text(c.verdict),
                Text(value_text(c.value, c.unit)),
                Text(c.threshold),
                Text(g.message),
                f"{max(x.duration_s for x in g.checks):.2f}",
            )
        console.print(table)
        for g in groups:  # under the table: what made each check WARN/FAIL, and its doc
            c = g.first
            lines = finding_lines(c, all_findings=self.details)
            if c.verdict is Verdict.PASS and not lines:
                continue
            head: list[Part] = [verdict_part(c.verdict), " ", (g.names, "bold")]
            if c.verdict is not Verdict.PASS and g.doc:
                head.append((f" -> see {g.doc}", "cyan"))
            emit(console, *head)
            self._render_findings(console, c)


def summary_counts(verdicts: Iterable[Verdict], empty: str = "no checks") -> str:
    """``2 PASS, 1 FAIL``: how many of each verdict, in order of first appearance."""
    counts = Counter(v.value for v in verdicts)
    return ", ".join(f"{n} {v}" for v, n in counts.items()) or empty


def markdown_text(text: object) -> str:
    """``text`` as it reads, in a Markdown table cell or list item (a job summary, an issue
    body): ``\\`` and ``|`` escaped (an unescaped backslash before an escaped ``|`` made it
    a cell border), ``<`` and ``>`` as entities (never HTML), ``@`` followed by a
    zero-width space (never a mention that pings someone), a line break as a space (CR LF,
    CR or LF: CommonMark's three line endings, each of which ends a table row)."""
    return (
        str(text)
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("@", "@\u200b")
        .replace("\n", " ")
    )


def publish_step_summary(markdown: str) -> str | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` (GitHub Actions' job summary, read
    by everyone who can see the run), every secret fragment masked like the terminal's.

    Returns:
        The file written, or None outside a workflow (the variable unset).

    Raises:
        OSError: the file cannot be opened or written.
    """
    target = step_summary_path()
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(redact(markdown))
    return target
