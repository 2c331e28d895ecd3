"""Reports: what a library operation returns to an entry point.

A report has an overall verdict (which decides the exit code), a JSON form (exactly
one document for ``--json``) and a terminal rendering. :class:`CheckReport` is the
common case: a list of :class:`~nbaops.verdict.CheckResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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


@runtime_checkable
class Report(Protocol):
    @property
    def verdict(self) -> Verdict: ...

    def to_json(self) -> dict[str, Any]: ...

    def render(self, console: Console) -> None: ...


def format_value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def verdict_text(verdict: Verdict) -> Any:
    from rich.text import Text

    return Text(verdict.value, style=VERDICT_STYLE[verdict])


@dataclass
class CheckReport:
    """A titled list of check results; overall verdict = the worst of them."""

    title: str
    checks: list[CheckResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return worst(c.verdict for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "checks": [c.to_json() for c in self.checks],
            **self.extra,
        }

    def render(self, console: Console) -> None:
        if console.width >= WIDE_LAYOUT_MIN:
            self._render_table(console)
        else:
            self._render_lines(console)
        console.print(verdict_text(self.verdict), f"{self.title}: {summary_counts(self.checks)}")

    def _render_table(self, console: Console) -> None:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        table.add_column("check", overflow="fold")
        table.add_column("service", overflow="fold")
        table.add_column("verdict", no_wrap=True)
        table.add_column("value", justify="right")
        table.add_column("threshold", overflow="fold", ratio=1)
        table.add_column("message", overflow="fold", ratio=2)
        table.add_column("s", justify="right")
        for c in self.checks:
            table.add_row(
                c.name,
                c.service,
                verdict_text(c.verdict),
                format_value(c.value),
                c.threshold,
                c.message,
                f"{c.duration_s:.2f}",
            )
        console.print(table)

    def _render_lines(self, console: Console) -> None:
        """Narrow terminals and logs: one block per check, the message unbroken."""
        from rich.text import Text

        console.print(Text(self.title, style="bold"))
        for c in self.checks:
            head = Text.assemble(
                verdict_text(c.verdict),
                " ",
                (c.name, "bold"),
                f" [{c.service}] value={format_value(c.value)} ({c.duration_s:.2f}s)",
            )
            console.print(head, highlight=False)
            console.print(Text("    " + c.message), highlight=False, soft_wrap=True)
            if c.threshold:
                console.print(
                    Text("    threshold: " + c.threshold, style="dim"),
                    highlight=False,
                    soft_wrap=True,
                )


def summary_counts(checks: list[CheckResult]) -> str:
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.verdict.value] = counts.get(c.verdict.value, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in counts.items()) or "no checks"
