"""The ``checks`` part of ``schemas/config.schema.json``, generated from the check specs.

The rest of the file is hand-written; only the ``"$defs"`` entry ``"checks"`` (from its
line ``    "checks": {`` to the matching ``    },``) is replaced with
:func:`nbaops.checks.thresholds.section_schema`, one key per line as the file writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

START = '    "checks": {\n'
END = "    },\n"


def _render(schema: dict[str, Any]) -> str:
    head = {k: v for k, v in schema.items() if k != "properties"}
    lines = [START.rstrip("\n")]
    lines += [f"      {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('      "properties": {')
    props = list(schema["properties"].items())
    for i, (name, prop) in enumerate(props):
        comma = "," if i < len(props) - 1 else ""
        if "properties" not in prop:
            lines.append(f"        {json.dumps(name)}: {json.dumps(prop)}{comma}")
            continue
        lines.append(f"        {json.dumps(name)}: {{")
        lines += [
            f"          {json.dumps(k)}: {json.dumps(v)},"
            for k, v in prop.items()
            if k != "properties"
        ]
        lines.append('          "properties": {')
        keys = list(prop["properties"].items())
        lines += [
            f"            {json.dumps(k)}: {json.dumps(v)}" + ("," if j < len(keys) - 1 else "")
            for j, (k, v) in enumerate(keys)
        ]
        lines += ["          }", f"        }}{comma}"]
    lines += ["      }", END.rstrip("\n")]
    return "\n".join(lines) + "\n"


def page(root: Path) -> str:
    """The schema file with its ``checks`` definition regenerated from the specs."""
    from nbaops.checks.thresholds import section_schema

    path = root / "schemas" / "config.schema.json"
    text = path.read_text(encoding="utf-8")
    start = text.index(START, text.index('"$defs"'))
    end = text.index("\n" + END, start) + 1 + len(END)
    return text[:start] + _render(section_schema()) + text[end:]
