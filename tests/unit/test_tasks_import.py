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


def test_the_collections_copy_of_a_task_owns_its_flag_lists_and_help() -> None:
    """Invoke deep-copies each task of ``ns`` into the collection it runs; ours copies only
    what can change (the flag lists and help), so a change to one copy never reaches the
    other, while the functions and signature are shared (they never change)."""
    import copy

    from nbaops.cli import namespace

    original = next(iter(namespace().tasks.values()))
    clone = copy.deepcopy(original)
    assert clone is not original and clone.body is original.body
    assert clone.help == original.help and clone.help is not original.help
    assert clone.positional is not original.positional
    clone.help["profile"] = "changed"
    clone.positional.append("x")
    assert original.help["profile"] != "changed" and "x" not in original.positional
