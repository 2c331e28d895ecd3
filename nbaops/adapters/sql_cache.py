"""Transpiled SQL kept on disk, so a warm run never imports SQLGlot.

Loading SQLGlot and transpiling the health checks' queries cost about a second per process;
their results depend only on the query text, the dataset map (and project), SQLGlot's
version and nbaops' own rewrite rules. This cache stores each result as one small JSON
file under ``<state folder>/sql-cache/`` named by the SHA-256 of all of those, so:

- a changed query text, dataset map or project is a different key (never a stale hit);
- upgrading SQLGlot (its ``_version.py`` changes) or editing
  :mod:`nbaops.adapters.sql_dialect`, :mod:`nbaops.adapters.sql_functions` or
  :mod:`nbaops.adapters.sql_qualify` changes every key: the old files are simply unused;
- files are written atomically (temporary file + ``os.replace``), so concurrent processes
  and a crash mid-write leave either no file or a whole one; an unreadable file is a miss.

Failures (SQL that does not parse) are not cached: they are recomputed and raise again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbaops.fsutil import files_digest, write_text_atomic

CACHE_DIR_NAME = "sql-cache"

_FINGERPRINT: str | None = None
_MEMORY: dict[str, Any] = {}
_LOCK = threading.Lock()
_MISS = object()  # no usable file: compute


def fingerprint() -> str:
    """What the cached results depend on besides the key: SQLGlot's version file and the
    rewrite rules' source (the dialect, its functions, the qualification, and the catalog's
    types DuckDB lacks), found without importing SQLGlot."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        spec = importlib.util.find_spec("sqlglot")
        version_file = None
        if spec is not None and spec.submodule_search_locations:
            version_file = str(Path(next(iter(spec.submodule_search_locations))) / "_version.py")
        dialect = Path(__file__).with_name("sql_dialect.py")
        functions = Path(__file__).with_name("sql_functions.py")
        qualify = Path(__file__).with_name("sql_qualify.py")
        catalog = Path(__file__).parent.parent / "table_catalog.py"  # UNHELD_TYPES
        _FINGERPRINT = files_digest(version_file, dialect, functions, qualify, catalog)[:16]
    return _FINGERPRINT


def cache_key(kind: str, *parts: Any) -> str:
    text = json.dumps([kind, fingerprint(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached(
    directory: Path | None, kind: str, parts: tuple[Any, ...], compute: Callable[[], Any]
) -> Any:
    """``compute()``'s JSON-able result for ``(kind, *parts)``: memory, then disk, then computed.

    ``directory`` None keeps the result in memory only.
    """
    key = cache_key(kind, *parts)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    path = directory / f"{key}.json" if directory is not None else None
    value: Any = _MISS
    if path is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            value = json.loads(path.read_text(encoding="utf-8"))["value"]
    if value is _MISS:
        value = compute()
        if path is not None:
            # a read-only or full disk costs the next run a transpile
            with contextlib.suppress(OSError):
                write_text_atomic(path, json.dumps({"value": value}))
    with _LOCK:
        _MEMORY[key] = value
    return value
