"""``docs/reference/services.md`` and the ``post-deploy SERVICE`` blocks of the runbooks.

Every service of ``nbaops.yaml`` with its post-deploy checks and their thresholds per
profile, and the observation window that decides a deploy.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops.docs_reference.checks_page import key_rows, threshold_rows
from nbaops.docs_reference.markdown import HEADER, REGENERATE, anchor, cell

if TYPE_CHECKING:
    from nbaops.config import Config, ServiceConfig
    from nbaops.deploy.settings import DeploySettings


def post_deploy_block(service: str, configs: Mapping[str, Config]) -> str:
    """A service's post-deploy checks (thresholds per profile) and its observation window."""
    from nbaops.checks import ALL_SERVICES, get_spec
    from nbaops.checks.spec import Key
    from nbaops.deploy.settings import DeploySettings

    first = next(iter(configs.values()))
    cfg = first.service(service)
    lines = [
        f"Post-deploy validation of `{service}` (`services.{service}.post_deploy` in "
        "`nbaops.yaml`; **bold** = differs from the code default). `inv deploy` measures "
        "these against the new revision during the observation window; `inv verify-deploy` "
        "measures them against what serves now.",
    ]
    for position, entry in enumerate(cfg.post_deploy):
        check_id = str(entry["check"])
        spec = get_spec(check_id)
        overrides = {k: v for k, v in entry.items() if k != "check"}
        scope = "this service" + (", the new revision only" if spec.revision_aware else "")
        if spec.service != ALL_SERVICES:
            scope = spec.service
        note = (
            " Overrides in the entry: "
            + ", ".join(f"`{k}: {v}`" for k, v in overrides.items())
            + "."
            if overrides
            else ""
        )
        lines += [
            "",
            f"**{position + 1}. [`{check_id}`](../{spec.playbook})** — "
            f"{spec.title} ({scope}).{note}",
            "",
            *threshold_rows(check_id, configs, {name: overrides for name in configs}),
        ]
    settings = {name: c.settings("deploy", DeploySettings) for name, c in configs.items()}
    default = DeploySettings()
    rows = {
        "observation.interval_s": "seconds between measurement rounds",
        "observation.count": "measurement rounds",
        "observation.failure_limit": "FAIL rounds that decide FAIL (rollback, exit 1)",
        "observation.inconclusive_limit": "INCONCLUSIVE rounds that decide INCONCLUSIVE (exit 3)",
        "observation.consecutive_error_limit": "ERROR rounds in a row that decide ERROR (exit 3)",
        "on_inconclusive": "what INCONCLUSIVE/ERROR does: rollback or hold",
        "ready_timeout_s": "seconds a new revision may take to become Ready",
        "health_wait_s": "seconds a new revision may take to answer healthy",
        "lock_ttl_s": "deploy lease seconds (heartbeat-renewed)",
    }

    def get(settings: DeploySettings, key: str) -> str:
        value = reduce(getattr, key.split("."), settings)
        return f"{value:g}" if isinstance(value, float) else str(value)

    # the check thresholds' table, each setting a text key (``get`` formats the values)
    keys = {key: Key("text", None, meaning) for key, meaning in rows.items()}
    values = {name: {key: get(found, key) for key in rows} for name, found in settings.items()}
    lines += [
        "",
        "**Observation window and deploy timing** (`deploy:` section):",
        "",
        *key_rows(keys, {key: get(default, key) for key in rows}, values),
    ]
    return "\n".join(lines)


def runbook_link(service: ServiceConfig) -> str:
    """The service's runbook (``services.<name>.runbook``, else ``docs/runbooks/<name>.md``:
    the page its Slack alerts link) as a link from ``docs/reference/``."""
    return posixpath.relpath(service.runbook, "docs/reference")


def page(root: Path, configs: Mapping[str, Config]) -> str:
    first = next(iter(configs.values()))
    lines = [
        HEADER.format(cmd=REGENERATE, source="nbaops.yaml (services, checks, deploy)"),
        "# Service reference",
        "",
        "The five services as `nbaops.yaml` describes them, and what decides whether a "
        "deploy of each one stays: its post-deploy checks with their thresholds per "
        "profile, and the observation window.",
        "",
        "| service | owner | health | runbook |",
        "| ------- | ----- | ------ | ------- |",
    ]
    for svc in first.services.values():
        lines.append(
            f"| [`{svc.name}`](#{anchor(svc.name)}) | {cell(svc.owner)} | "
            f"`{svc.health_path}` | [runbook]({runbook_link(svc)}) |"
        )
    for svc in first.services.values():
        lines += ["", f"## {svc.name}", "", svc.description or "", ""]
        lines.append(f"- owner: {svc.owner}")
        lines.append(f"- runbook: [{svc.name}]({runbook_link(svc)})")
        lines.append(f"- health path: `{svc.health_path}`")
        lines.append(
            "- source paths (drift and schema-change detection): "
            + ", ".join(f"`{p}`" for p in svc.source_paths)
        )
        if svc.model_env:
            lines.append(
                f"- model version variable: `{svc.model_env}` (set by `inv deploy --model-version`)"
            )
        lines += ["", post_deploy_block(svc.name, configs)]
    return "\n".join(lines) + "\n"
