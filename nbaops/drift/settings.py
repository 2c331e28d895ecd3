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
from typing import TYPE_CHECKING

from nbaops.clock import parse_duration
from nbaops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from nbaops.config import Config

DEFAULT_WINDOW = "6h"
DEFAULT_MAIN_BRANCH = "main"
DEFAULT_LABEL = "deployment-drift"
DEFAULT_COMMENT_INTERVAL = "24h"


@dataclass(frozen=True)
class DriftSettings:
    window: dt.timedelta
    main_branch: str
    issue_label: str
    comment_interval: dt.timedelta
    repository: str = "."

    @classmethod
    def from_config(cls, config: Config) -> DriftSettings:
        """Settings from the config's ``drift`` section (profile overrides merged).

        Raises:
            ConfigError: a duration that does not parse (exit 2).
        """
        section = config.section("drift")

        def duration(key: str, default: str) -> dt.timedelta:
            text = str(section.get(key, default))
            try:
                return parse_duration(text, flag=f"drift.{key}")
            except UsageError as exc:
                raise ConfigError(f"{config.path}: {exc}") from None

        return cls(
            window=duration("window", DEFAULT_WINDOW),
            main_branch=str(section.get("main_branch", DEFAULT_MAIN_BRANCH)),
            issue_label=str(section.get("issue_label", DEFAULT_LABEL)),
            comment_interval=duration("comment_interval", DEFAULT_COMMENT_INTERVAL),
            repository=str(section.get("repository", ".")),
        )
