"""The stand-in's request log, ``home/standin-requests.jsonl``: one JSON line per request.

Each line::

    {"time", "method", "path", "query", "body", "api_method", "contract"}

- ``body``: the request's JSON body (None when it had none), secrets redacted (see
  :func:`redact`); a body over :data:`MAX_BODY_CHARS` characters of JSON is replaced by
  ``{"_truncated": true, "chars": N}``.
- ``api_method``: the published method the request matched (``run.projects.locations.
  services.patch``), None for service URLs (health probes) and rejected routes.
- ``contract``: ``"ok"`` (the discovery documents accept it), ``"rejected"`` (answered
  400/404 by the contract check), ``"unavailable"`` (documents not installed) or
  ``"service-url"`` (not a Google API request: a revision's own endpoint).

The file is bounded: when it grows past :data:`MAX_LOG_BYTES` the oldest lines are
dropped (under the request log's own lock, which every append takes too) until half
of that remains.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from nbaops.clock import rfc3339
from nbaops.fsutil import append_jsonl, file_lock, write_text_atomic
from nbaops.local.state_files import read_jsonl
from nbaops.redact import redact as mask_known_secrets

REQUESTS_NAME = "standin-requests.jsonl"
MAX_LOG_BYTES = 2_000_000
MAX_BODY_CHARS = 16_000
REDACTED = "[REDACTED]"

# Keys whose string values are secrets. ``secretKeyRef.secret`` (a Secret Manager
# resource name) and ``secretKeyRef.version`` are references, not secret material.
_SECRET_KEY_RE = re.compile(
    r"(token|password|passwd|private_?key|api_?key|client_?secret|credential|authorization"
    r"|webhook)",
    re.IGNORECASE,
)
_SECRET_ENV_NAME_RE = re.compile(
    r"(token|password|passwd|secret|private_?key|api_?key|credential|webhook)", re.IGNORECASE
)


def log_path(home: Path) -> Path:
    return Path(home) / REQUESTS_NAME


def redact(value: Any, *, parent_key: str = "") -> Any:
    """A copy of a JSON value with secret material replaced by ``[REDACTED]``.

    Redacted: string values under secret-looking keys (``accessToken``, ``password``…),
    the literal ``value`` of an env var whose ``name`` looks secret (``SLACK_TOKEN``), and
    Secret Manager payload ``data``. Secret *references* (``valueSource.secretKeyRef``)
    are kept: they are what the log must show. Every other string is masked as every
    output of nbaops is (:func:`nbaops.redact.redact`: a Slack hook URL, fragments of the
    secrets the process knows), whatever its key is named (``NOTIFY_URL``).
    """
    if isinstance(value, list):
        return [redact(item, parent_key=parent_key) for item in value]
    if isinstance(value, str):
        return mask_known_secrets(value)
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    env_name = value.get("name") if isinstance(value.get("name"), str) else ""
    for key, item in value.items():
        if isinstance(item, str) and (
            _SECRET_KEY_RE.search(key)
            or (key == "value" and env_name and _SECRET_ENV_NAME_RE.search(env_name))
            or (key == "data" and parent_key == "payload")
        ):
            out[key] = REDACTED
        else:
            out[key] = redact(item, parent_key=key)
    return out


def _secret_parameter(name: str) -> bool:
    return bool(_SECRET_KEY_RE.search(name)) or name in ("key", "$key")


def redact_query(query: str) -> str:
    """The query string with secret-looking parameters (``access_token``, ``key``) redacted,
    and known secrets masked in the others (:func:`nbaops.redact.redact`)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    clean = [(k, REDACTED if _secret_parameter(k) else mask_known_secrets(v)) for k, v in pairs]
    if clean == pairs:
        return query
    return urlencode(clean)


def bounded_body(body: Any) -> Any:
    """The redacted body, or a truncation marker when its JSON is too long to keep."""
    if body is None:
        return None
    clean = redact(body)
    text = json.dumps(clean, sort_keys=True)
    if len(text) > MAX_BODY_CHARS:
        return {"_truncated": True, "chars": len(text)}
    return clean


def entry(method: str, path: str, query: str, contract: str) -> dict[str, Any]:
    """A log line for one request (no body, no matched method yet)."""
    return {
        "method": method,
        "path": path,
        "query": redact_query(query),
        "time": rfc3339(dt.datetime.now(dt.UTC)),
        "body": None,
        "api_method": None,
        "contract": contract,
    }


def check_and_record(
    home: Path,
    method: str,
    path: str,
    query: str,
    body: Callable[[], Any] | None = None,
    *,
    log_body: bool = True,
    logged_as: tuple[str, str] | None = None,
) -> None:
    """Check one Google API request against the discovery documents; log it either way.

    ``body`` parses the request's body (and may refuse it); ``log_body`` False keeps a
    body that carries credentials out of the log; ``logged_as`` is the (method, path) a
    request that is not REST (gRPC) is logged under.

    Raises:
        StandInApiError: the body does not parse or the contract rejects the request
            (``contract`` is logged as ``"rejected"``).
    """
    from nbaops.local import discovery

    line = entry(*(logged_as or (method, path)), query, contract="rejected")
    try:
        parsed = body() if body is not None else None
        if log_body:
            line["body"] = bounded_body(parsed)
        contract = discovery.standin_contract()
        if contract is None:
            line["contract"] = "unavailable"
        else:
            line["api_method"] = contract.validate(method, path, query, parsed).id
            line["contract"] = "ok"
    finally:
        record(home, line)


def _log_lock(home: Path) -> contextlib.AbstractContextManager[None]:
    """The request log's own lock (not the stand-in's, which a sandbox build holds for
    seconds): an append waits only for a trim, and a trim never drops a request another
    process appended while it copied the file."""
    return file_lock(Path(home) / ".standin-requests.lock")


def record(home: Path, entry: dict[str, Any]) -> None:
    """Append one request (already shaped as in the module docstring); trim when too big."""
    path = log_path(home)
    with _log_lock(home):
        append_jsonl(path, [entry])
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return
    if size > MAX_LOG_BYTES:
        trim(home)


def trim(home: Path, max_bytes: int = MAX_LOG_BYTES) -> None:
    """Drop the oldest lines until the log is at most half of ``max_bytes``."""
    path = log_path(home)
    with _log_lock(home):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept: list[str] = []
        total = 0
        for line in reversed(lines):
            total += len(line.encode("utf-8"))
            if total > max_bytes // 2:
                break
            kept.append(line)
        write_text_atomic(path, "".join(reversed(kept)))


def read(home: Path) -> list[dict[str, Any]]:
    """Every logged request, oldest first."""
    return read_jsonl(log_path(home))
