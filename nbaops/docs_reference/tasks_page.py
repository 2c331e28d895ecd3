"""``docs/reference/tasks.md``: every invoke task of ``tasks.py`` with its flags.

The namespace is loaded through invoke's own :class:`~invoke.loader.FilesystemLoader` and
:class:`~invoke.collection.Collection`, so it is exactly what ``inv --list`` sees: each
task's docstring and every flag (long and short names, value kind, default and help).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops.docs_reference.markdown import (
    HEADER,
    REGENERATE,
    anchor,
    cell,
    code,
    docstring,
    on_path,
)

if TYPE_CHECKING:
    from invoke.collection import Collection
    from invoke.parser.argument import Argument
    from invoke.tasks import Task

    from nbaops.config import Config


def load_tasks(root: Path) -> Collection:
    """The task namespace of ``root/tasks.py``, loaded the way ``inv`` loads it."""
    from invoke.collection import Collection
    from invoke.loader import FilesystemLoader

    with on_path(root):
        module, _ = FilesystemLoader(start=str(root)).load("tasks")
    return Collection.from_module(module)


def _kind_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def named_tasks(collection: Collection) -> list[tuple[str, Task[Any]]]:
    """Every task of the namespace under the name users type, sorted by it.

    A collection's default task goes by its collection's name (`inv regression`, not
    `inv regression.regression`).
    """
    named = [
        (next((a for a in aliases if name.startswith(f"{a}.")), name), collection[name])
        for name, aliases in collection.task_names.items()
    ]
    return sorted(named, key=lambda pair: pair[0])


def _usage(name: str, flags: list[Argument]) -> str:
    parts = [f"inv {name}"]
    for flag in flags:
        if flag.positional:
            parts.append(flag.names[0].upper())
        elif _kind_name(flag.kind) == "bool":
            parts.append(f"[--{flag.names[0]}]")
        else:
            parts.append(f"[--{flag.names[0]} {flag.names[0].upper().replace('-', '_')}]")
    return " ".join(parts)


def _flag_row(flag: Argument) -> str:
    """``| --long / -s | kind | default | help |``"""
    short = [n for n in flag.names[1:] if len(n) == 1]
    usage = f"--{flag.names[0]}" + (f" / -{short[0]}" if short else "")
    kind = _kind_name(flag.kind)
    if kind == "bool":
        value, default = "—", "on" if flag.default else "off"
    else:
        value, default = kind, "—" if flag.default is None else code(flag.default)
    return f"| `{usage}` | {value} | {cell(default)} | {cell(flag.help or '(no help)')} |"


def page(root: Path, configs: Mapping[str, Config]) -> str:
    """``docs/reference/tasks.md``."""
    tasks = named_tasks(load_tasks(root))
    lines = [
        HEADER.format(cmd=REGENERATE, source="tasks.py (invoke Collection)"),
        "# Task reference",
        "",
        "Every `inv` task, generated from `tasks.py` exactly as `inv --list` loads it. "
        "`inv --help TASK` prints the same help in the terminal. Exit codes are the same "
        "for every task: 0 success (warnings allowed), 1 a check failed, 2 bad "
        "input/usage/config (nothing changed), 3 could not determine "
        "([ADR 0003](../adr/0003-verdicts-and-exit-codes.md)).",
        "",
        "| task | what it does |",
        "| ---- | ------------ |",
    ]
    docs = {name: docstring(task.body) or "(no docstring)" for name, task in tasks}
    lines += [
        f"| [`{name}`](#{anchor(name)}) | {cell(docs[name].splitlines()[0])} |" for name in docs
    ]
    for name, task in tasks:
        flags = task.get_arguments()
        lines += ["", f"## {name}", "", docs[name], "", "```bash", _usage(name, flags), "```", ""]
        if not flags:
            lines.append("No flags.")
            continue
        lines += ["| flag | value | default | help |", "| ---- | ----- | ------- | ---- |"]
        lines += [_flag_row(flag) for flag in flags]
    return "\n".join(lines) + "\n"
