"""``docs/reference/tasks.md``: every invoke task of ``tasks.py`` with its flags.

The namespace is loaded through invoke's own :class:`~invoke.loader.FilesystemLoader` and
:class:`~invoke.collection.Collection`, so it is exactly what ``inv --list`` sees: each
task's docstring and every flag (long and short names, value kind, default and help).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    from nbaops.config import Config


@dataclass(frozen=True)
class FlagDoc:
    names: tuple[str, ...]
    kind: str
    default: Any
    help: str
    positional: bool

    @property
    def usage(self) -> str:
        long, short = self.names[0], [n for n in self.names[1:] if len(n) == 1]
        text = f"--{long}"
        if short:
            text += f" / -{short[0]}"
        return text


@dataclass(frozen=True)
class TaskDoc:
    name: str
    doc: str
    flags: tuple[FlagDoc, ...]


def load_tasks(root: Path) -> Collection:
    """The task namespace of ``root/tasks.py``, loaded the way ``inv`` loads it."""
    from invoke.collection import Collection
    from invoke.loader import FilesystemLoader

    with on_path(root):
        module, _ = FilesystemLoader(start=str(root)).load("tasks")
    return Collection.from_module(module)


def _kind_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def task_docs(collection: Collection) -> list[TaskDoc]:
    """Every task of the namespace, sorted by its dotted name."""
    out: list[TaskDoc] = []
    for name, aliases in sorted(collection.task_names.items()):
        task = collection[name]
        # A collection's default task is documented under the name users type
        # (`inv regression`, not `inv regression.regression`).
        shown = next((a for a in aliases if name.startswith(f"{a}.")), name)
        flags = tuple(
            FlagDoc(
                names=tuple(arg.names),
                kind=_kind_name(arg.kind),
                default=arg.default,
                help=arg.help or "",
                positional=bool(arg.positional),
            )
            for arg in task.get_arguments()
        )
        out.append(TaskDoc(name=shown, doc=docstring(task.body), flags=flags))
    return sorted(out, key=lambda t: t.name)


def _usage(task: TaskDoc) -> str:
    parts = [f"inv {task.name}"]
    for flag in task.flags:
        if flag.positional:
            parts.append(flag.names[0].upper())
        elif flag.kind == "bool":
            parts.append(f"[--{flag.names[0]}]")
        else:
            parts.append(f"[--{flag.names[0]} {flag.names[0].upper().replace('-', '_')}]")
    return " ".join(parts)


def _default_text(flag: FlagDoc) -> str:
    if flag.kind == "bool":
        return "off" if not flag.default else "on"
    return "—" if flag.default is None else code(flag.default)


def render_tasks(tasks: Sequence[TaskDoc]) -> str:
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
    for task in tasks:
        first = task.doc.splitlines()[0] if task.doc else "(no docstring)"
        lines.append(f"| [`{task.name}`](#{anchor(task.name)}) | {cell(first)} |")
    for task in tasks:
        lines += ["", f"## {task.name}", ""]
        lines += [task.doc or "(no docstring)", "", "```bash", _usage(task), "```", ""]
        if not task.flags:
            lines.append("No flags.")
            continue
        lines += ["| flag | value | default | help |", "| ---- | ----- | ------- | ---- |"]
        for flag in task.flags:
            value = "—" if flag.kind == "bool" else flag.kind
            helptext = flag.help or "(no help)"
            lines.append(
                f"| `{flag.usage}` | {value} | {cell(_default_text(flag))} | {cell(helptext)} |"
            )
    return "\n".join(lines) + "\n"


def page(root: Path, configs: Mapping[str, Config]) -> str:
    return render_tasks(task_docs(load_tasks(root)))
