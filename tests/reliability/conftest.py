"""Fault-matrix fixtures. The worlds of the integration tests (``checks_world``,
``deploy_world``, ``drift_world``, ``slack_receiver``) are reused by module name."""

from __future__ import annotations

import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))
