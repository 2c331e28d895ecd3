"""``docs/reference/checks.md`` and the ``thresholds CHECK`` / ``sql CHECK`` playbook blocks.

Everything comes from the check specs (:mod:`nbaops.checks.registry`): service, title,
keys with meaning and default, the value in force per profile (``checks:`` merged with
the profile's overrides), and each declared query with its parameter types.
"""

from __future__ import annotations

import importlib
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
    format_value,
)

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckSpec, Key
    from nbaops.config import Config


def check_specs() -> list[CheckSpec]:
    """The registered checks in registry order, then daily validation."""
    from nbaops.checks.registry import ALL_SPECS

    return list(ALL_SPECS.values())


def key_rows(
    keys: Mapping[str, Key], defaults: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """A table of keys: meaning, default, the value per profile (**bold** where it differs)."""
    lines = [
        "| key | meaning | default | " + " | ".join(values) + " |",
        "| --- | ------- | ------- | " + " | ".join("-" * len(p) for p in values) + " |",
    ]
    for name, key in keys.items():
        default = format_value(key.kind, defaults[name])
        shown = [cell(format_value(key.kind, v[name])) for v in values.values()]
        lines.append(
            f"| `{name}` | {cell(key.help)} | {cell(default)} | "
            + " | ".join(v if v == cell(default) else f"**{v}**" for v in shown)
            + " |"
        )
    return lines


def threshold_rows(
    check_id: str,
    configs: Mapping[str, Config],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """A table of the check's keys: meaning, default, value per profile."""
    from nbaops.checks.registry import ALL_SPECS
    from nbaops.checks.spec import coerce
    from nbaops.checks.thresholds import load_thresholds

    keys = ALL_SPECS[check_id].keys
    defaults = {name: coerce(k.kind, k.default, name) for name, k in keys.items()}
    values = {
        name: load_thresholds(cfg).params(check_id, (overrides or {}).get(name)).values
        for name, cfg in configs.items()
    }
    return key_rows(keys, defaults, values)


def _runner_rows(configs: Mapping[str, Config]) -> list[str]:
    from nbaops.checks.thresholds import RUNNER_KEYS, load_thresholds

    defaults = {name: key.default for name, key in RUNNER_KEYS.items()}
    loaded = {name: load_thresholds(cfg) for name, cfg in configs.items()}
    values = {p: {k: getattr(t, k) for k in RUNNER_KEYS} for p, t in loaded.items()}
    return key_rows(RUNNER_KEYS, defaults, values)


def page(root: Path, configs: Mapping[str, Config]) -> str:
    """``docs/reference/checks.md``."""
    from nbaops.checks.registry import ALL_SERVICES

    specs = check_specs()
    service = {s.id: "every service" if s.service == ALL_SERVICES else s.service for s in specs}
    lines = [
        HEADER.format(cmd=REGENERATE, source="the check specs (nbaops/checks) and nbaops.yaml"),
        "# Check reference",
        "",
        "Every data check with its service and thresholds, generated from the check "
        "specs (`SPEC` of each `nbaops/checks/<id>.py`, listed in "
        "`nbaops/checks/registry.py`) and the `checks:` section of `nbaops.yaml` merged "
        "with each profile's `overrides.checks`. A value in **bold** differs from the "
        "code default. Every check reports PASS, WARN, FAIL, INCONCLUSIVE or ERROR; one "
        "that could not measure is never PASS. Values are validated when the config "
        "loads (exit 2 naming the key): their kind and bounds, and each check's tier "
        "order (a WARN tier a swapped FAIL tier would hide is refused).",
        "",
        "| check | service | measures | playbook |",
        "| ----- | ------- | -------- | -------- |",
    ]
    for spec in specs:
        lines.append(
            f"| [`{spec.id}`](#{anchor(spec.id)}) | {cell(service[spec.id])} | "
            f"{cell(spec.title)} | [playbook](../{spec.playbook}) |"
        )
    lines += [
        "",
        "## Runner",
        "",
        "How `inv system-health` runs the checks (section `checks:`).",
        "",
        *_runner_rows(configs),
    ]
    for spec in specs:
        lines += ["", f"## {spec.id}", "", f"- service: {service[spec.id]}"]
        lines.append(f"- module: `{spec.module}`")
        if spec.revision_aware:
            lines.append("- revision-aware: after a deploy it measures the new revision only")
        lines.append(f"- playbook: [{spec.id}](../{spec.playbook})")
        if spec.ordered:
            order = ", ".join(f"`{low}` <= `{high}`" for low, high in spec.ordered)
            lines.append(f"- tier order: {order}")
        doc = docstring(importlib.import_module(spec.module))
        lines += ["", doc, "", *threshold_rows(spec.id, configs)]
    return "\n".join(lines) + "\n"


def sql_block(spec: CheckSpec, configs: Mapping[str, Config]) -> str:
    """The declared queries of a check (or its log filter), as fenced blocks."""
    parts: list[str] = []
    for query in spec.queries:
        typed = ", ".join(f"`@{p}` {t}" for p, t in query.param_types().items())
        parts += [f"`{spec.id}` query `{query.name}`", "", f"Parameters: {typed}."]
        parts += ["", "```sql", query.sql.strip("\n"), "```", ""]
    if spec.reads_logs:
        parts += _log_filter_example(spec, configs)
    return "\n".join(parts).rstrip("\n")


def _log_filter_example(spec: CheckSpec, configs: Mapping[str, Config]) -> list[str]:
    from nbaops.adapters.logs import build_filter
    from nbaops.checks.spec import EXAMPLE_NOW
    from nbaops.checks.thresholds import load_thresholds

    first = next(iter(configs.values()))
    params = load_thresholds(first).params(spec.id)
    window = params.duration("window")
    service = next(iter(first.services))
    severity = params.text("min_severity")
    filters = [
        build_filter(
            since=EXAMPLE_NOW - window,
            until=EXAMPLE_NOW,
            service=service,
            revision=revision,
            min_severity=severity,
        )
        for revision in (None, f"{service}-00042-abc")
    ]
    return [
        "No SQL: the check reads Cloud Logging through `nbaops.adapters.logs.build_filter`. "
        f"The filter for {code(service)} at {EXAMPLE_NOW:%H:%M} UTC with the configured "
        f"window ({format_value('duration', window)}) and severity:",
        "",
        "```text",
        filters[0],
        "```",
        "",
        "After a deploy (revision-aware), narrowed to the new revision:",
        "",
        "```text",
        filters[1],
        "```",
        "",
    ]


def thresholds_block(check_id: str, configs: Mapping[str, Config]) -> str:
    return "\n".join(
        [
            f"Thresholds of `{check_id}` per profile (**bold** = differs from the code "
            "default; a service's `post_deploy` entry may override them during a deploy, "
            "see [services](../reference/services.md)):",
            "",
            *threshold_rows(check_id, configs),
        ]
    )
