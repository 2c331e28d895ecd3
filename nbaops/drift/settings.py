"""The ``drift:`` section of nbaops.yaml, read once with defaults.

Keys (all optional; ``schemas/config.schema.json`` rejects unknown ones)::

    drift:
      window: 6h                  # pending commits older than this → FAIL, younger → WARN
      main_branch: main           # the branch whose tip should be serving
      issue_label: deployment-drift
      comment_interval: 24h       # at most one "still drifting" comment per issue per interval
      repository: .               # whose history: "." (this repository) or "sandbox"
                                  # (local profile: the sandbox's platform clone)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class DriftSettings:
    """Read with ``config.settings("drift", DriftSettings)`` (profile overrides merged)."""

    window: dt.timedelta = dt.timedelta(hours=6)
    main_branch: str = "main"
    issue_label: str = "deployment-drift"
    comment_interval: dt.timedelta = dt.timedelta(hours=24)
    repository: str = "."
