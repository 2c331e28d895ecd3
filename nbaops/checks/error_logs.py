"""Error logs (every service): ERROR-or-worse Cloud Logging entries in the last window.

Runs per service (and, after a deploy, per revision) through the logs adapter with a
filter that always carries the time window, then counts entries per revision and names
the most frequent messages.

A read the adapter stopped at a bound with the search unfinished (its request cap or the
check's timeout; ``LogEntries.partial``), or that reached ``max_entries``, counted only
some of the entries: it is FAIL "at least N" when N already reaches ``fail_at`` (more
entries cannot make it better), else INCONCLUSIVE with the reason and the count so far,
never PASS or WARN.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.adapters.logs import MAX_PAGES, PAGE_LIMIT, SEVERITIES
from nbaops.checks.measure import Measurement, count_tiers, duration_text
from nbaops.checks.spec import CheckSpec, Key
from nbaops.errors import UsageError
from nbaops.verdict import CheckResult, Finding, Verdict, clip

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

SPEC = CheckSpec(
    id="error_logs",
    service="*",  # once per service
    title="ERROR log entries, last 10m",
    unit="entries",
    keys={
        "window": Key("duration", "10m", "Look-back window for ERROR-or-worse log entries."),
        "warn_at": Key("integer", 1, "This many entries per service is WARN."),
        "fail_at": Key("integer", 10, "This many entries per service is FAIL."),
        "min_severity": Key(
            "text",
            "ERROR",
            "Lowest severity counted (a Cloud Logging severity name, upper or lower case).",
            pattern=f"^({'|'.join([*SEVERITIES, *(s.lower() for s in SEVERITIES)])})$",
            means=f"a Cloud Logging severity ({', '.join(SEVERITIES)})",
        ),
        "max_entries": Key(
            "integer",
            1000,
            f"Most entries read per run (one read makes at most {MAX_PAGES} requests of up "
            f"to {PAGE_LIMIT}).",
            maximum=100_000,
            minimum=1,
        ),
        "top_messages": Key("integer", 5, "How many distinct messages the result names (0: none)."),
    },
    revision_aware=True,
    reads_logs=True,
    playbook="playbooks/error-logs.md",
    ordered=(("warn_at", "fail_at"),),
)

_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "(empty message)"


def message_key(message: str) -> str:
    """Group messages that differ only in numbers (ids, counts, durations)."""
    return _NUMBERS.sub("N", _first_line(message))[:200]


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Count ERROR-or-worse entries of ``params.service`` (optionally one revision)."""
    from nbaops.adapters.logs import build_filter

    if not params.service:
        raise UsageError("error_logs needs a service")
    m = Measurement(ctx, params, SPEC.id, params.service)
    now = clock.now()
    window = params.duration("window")
    severity = params.text("min_severity").upper()
    warn_at, fail_at = params.integer("warn_at"), params.integer("fail_at")
    max_entries = params.integer("max_entries")
    m.threshold = f"FAIL >= {fail_at}, WARN >= {warn_at} entries in {duration_text(window)}"
    filter_ = build_filter(
        since=now - window,
        until=now,
        service=params.service,
        revision=params.revision,
        min_severity=severity,
    )
    entries = m.log_entries(filter_, max_entries)
    count = len(entries)
    truncated = count >= max_entries
    partial = entries.partial
    per_revision = Counter(e.revision or "(unknown)" for e in entries)
    messages: Counter[str] = Counter()
    example: dict[str, str] = {}  # each group shown by its first message, as logged
    for e in entries:
        key = message_key(e.message)
        messages[key] += 1
        example.setdefault(key, _first_line(e.message)[:200])
    top = [
        (example[key], key, n) for key, n in messages.most_common(params.integer("top_messages"))
    ]
    scope = f"{params.service}" + (f" revision {params.revision}" if params.revision else "")
    details: dict[str, Any] = {
        "window": duration_text(window),
        "min_severity": severity,
        "revision": params.revision,
        "per_revision": dict(per_revision.most_common()),
        "top_messages": [{"message": text, "pattern": key, "count": n} for text, key, n in top],
        "truncated": truncated,
        "partial": partial,
    }
    # a read that stopped at a bound (max_entries too) may have left any number unread
    stopped = partial or (f"the read stopped at max_entries ({max_entries})" if truncated else None)
    if stopped is not None and count < max(fail_at, 1):  # (fail_at 0 fails on any entry)
        message = (
            f"cannot tell: {stopped}; {count} {severity}-or-worse entries for {scope} in the "
            f"last {duration_text(window)} so far (FAIL at {fail_at})"
        )
        return m.result(Verdict.INCONCLUSIVE, None, message, details)
    if count == 0:
        return m.result(
            Verdict.PASS,
            0,
            f"no {severity}-or-worse entries for {scope} in the last {duration_text(window)}",
            details,
        )
    verdict = count_tiers(count, fail_at, warn_at)
    amount = f"at least {count}" if truncated or partial else str(count)
    revisions = ", ".join(f"{rev} {n}" for rev, n in per_revision.most_common(3))
    message = (
        f"{amount} {severity}-or-worse entries for {scope} in the last "
        f"{duration_text(window)} ({verdict.value}; by revision: {revisions})"
    )
    if top:  # top_messages 0 names no log text
        message += f'; top: "{clip(top[0][0], 120)}" x{top[0][2]}'
    result = m.result(verdict, count, message, details)
    result.findings = [
        Finding(f"x{n} {text}", verdict is not Verdict.PASS) for text, _key, n in top
    ]
    return result
