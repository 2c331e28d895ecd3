"""One short flag per long flag across every task (nbaops.cli.task.SHORT_FLAGS)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from invoke.collection import Collection
from invoke.loader import FilesystemLoader

from nbaops.cli.task import SHORT_FLAGS

ROOT = Path(__file__).resolve().parents[2]


def _namespace() -> Collection:
    module, _ = FilesystemLoader(start=str(ROOT)).load("tasks")
    return Collection.from_module(module)  # what `inv` itself loads


def _arguments(collection: Collection, prefix: str = "") -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for name, task in collection.tasks.items():
        found[prefix + name] = [tuple(a.names) for a in task.get_arguments()]
    for sub_name, sub in collection.collections.items():
        found.update(_arguments(sub, f"{prefix}{sub_name}."))
    return found


def test_every_long_flag_has_the_same_short_flag_in_every_task() -> None:
    shorts: dict[str, set[str]] = defaultdict(set)
    for names in _arguments(_namespace()).values():
        for long_name, *short in names:
            shorts[long_name].add(short[0] if short else "")
    assert {k: v for k, v in shorts.items() if len(v) != 1} == {}
    assert shorts["debug"] == {"d"} and shorts["json"] == {"j"} and shorts["dry-run"] == {"n"}


def test_every_flag_of_every_task_is_declared() -> None:
    for task, names in _arguments(_namespace()).items():
        for long_name, *_ in names:
            assert long_name.replace("-", "_") in SHORT_FLAGS or long_name == "from", (
                task,
                long_name,
            )
