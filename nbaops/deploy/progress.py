"""Step-by-step progress of a deploy or rollback, on stderr (stdout stays for the report).

Each step prints one line ``[ 392.4s] step  message`` (seconds since the command started),
coloured by its verdict, as it happens; ``--json`` output on stdout is unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nbaops.deploy.journal import crash_point
from nbaops.redact import printable, redact
from nbaops.report import VERDICT_STYLE
from nbaops.verdict import CheckResult, Verdict

Sink = Callable[[str, str | None], None]


def _rich_sink() -> Sink:
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

    def sink(line: str, style: str | None) -> None:
        # a check's message may quote a log line: masked and escaped like every output
        console.print(printable(redact(line)), style=style, markup=False)

    return sink


@dataclass
class Progress:
    sink: Sink | None
    lines: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic)

    @classmethod
    def stderr(cls) -> Progress:
        return cls(_rich_sink())

    @classmethod
    def silent(cls) -> Progress:
        """Records the lines without printing them (library callers, tests)."""
        return cls(None)

    def step(self, step: str, message: str, verdict: Verdict | None = None) -> None:
        crash_point(f"progress:{step}")
        elapsed = time.monotonic() - self._started
        tag = f" {verdict.value}" if verdict is not None else ""
        line = f"[{elapsed:6.1f}s] {step:<12}{tag} {message}"
        self.lines.append(line)
        if self.sink is not None:
            try:
                self.sink(line, VERDICT_STYLE.get(verdict) if verdict is not None else None)
            except (OSError, ValueError):  # stderr gone (closed, a reader that left): the
                self.sink = None  # steps still run and are recorded; printing them cannot stop them

    def check(self, step: str, result: CheckResult) -> None:
        self.step(step, f"{result.name}: {result.message}", result.verdict)
