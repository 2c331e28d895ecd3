"""Alerts, history and scheduling import no Google client at import time (fast `inv --list`)."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "nbaops.alerts",
    "nbaops.alerts.slack",
    "nbaops.alerts.state",
    "nbaops.alerts.webhook_store",
    "nbaops.anomaly",
    "nbaops.history",
    "nbaops.schedule",
    "nbaops.cli.slack",
    "nbaops.cli.schedule",
]


def test_no_google_client_is_imported() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "prefixes = ('google.cloud', 'google.api_core')\n"
        + "print(sorted(m for m in sys.modules if m.startswith(prefixes)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
