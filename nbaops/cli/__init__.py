"""Invoke task modules: thin entry points that parse flags, call one nbaops function and
map its report to an exit code through :func:`nbaops.cli.runner.run`.

Every task module exposes its tasks the same way: a ``ns`` collection, named for a task
family (``inv sandbox.reset``) or unnamed for top-level tasks (``inv deploy``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke.collection import Collection

TASK_MODULES = "services checks drift deploy schema doctor sandbox slack schedule docs regression"


def namespace() -> Collection:
    """Every task of :data:`TASK_MODULES` in one collection (what ``tasks.py`` exposes)."""
    from invoke.collection import Collection

    root = Collection()
    for name in TASK_MODULES.split():
        module_ns: Collection = importlib.import_module(f"nbaops.cli.{name}").ns
        if module_ns.name:
            root.add_collection(module_ns)
        else:
            for task_name, task in module_ns.tasks.items():
                root.add_task(task, task_name)
    return root
