"""The one task decorator and the one-hop map (nbaops.cli.task, nbaops.docs_reference.task_map)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from invoke.context import Context as InvokeContext
from invoke.exceptions import Exit

from nbaops.cli import TASK_MODULES, namespace
from nbaops.cli.task import COMMON_HELP, NbaopsTask, nbaops_task
from nbaops.docs_reference.task_map import resolve, task_hops

ROOT = Path(__file__).resolve().parents[2]


def _tasks() -> dict[str, NbaopsTask]:
    ns = namespace()
    return {name: ns[name] for name in ns.task_names}


def test_every_task_is_built_by_the_decorator_and_names_what_it_calls() -> None:
    for name, task in _tasks().items():
        assert isinstance(task, NbaopsTask), name
        assert task.calls, f"{name}: nbaops_task() needs the function it calls"
        body = inspect.unwrap(task.body)
        module_source = inspect.getsource(inspect.getmodule(body))  # type: ignore[arg-type]
        for dotted in task.calls:
            assert callable(resolve(dotted)), (name, dotted)
            # the recorded path is what the task module really calls, not a stale note
            assert re.search(rf"\b{dotted.rpartition('.')[2]}\(", module_source) or re.search(
                rf"import {dotted.rpartition('.')[2]}\b", module_source
            ), (name, dotted)


def test_every_task_module_exposes_one_collection_named_ns() -> None:
    files = {p.stem for p in (ROOT / "nbaops" / "cli").glob("*.py")}
    exposing = {f for f in files if hasattr(importlib.import_module(f"nbaops.cli.{f}"), "ns")}
    assert exposing == set(TASK_MODULES.split())


def test_the_decorator_adds_the_common_flags_and_their_help_after_the_tasks_own() -> None:
    @nbaops_task("nbaops.doctor.run_doctor", help={"limit": "How many."})
    def probe(ctx: object, limit: str | None = None) -> None:
        """Probe."""

    helps = {a.name: a.help for a in probe.get_arguments()}
    assert list(helps) == ["limit", "json", "profile", "debug"]
    assert {a.name: a.help for a in probe.get_arguments()} == helps  # invoke's pop undone
    assert helps["json"] == COMMON_HELP["json"] and helps["limit"] == "How many."


def test_a_body_that_declares_json_receives_it_and_errors_map_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.errors import UsageError

    seen: dict[str, object] = {}

    @nbaops_task("nbaops.doctor.run_doctor", help={"flag": "A flag."})
    def probe(ctx: object, flag: str | None = None, json: bool = False) -> None:
        seen.update(flag=flag, json=json, ctx=type(ctx).__name__)
        raise UsageError("bad --flag")

    monkeypatch.setattr("nbaops.sandbox.world.open_context", lambda profile: object())
    with pytest.raises(Exit) as raised:
        probe(InvokeContext(), "x", json=True)
    assert raised.value.code == 2
    assert seen == {"flag": "x", "json": True, "ctx": "object"}
    assert '"exit_code": 2' in capsys.readouterr().out


def test_a_task_without_context_returns_its_exit_code() -> None:
    @nbaops_task("nbaops.docs_reference.main", context=False, help={"check": "Check."})
    def probe(check: bool = False) -> int:
        return 1 if check else 0

    assert [a.name for a in probe.get_arguments()] == ["check"]
    probe(InvokeContext())
    with pytest.raises(Exit) as raised:
        probe(InvokeContext(), check=True)
    assert raised.value.code == 1


def test_the_map_has_a_row_for_every_task() -> None:
    hops = task_hops(namespace())
    shown = {h.task for h in hops}
    assert len(shown) == len(_tasks())
    row = next(h for h in hops if h.task == "deploy")
    assert (row.entry, row.function, row.module) == (
        "nbaops/cli/deploy.py",
        "run_deploy",
        "nbaops/deploy/deploy.py",
    )
