"""The one verdict vocabulary: PASS, WARN, FAIL, INCONCLUSIVE, ERROR.

Every check returns a :class:`CheckResult` carrying the measured value, the threshold and
the query or call behind it. A check that could not measure is never PASS.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from nbaops.errors import EXIT_FAIL, EXIT_OK, EXIT_UNDETERMINED, first_line


class Verdict(enum.StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"


# Severity order used to combine verdicts: FAIL dominates, then the "could not
# determine" pair, then WARN, then PASS.
_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.WARN: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.ERROR: 3,
    Verdict.FAIL: 4,
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts: any FAIL → FAIL; else ERROR; else INCONCLUSIVE; else WARN; else PASS.

    An empty collection is INCONCLUSIVE: nothing was measured.
    """
    return max(verdicts, key=lambda v: _SEVERITY[v], default=Verdict.INCONCLUSIVE)


def clip(text: str, limit: int = 500) -> str:
    """``text`` at most ``limit`` characters, cut at a word boundary and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def exit_code_for(verdict: Verdict) -> int:
    """Map an overall verdict to the exit-code contract."""
    if verdict is Verdict.FAIL:
        return EXIT_FAIL
    if verdict in (Verdict.ERROR, Verdict.INCONCLUSIVE):
        return EXIT_UNDETERMINED
    return EXIT_OK


@dataclass
class Finding:
    """One measured item of a check (a game, a processor, a model version) as a line."""

    text: str
    problem: bool = False


@dataclass
class CheckResult:
    """One measured check.

    Attributes:
        name: stable check id, e.g. ``lines_coverage``.
        service: the service the check belongs to (or ``"*"`` for all).
        verdict: the verdict.
        value: the measured value (None when nothing could be measured).
        threshold: human-readable thresholds, e.g. ``"FAIL < 90%, WARN < 95%"``.
        message: one sentence a person understands.
        query: the SQL, filter or API call behind the measurement.
        duration_s: wall time of the check.
        bytes_processed: bytes scanned by the warehouse when known.
        details: structured extra data (missing players, per-game rows, ...).
        unit: the unit of ``value`` (``%``, ``min``, ``entries``), shown next to it.
        doc: the page to open, relative to the repository (``docs/playbooks/...``).
        doc_url: the same page as a link when a docs base URL is configured.
        findings: one line per game / service / item measured, ``problem`` marking those
            that caused the verdict (rendered by default; all of them with ``--details``).
    """

    name: str
    service: str
    verdict: Verdict
    value: float | int | str | None
    threshold: str
    message: str
    query: str = ""
    duration_s: float = 0.0
    bytes_processed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    unit: str = ""
    doc: str = ""
    doc_url: str | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def timed(
        cls,
        name: str,
        service: str,
        verdict: Verdict,
        message: str,
        *,
        value: float | int | str | None = None,
        threshold: str = "",
        query: str = "",
        started: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        """A result whose ``duration_s`` runs from ``started`` (a ``time.perf_counter()``) to now.

        Without ``started`` the duration is 0.0 (e.g. a wrapper times the check itself).
        """
        return cls(
            name=name,
            service=service,
            verdict=verdict,
            value=value,
            threshold=threshold,
            message=message,
            query=query,
            duration_s=round(time.perf_counter() - started, 3) if started is not None else 0.0,
            details=details or {},
        )

    @classmethod
    def error(
        cls, name: str, service: str, exc: BaseException, query: str = "", threshold: str = ""
    ) -> CheckResult:
        """An ERROR result for a check that raised; the error text is kept, never PASS.
        ``threshold``: what it would have been judged against (known before it measured)."""
        return cls(
            name=name,
            service=service,
            verdict=Verdict.ERROR,
            value=None,
            threshold=threshold,
            message=clip(first_line(exc, typed=True)),
            query=query,
        )
