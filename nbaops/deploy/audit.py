"""Audit rows in ``nba_ops.deploys``: one per deploy, rollback or force-unlock attempt.

Callers build an :class:`AuditRecord` when an attempt starts and :func:`write` it in a
``finally`` block, so a failure midway or a Ctrl-C still leaves a row. If the warehouse
write fails, the row is appended to a spool file under the state folder
(``deploy-audit-spool.jsonl``) and retried once a later row is written (and by
``inv deploys``): an audit row is never lost, and one the warehouse rejects stays
spooled without holding back the others (:func:`flush_spool`). Rows carry a unique
``deploy_id``; readers deduplicate on it, so a retry after an ambiguous failure cannot
double count. A spool line no reader can decode (torn by a kill mid-append, hand-edited)
is not dropped when the spool is rewritten: it is moved to ``deploy-audit-unreadable.jsonl``
beside it, and one warning line says where.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.errors import first_line
from nbaops.fsutil import file_lock, write_text_atomic
from nbaops.stdio import stderr_line

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.verdict import CheckResult

TABLE = "nba_ops.deploys"
SPOOL_NAME = "deploy-audit-spool.jsonl"
UNREADABLE_NAME = "deploy-audit-unreadable.jsonl"  # spool lines no reader could decode
OUTCOMES = (
    "success",
    "rolled_back",
    "held",
    "failed",
    "rollback_failed",
    "refused",
    "interrupted",
    "planned",
)
_TIME_FIELDS = ("started_at", "finished_at")


def new_deploy_id(service: str) -> str:
    """A unique, sortable id: ``<service>-<UTC yyyymmddThhmmss>-<6 hex>``, at most 63
    characters: a deploy's id is also its revision's ``nbaops-deploy-id`` label, and a
    label value holds at most 63 (Cloud Run takes only valid Google Cloud labels:
    https://cloud.google.com/run/docs/configuring/services/labels, whose rules are
    https://cloud.google.com/resource-manager/docs/creating-managing-labels), so a long
    service name is shortened, never the stamp and the hex that make the id unique (cut
    to 63, the ids of a 50-character service's deploys within ten minutes were one)."""
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    suffix = f"-{stamp}-{uuid.uuid4().hex[:6]}"
    return service[: 63 - len(suffix)].rstrip("-") + suffix


@dataclass
class AuditRecord:
    """One attempt. Fields mirror ``schemas/nba_ops/deploys.json``."""

    deploy_id: str
    service: str
    action: str  # deploy, rollback, force-unlock
    actor: str
    profile: str
    started_at: dt.datetime = field(default_factory=clock.now)
    finished_at: dt.datetime | None = None
    commit_sha: str | None = None
    image: str | None = None
    revision_before: str | None = None
    revision_after: str | None = None
    canary_percent: int | None = None
    model_version: str | None = None
    dry_run: bool = False
    outcome: str = "failed"  # pessimistic until the attempt says otherwise
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    duration_s: float | None = None

    def add(self, step: str, result: CheckResult) -> None:
        """Record one step's verdict and reason."""
        self.verdicts.append(
            {
                "step": step,
                "check": result.name,
                "verdict": result.verdict.value,
                "message": result.message[:500],
            }
        )

    def note(self, step: str, verdict: str, message: str) -> None:
        self.verdicts.append({"step": step, "check": step, "verdict": verdict, "message": message})

    def finish(self, outcome: str, message: str | None = None) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.outcome = outcome
        if message is not None:
            self.message = message[:2000]
        self.finished_at = clock.now()
        self.duration_s = round((self.finished_at - self.started_at).total_seconds(), 3)

    def to_row(self) -> dict[str, Any]:
        """The row, every text redacted (a check message may quote a log line that holds
        a token: the audit table and its spool are read by many)."""
        from nbaops.redact import redact_tree

        row = {**asdict(self), "verdicts": json.dumps(self.verdicts, sort_keys=True)}
        return redact_tree(row)  # type: ignore[return-value]


# ------------------------------------------------------------------------- the spool


def spool_path(home: Path) -> Path:
    return home / SPOOL_NAME


def _spool_lock(home: Path) -> contextlib.AbstractContextManager[None]:
    return file_lock(home / f".{SPOOL_NAME}.lock", mode=0o600)


def _append_private(path: Path, text: str) -> None:
    """Append ``text`` (whole lines) to ``path``, fsynced; ``path`` is created 0600 like
    the spool's lock: audit rows name actors, services and commits, not for every local
    user to read.

    A process killed while appending leaves a last line without its newline; ``text`` then
    starts on a line of its own, or it would be glued to that fragment and lost with it
    (undecodable lines are skipped).
    """
    with os.fdopen(os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600), "a+b") as handle:
        size = handle.seek(0, os.SEEK_END)  # appends go to the end whatever the position
        cut = False
        if size:
            handle.seek(size - 1)
            cut = handle.read(1) != b"\n"
        handle.write((("\n" if cut else "") + text).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def _encode(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=dt.datetime.isoformat)


def _decode(line: str) -> dict[str, Any]:
    """One spooled row. ValueError, the line skipped like a torn one, for a line that is
    no row: not JSON, a JSON value that is no object, a column that is an array or object
    (every column is a scalar; ``verdicts`` is JSON text), a ``duration_s`` that is no
    number, a time that is no ISO 8601 text (a hand-edited spool). A time without an
    offset is UTC (:func:`nbaops.clock.as_utc`), as the rows' readers compare it with
    aware times."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object: {line[:80]}")
    if any(isinstance(value, list | dict) for value in data.values()):
        raise ValueError(f"a column is an array or object: {line[:80]}")
    if not isinstance(data.get("duration_s"), int | float | None):
        raise ValueError(f"duration_s: not a number: {data['duration_s']!r}")
    for key in _TIME_FIELDS:
        if data.get(key):
            if not isinstance(data[key], str):
                raise ValueError(f"{key}: not a timestamp: {data[key]!r}")
            data[key] = clock.as_utc(data[key])
    return data


def spool(home: Path, row: dict[str, Any]) -> None:
    """Append a row to the local spool (fsynced; on a line of its own: :func:`_append_private`)."""
    with _spool_lock(home):
        _append_private(spool_path(home), _encode(row) + "\n")


def spooled_rows(home: Path) -> list[dict[str, Any]]:
    return _read_spool(home)[0]


def _read_spool(home: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The spool's rows, and its lines that are no row (:func:`_decode`), in file order."""
    path = spool_path(home)
    if not path.exists():
        return [], []
    rows, unreadable = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(_decode(line))
            except ValueError:
                unreadable.append(line)
    return rows, unreadable


def _set_aside(home: Path, lines: list[str]) -> None:
    """Append the spool's unreadable ``lines`` to :data:`UNREADABLE_NAME` (fsynced) before
    the spool is rewritten without them, and say so in one line on stderr. A line already
    there (a flush killed before its rewrite) is neither appended nor reported again."""
    path = home / UNREADABLE_NAME
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = [line for line in lines if line not in text.splitlines()]
    if not new:
        return
    _append_private(path, "".join(line + "\n" for line in new))
    stderr_line(  # the state folder's path is the operator's: escaped, as every line
        f"nbaops: {len(new)} unreadable line(s) of the deploy audit spool kept in {path} "
        "(not written to nba_ops.deploys)"
    )


def flush_spool(ctx: Context, *, reachable: bool = False) -> int:
    """Retry spooled rows; returns how many were written (the rest stay spooled).

    All in one insert; when the warehouse refuses it, row by row, so one row it rejects
    does not keep the others spooled forever: the rows it refuses stay spooled, still
    listed by ``inv deploys``. Unless the warehouse has just taken a row (``reachable``),
    a first row refused stops the pass (the warehouse may be down) and goes to the end of
    the spool, so the next pass starts with another. Never raises for a warehouse failure.
    A line that is no row is moved to :data:`UNREADABLE_NAME` first (:func:`_set_aside`),
    never dropped with the rewrite.
    """
    home = ctx.home
    if not spool_path(home).exists():
        return 0
    with _spool_lock(home):
        rows, unreadable = _read_spool(home)
        if unreadable:  # kept elsewhere first: the rewrite below drops them from the spool
            _set_aside(home, unreadable)
        kept: list[dict[str, Any]] = []
        if rows:
            try:
                ctx.warehouse.insert_rows(TABLE, rows)
            except Exception:  # a row rejected, or the warehouse unreachable: one by one
                kept = _insert_each(ctx, rows, reachable)
        if not kept:
            spool_path(home).unlink(missing_ok=True)
        elif kept != rows or unreadable:  # rows written or reordered, or lines set aside
            write_text_atomic(spool_path(home), "".join(_encode(r) + "\n" for r in kept))
        return len(rows) - len(kept)


def _insert_each(ctx: Context, rows: list[dict[str, Any]], reachable: bool) -> list[dict[str, Any]]:
    """Insert the rows one at a time; returns those not written, in spool order."""
    kept: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        try:
            ctx.warehouse.insert_rows(TABLE, [row])
        except Exception:
            if index == 0 and not reachable:  # maybe down: stop, this row last
                return [*rows[1:], row]
            kept.append(row)
    return kept


def write(ctx: Context, record: AuditRecord) -> str | None:
    """Write the row to ``nba_ops.deploys``; spool it locally if that fails.

    Returns None when the row was written (the spool is then retried), else why it was
    spooled. Never raises (except KeyboardInterrupt): losing the row is the one thing it
    must not do.
    """
    row = record.to_row()
    try:
        ctx.warehouse.insert_rows(TABLE, [row])
    except Exception as exc:  # any failure (warehouse, sandbox, bug) means: spool the row
        error = first_line(exc, typed=True)[:300]
        try:
            spool(ctx.home, row)
        except OSError as spool_exc:  # last resort: the row goes to stderr, never nowhere
            stderr_line(f"nbaops: audit row could not be stored: {_encode(row)}")
            return f"{error}; spool failed: {spool_exc}"
        return error
    with contextlib.suppress(Exception):  # they stay spooled for the next time
        flush_spool(ctx, reachable=True)
    return None


def write_noting(ctx: Context, record: AuditRecord, notes: list[str]) -> str | None:
    """:func:`write`, and when the row had to be spooled, say so in the report's ``notes``."""
    error = write(ctx, record)
    if error is not None:
        notes.append(f"audit row spooled locally, retried next time ({error})")
    return error


ROW_OUTCOME_SQL = """
SELECT outcome
FROM `nba_ops.deploys`
WHERE started_at >= @since AND deploy_id = @deploy_id
ORDER BY finished_at DESC
LIMIT 1
"""


def row_outcome(ctx: Context, deploy_id: str, started: dt.datetime) -> str | None:
    """The outcome an attempt's row records (warehouse or local spool); None: no row.

    Recovery asks before writing an interrupted deploy's row, so a deploy that wrote its
    row and then died before releasing its lease is neither counted twice nor undone. An
    unreachable warehouse answers None (a duplicate is harmless: readers deduplicate on
    deploy_id).
    """
    for row in spooled_rows(ctx.home):
        if row.get("deploy_id") == deploy_id:
            return str(row.get("outcome"))
    try:
        result = ctx.warehouse.query(
            ROW_OUTCOME_SQL,
            {"since": started - dt.timedelta(days=1), "deploy_id": deploy_id},
        )
    except Exception:
        return None
    return str(result.rows[0]["outcome"]) if result.rows else None
