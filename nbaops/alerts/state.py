"""Alert deduplication: which results alert now, which are suppressed, which recovered.

Rules (per check and service, the *key*):

- A FAIL or ERROR alerts when the key is not already alerting, when its verdict changed
  (ERROR → FAIL), or when the last alert is at least ``suppression_interval`` old.
  Otherwise it is suppressed.
- A PASS or WARN on an alerting key is a recovery ("recovered" message when
  ``recovery_messages`` is on); the key stops alerting either way.
- INCONCLUSIVE changes nothing: it neither alerts nor recovers.
- State is written only after a delivery succeeded, so a FAIL/ERROR whose alert could
  not be delivered alerts again on the next run: every FAIL/ERROR alerts at least once.

Where the state lives:

- **local**: ``<state folder>/alerts/state.json`` (atomic replace).
- **prod**: the history table itself. Every delivered alert or recovery is recorded as a
  ledger row in ``nba_ops.check_results`` with ``check_name = "alert:<check>"``,
  ``verdict`` = the verdict alerted on (FAIL/ERROR) or recovered with (PASS/WARN), and
  ``value`` NULL (so it never enters anomaly statistics). Loading reads only the last
  ``2 × suppression_interval + 1 day`` of partitions: an alerting key is re-alerted at
  least once per interval while its check keeps running, so its latest ledger row is
  always inside that window. Scheduled runs (GitHub Actions, Cloud Scheduler) share it
  with no extra infrastructure and no file on an ephemeral runner.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nbaops.clock import as_utc
from nbaops.fsutil import file_lock, read_regular, write_json_atomic
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.adapters.warehouse import Warehouse
    from nbaops.context import Context

# The local state file holds one mark per check and service (a few hundred bytes each);
# read_regular reads at most this much, and never a FIFO or a device.
MAX_STATE_BYTES = 16 * 1024 * 1024
FAILING = (Verdict.FAIL, Verdict.ERROR)
PASSING = (Verdict.PASS, Verdict.WARN)
LEDGER_PREFIX = "alert:"
HISTORY_TABLE = "nba_ops.check_results"
# Bounded by the partition column (run_at): cost tracks the window, not the history.
LEDGER_SQL = """SELECT check_name, service, verdict, run_at
FROM `nba_ops.check_results`
WHERE run_at >= @since AND run_at <= @now
  AND profile = @profile
  AND STARTS_WITH(check_name, @prefix)"""


def key_of(check: str, service: str) -> str:
    return f"{check}@{service}"


@dataclass(frozen=True)
class Mark:
    """The last delivered alert of one key."""

    check: str
    service: str
    verdict: str  # FAIL/ERROR when alerting; PASS/WARN once recovered
    at: dt.datetime

    @property
    def key(self) -> str:
        return key_of(self.check, self.service)

    @property
    def alerting(self) -> bool:
        return self.verdict in FAILING


@dataclass
class Plan:
    alerts: list[CheckResult] = field(default_factory=list)
    recoveries: list[CheckResult] = field(default_factory=list)
    silent_recoveries: list[CheckResult] = field(default_factory=list)  # recovery messages off
    suppressed: list[CheckResult] = field(default_factory=list)


def plan(
    results: Sequence[CheckResult],
    marks: dict[str, Mark],
    now: dt.datetime,
    *,
    suppression: dt.timedelta,
    recovery_messages: bool,
) -> Plan:
    """Decide, for one run, which results alert, recover or are suppressed."""
    out = Plan()
    for result in results:
        mark = marks.get(key_of(result.name, result.service))
        if result.verdict in FAILING:
            if (
                mark is None
                or not mark.alerting
                or mark.verdict != result.verdict.value
                # a mark from the future (the clock went back, or a run with a pinned
                # future clock) is no recent alert: it must not silence this one for days
                or not dt.timedelta(0) <= now - mark.at < suppression
            ):
                out.alerts.append(result)
            else:
                out.suppressed.append(result)
        elif result.verdict in PASSING and mark is not None and mark.alerting:
            (out.recoveries if recovery_messages else out.silent_recoveries).append(result)
    return out


def marks_for(results: Iterable[CheckResult], now: dt.datetime) -> list[Mark]:
    return [Mark(r.name, r.service, r.verdict.value, now) for r in results]


class StateStore(Protocol):
    where: str

    def load(self, now: dt.datetime, suppression: dt.timedelta) -> dict[str, Mark]: ...

    def save(self, marks: Sequence[Mark], *, run_id: str, profile: str) -> None: ...


class FileStateStore:
    """Local profile: one JSON document under the state folder."""

    def __init__(self, home: Path) -> None:
        self.path = home / "alerts" / "state.json"
        self.where = str(self.path)

    def _read(self) -> dict[str, Any]:
        try:
            raw, _size = read_regular(self.path, MAX_STATE_BYTES)
            # missing, damaged, too large or not a file: alerting again is safe (the next
            # save replaces it)
            data = json.loads(raw) if len(raw) <= MAX_STATE_BYTES else {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, now: dt.datetime, suppression: dt.timedelta) -> dict[str, Mark]:
        marks: dict[str, Mark] = {}
        for key, body in self._read().items():
            try:
                fields = {k: str(body[k]) for k in ("check", "service", "verdict")}
                mark = Mark(**fields, at=as_utc(str(body["at"])))  # no offset: UTC
            except (KeyError, TypeError, ValueError):
                continue
            if mark.at <= now:  # as the warehouse ledger reads only rows up to now
                marks[key] = mark
        return marks

    def save(self, marks: Sequence[Mark], *, run_id: str, profile: str) -> None:
        if not marks:
            return
        # read-modify-write: two local runs at once must not drop each other's marks
        with file_lock(self.path.with_name("state.json.lock")):
            data = self._read()
            for mark in marks:
                data[mark.key] = {**asdict(mark), "at": mark.at.isoformat(), "run_id": run_id}
            write_json_atomic(self.path, data)


class WarehouseStateStore:
    """Prod profile: ledger rows in the check-results history table (see module doc)."""

    def __init__(self, warehouse: Warehouse, profile: str) -> None:
        self.warehouse = warehouse
        self.profile = profile
        self.where = f"{HISTORY_TABLE} ({LEDGER_PREFIX}* rows)"

    def load(self, now: dt.datetime, suppression: dt.timedelta) -> dict[str, Mark]:
        since = now - (2 * suppression + dt.timedelta(days=1))
        result = self.warehouse.query(
            LEDGER_SQL,
            {"since": since, "now": now, "profile": self.profile, "prefix": LEDGER_PREFIX},
        )
        marks: dict[str, Mark] = {}
        for row in result.rows:
            check = str(row["check_name"])[len(LEDGER_PREFIX) :]
            mark = Mark(check, str(row["service"]), str(row["verdict"]), as_utc(row["run_at"]))
            current = marks.get(mark.key)
            if current is None or mark.at >= current.at:
                marks[mark.key] = mark
        return marks

    def save(self, marks: Sequence[Mark], *, run_id: str, profile: str) -> None:
        if not marks:
            return
        rows = [
            {
                "run_id": run_id,
                "run_at": mark.at,
                "profile": profile,
                "git_commit": None,
                "check_name": f"{LEDGER_PREFIX}{mark.check}",
                "service": mark.service,
                "verdict": mark.verdict,
                "value": None,
                "threshold": None,
                "message": "recovery delivered" if not mark.alerting else "alert delivered",
                "duration_s": None,
                "bytes_processed": None,
                "anomaly": None,
            }
            for mark in marks
        ]
        self.warehouse.insert_rows(HISTORY_TABLE, rows)


def open_state(ctx: Context) -> StateStore:
    """The profile's state store: a file for local, the history table for prod."""
    if ctx.is_local:
        return FileStateStore(ctx.home)
    return WarehouseStateStore(ctx.warehouse, ctx.profile)
