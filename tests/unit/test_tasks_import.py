"""`inv --list` stays fast: loading tasks.py imports no Google client, DuckDB or SQLGlot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from invoke.loader import FilesystemLoader
from invoke.collection import Collection
module, _ = FilesystemLoader(start={root!r}).load("tasks")
ns = Collection.from_module(module)
heavy = sorted(m for m in sys.modules
               if m.startswith(("google.cloud", "google.api_core", "grpc", "duckdb", "sqlglot")))
print(json.dumps({{"tasks": sorted(ns.task_names), "heavy": heavy}}))
"""


def test_loading_the_task_namespace_imports_no_heavy_client() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "deploy" in probe["tasks"] and "system-health" in probe["tasks"]
    assert probe["heavy"] == []
