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

from nbaops.errors import ConfigError


@dataclass(frozen=True)
class DriftSettings:
    """Read with ``config.settings("drift", DriftSettings)`` (profile overrides merged)."""

    window: dt.timedelta = dt.timedelta(hours=6)
    main_branch: str = "main"
    issue_label: str = "deployment-drift"
    comment_interval: dt.timedelta = dt.timedelta(hours=24)
    repository: str = "."

    def check(self, where: str) -> None:
        """The label is found by GitHub's issue list, whose ``labels`` filter is a comma
        separated list of labels an issue must all carry (octokit/octokit.rb#525): a label
        holding a comma is read as several, so its issue is never found again and every
        sync opens another (where GitHub refuses such a label, every sync fails instead;
        whether it accepts one could not be established).

        Raises:
            ConfigError: naming the key.
        """
        if "," in self.issue_label:
            raise ConfigError(
                f"{where}.issue_label: {self.issue_label!r} holds a comma, which GitHub's issue "
                "list reads as two labels (its drift issues would never be found again)"
            )
