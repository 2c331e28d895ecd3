"""The one-hop map: every task, the nbaops function it calls and the module that holds it.

Read from what :func:`nbaops.cli.task.nbaops_task` records (``calls``) on the tasks of
``tasks.py``, loaded as data the way ``inv`` loads them (:func:`.tasks_page.load_tasks`): the
generator imports nothing from the cli layer. Rendered into ``docs/reference/task-map.md``
and the ``task-map`` block of ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.docs_reference.markdown import HEADER, REGENERATE
from nbaops.docs_reference.tasks_page import load_tasks, named_tasks

if TYPE_CHECKING:
    from invoke.collection import Collection

    from nbaops.config import Config

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TaskHop:
    task: str  # as typed after `inv`
    entry: str  # the task module, e.g. nbaops/cli/deploy.py
    function: str  # the function's name
    module: str  # the file that defines it, e.g. nbaops/deploy/deploy.py


def _file(obj: Any) -> str:
    path = Path(inspect.getfile(obj)).resolve()
    return str(path.relative_to(PACKAGE_ROOT)) if path.is_relative_to(PACKAGE_ROOT) else str(path)


def resolve(dotted: str) -> Any:
    """The object named by ``package.module.name`` (imports the module)."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def task_hops(collection: Collection) -> list[TaskHop]:
    """One row per task of ``collection`` and function it calls, sorted by task name."""
    hops: list[TaskHop] = []
    for name, task in named_tasks(collection):
        entry = _file(inspect.unwrap(task.body))
        for dotted in getattr(task, "calls", ()):
            target = inspect.unwrap(resolve(dotted))
            hops.append(TaskHop(name, entry, target.__name__, _file(target)))
    return hops


def render_table(collection: Collection) -> str:
    """The map as one Markdown table (also filled into ``docs/architecture.md``)."""
    lines = [
        "| task | task module | calls | defined in |",
        "| ---- | ----------- | ----- | ---------- |",
    ]
    lines += [
        f"| `inv {h.task}` | `{h.entry}` | `{h.function}` | `{h.module}` |"
        for h in task_hops(collection)
    ]
    return "\n".join(lines)


def page(root: Path, configs: Mapping[str, Config]) -> str:
    """``docs/reference/task-map.md``."""
    lines = [
        HEADER.format(cmd=REGENERATE, source=__name__),
        "# Task map",
        "",
        "Each task, the one nbaops function it calls and the module holding that function: "
        "a behaviour is one hop from the command that runs it. The task module only parses "
        "flags; `nbaops/cli/task.py` adds `--profile/--json/--debug` and maps the report to "
        "an exit code (`nbaops/cli/runner.py`).",
        "",
        render_table(load_tasks(root)),
    ]
    return "\n".join(lines) + "\n"
