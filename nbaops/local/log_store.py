"""The stand-in's Cloud Logging store and the filter subset nbaops uses.

File ``home/logs.jsonl``: one Cloud Logging ``LogEntry`` (REST JSON) per line, e.g.::

    {"logName": "projects/P/logs/run.googleapis.com%2Fstderr",
     "resource": {"type": "cloud_run_revision",
                  "labels": {"service_name": "grading-service",
                             "revision_name": "grading-service-00002-abc",
                             "location": "us-west2", "project_id": "P"}},
     "severity": "ERROR",                      # DEFAULT … EMERGENCY
     "timestamp": "2024-11-25T15:00:00.000000Z",   # datetime or ISO accepted, stored Z
     "insertId": "…",                          # filled in when missing
     "textPayload": "…"}                       # or "jsonPayload": {...}

``append_entries(home, entries)`` appends (under the stand-in lock). ``entries:list``
supports filters made of clauses joined by ``AND``: ``resource.type``,
``resource.labels.service_name``, ``resource.labels.revision_name``,
``resource.labels.location``, ``logName``, ``severity`` and ``timestamp`` with the
operators ``=``, ``!=``, ``>=``, ``<=``, ``>``, ``<``; anything else is rejected with 400.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nbaops.clock import as_utc, rfc3339
from nbaops.fsutil import append_jsonl, jsonl, write_text_atomic
from nbaops.local import paging
from nbaops.local.state_files import locked, read_jsonl

LOG_NAME = "logs.jsonl"
DEFAULT_PROJECT = "nbaops-local"
DEFAULT_LOG = "run.googleapis.com%2Fstderr"

SEVERITY_RANK = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}

_CLAUSE_RE = re.compile(r"^\s*([A-Za-z_.]+)\s*(>=|<=|!=|=|>|<)\s*(.+?)\s*\Z")
_FIELDS = {
    "resource.type",
    "resource.labels.service_name",
    "resource.labels.revision_name",
    "resource.labels.location",
    "resource.labels.project_id",
    "logName",
    "severity",
    "timestamp",
}


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class FilterError(ValueError):
    """The filter uses syntax the stand-in does not support."""


def log_path(home: Path) -> Path:
    return home / LOG_NAME


def append_entries(home: Path, entries: Sequence[dict[str, Any]]) -> None:
    """Append Cloud Logging entries (REST JSON shape); ``insertId`` is filled if missing."""
    records = _records(entries)
    with locked(home):
        append_jsonl(log_path(home), records)


def replace_entries(home: Path, entries: Sequence[dict[str, Any]]) -> None:
    """Replace every stored entry with ``entries`` (a sandbox refresh), atomically: a
    reader in another process sees the old store or the new one, never none or a part
    (a store emptied for the rewrite read as "no ERROR entries": a false PASS)."""
    text = jsonl(_records(entries))
    with locked(home):
        write_text_atomic(log_path(home), text, mode=0o644)


def _records(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries as stored: ``insertId``, ``severity`` and ``logName`` filled in, the
    timestamp as RFC 3339 UTC."""
    records = []
    for entry in entries:
        record = dict(entry)
        record.setdefault("insertId", uuid.uuid4().hex[:16])
        record.setdefault("severity", "DEFAULT")
        if "logName" not in record:
            labels = (record.get("resource") or {}).get("labels") or {}
            project = labels.get("project_id") or DEFAULT_PROJECT
            record["logName"] = f"projects/{project}/logs/{DEFAULT_LOG}"
        if "timestamp" not in record:
            raise ValueError("log entry needs a timestamp")
        stamp = record["timestamp"]
        # the client parses only RFC 3339 UTC with a Z
        if isinstance(stamp, dt.datetime):
            record["timestamp"] = rfc3339(stamp)
        else:
            record["timestamp"] = _stored_timestamp(str(stamp))
        records.append(record)
    return records


_FRACTION = re.compile(r"\.(\d+)")


def epoch_nanos(stamp: str) -> int:
    """An RFC 3339 timestamp in nanoseconds since the epoch: Cloud Logging keeps up to 9
    fraction digits (``LogEntry.timestamp``), where a datetime holds 6.

    Raises:
        ValueError: not a timestamp.
    """
    match = _FRACTION.search(stamp)
    fraction = int(match.group(1)[:9].ljust(9, "0")) if match else 0
    whole = as_utc(_FRACTION.sub("", stamp, count=1))
    return (whole - _EPOCH) // dt.timedelta(seconds=1) * 10**9 + fraction


def _stored_timestamp(stamp: str) -> str:
    """``stamp`` as RFC 3339 UTC: 6 fraction digits, 9 when it has nanoseconds."""
    nanos = epoch_nanos(stamp)
    when = _EPOCH + dt.timedelta(microseconds=nanos // 1000)
    if nanos % 1000 == 0:
        return rfc3339(when)
    return f"{rfc3339(when)[:-8]}.{nanos % 10**9:09d}Z"


# The parsed log file, kept while the file is unchanged: one health run lists entries once
# per service, and parsing every line again for each request cost ~10 ms a request.
_PARSED: dict[Path, tuple[tuple[int, int, int], list[dict[str, Any]]]] = {}
_PARSED_LOCK = threading.Lock()


def read_entries(home: Path) -> list[dict[str, Any]]:
    """Every stored entry (parsed once per version of the file: treat them as read-only).

    Requests that arrive together wait for one parse (the lock is held across it).
    """
    path = log_path(home)
    with _PARSED_LOCK:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = _PARSED.get(path)
        if cached is None or cached[0] != version:
            cached = _PARSED[path] = (version, read_jsonl(path))
        return cached[1]


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _split_and(filter_: str) -> list[str]:
    """Split on top-level AND (and newlines), dropping redundant outer parentheses."""
    text = filter_.strip()
    clauses: list[str] = []
    for part in re.split(r"\s+AND\s+|\n+", text):
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        if part:
            if " OR " in part or part.startswith("NOT ") or "(" in part:
                raise FilterError(f"unsupported filter clause: {part!r}")
            clauses.append(part)
    return clauses


def _get(entry: dict[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return op == "!="
    return bool(_OPERATORS[op](left, right))


def _severity_rank(entry: dict[str, Any]) -> int:
    return SEVERITY_RANK.get(str(entry.get("severity", "DEFAULT")), 0)


def _timestamp(entry: dict[str, Any]) -> int:
    return epoch_nanos(str(entry["timestamp"]))


def position(entry: dict[str, Any], *, desc: bool) -> tuple[int, str]:
    """Where ``entry`` sorts in ``entries:list``: by timestamp to the nanosecond
    (descending with ``desc``), equal timestamps by ``insertId`` (logging.v2 ``orderBy``:
    "Entries with equal timestamps are returned in order of their insert_id values").
    Used as the page cursor too.
    """
    nanos = _timestamp(entry)
    return (-nanos if desc else nanos, str(entry.get("insertId", "")))


def next_page_token(last: dict[str, Any], scope: str) -> str:
    """The ``entries:list`` page token after ``last``: a cursor (its timestamp and
    ``insertId``) bound to ``scope``, the digest of filter, orderBy and resourceNames."""
    after = [str(last["timestamp"]), str(last.get("insertId", ""))]
    return paging.encode_token({"after": after, "scope": scope})


def first_page_token(scope: str) -> str:
    """A token for the first page again (bound to ``scope``): what a page with no entries
    answers to a first request (the ``logging-empty-pages`` fault), so the search continues
    where it was, at the start."""
    return paging.encode_token({"after": None, "scope": scope})


def page_cursor(token: str, scope: str, *, desc: bool) -> tuple[int, str] | None:
    """The :func:`position` a :func:`next_page_token` token continues strictly after;
    None for the first page (no token, or a :func:`first_page_token`).

    Raises:
        StandInApiError: 400 ``INVALID_ARGUMENT`` for a token not issued for this filter,
            order and resourceNames.
    """
    if not token:
        return None
    fields = paging.decode_token(token)
    after = fields.get("after")
    mismatch = "The page token does not belong to this filter, orderBy and resourceNames."
    if fields.get("scope") == scope and "after" in fields and after is None:
        return None
    if fields.get("scope") != scope or not (
        isinstance(after, list) and len(after) == 2 and all(isinstance(a, str) for a in after)
    ):
        raise paging.invalid_field("page_token", mismatch)
    try:
        return position({"timestamp": after[0], "insertId": after[1]}, desc=desc)
    except ValueError as exc:
        raise paging.invalid_field("page_token", mismatch) from exc


def compile_filter(filter_: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for ``filter_`` (the supported subset); FilterError otherwise."""
    tests: list[tuple[str, Callable[[dict[str, Any]], Any], Any]] = []  # (op, read, value)
    for clause in _split_and(filter_ or ""):
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise FilterError(f"unsupported filter clause: {clause!r}")
        field, op, raw = match.groups()
        if field not in _FIELDS:
            raise FilterError(f"unsupported filter field: {field!r}")
        value: Any = _unquote(raw)
        if field == "severity":
            if value.upper() not in SEVERITY_RANK:
                raise FilterError(f"unknown severity {value!r}")
            value = SEVERITY_RANK[value.upper()]
            read: Callable[[dict[str, Any]], Any] = _severity_rank
        elif field == "timestamp":
            try:
                value = epoch_nanos(value)
            except ValueError as exc:
                raise FilterError(f"invalid timestamp {value!r}") from exc
            read = _timestamp
        else:
            read = functools.partial(_get, path=field)
        tests.append((op, read, value))
    return lambda entry: all(_compare(op, read(entry), value) for op, read, value in tests)


def query(
    home: Path,
    filter_: str,
    *,
    order_desc: bool = True,
    projects: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Entries matching ``filter_`` (copies), sorted by timestamp (newest first by default),
    then by ``insertId`` (:func:`position`); with ``projects``, only theirs (and entries
    that name no project), none when it is empty: a request naming only organizations,
    folders or billing accounts reads their own logs, of which the stand-in keeps none."""
    predicate = compile_filter(filter_)
    matched = [dict(e) for e in read_entries(home) if predicate(e)]
    if projects is not None:
        kept = {None, *projects} if projects else set()
        matched = [e for e in matched if _get(e, "resource.labels.project_id") in kept]
    matched.sort(key=functools.partial(position, desc=order_desc))
    return matched
