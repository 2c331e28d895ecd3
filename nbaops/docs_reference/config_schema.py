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


def _render(key: str, value: Any, indent: int) -> str:
    """An object with ``properties`` (and the ``properties`` map) one entry per line; any
    other value compact on its own line, as the hand-written file does."""
    pad = " " * indent
    if not (isinstance(value, dict) and ("properties" in value or key == "properties")):
        return f"{pad}{json.dumps(key)}: {json.dumps(value)}"
    body = ",\n".join(_render(k, v, indent + 2) for k, v in value.items())
    return f"{pad}{json.dumps(key)}: {{\n{body}\n{pad}}}"


def page(root: Path) -> str:
    """The schema file with its ``checks`` definition regenerated from the specs."""
    from nbaops.checks.thresholds import section_schema

    path = root / "schemas" / "config.schema.json"
    text = path.read_text(encoding="utf-8")
    start = text.index(START, text.index('"$defs"'))
    end = text.index("\n" + END, start) + 1 + len(END)
    return text[:start] + _render("checks", section_schema(), 4) + ",\n" + text[end:]
