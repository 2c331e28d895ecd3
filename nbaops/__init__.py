"""nbaops: the operations toolkit of the NBA player-points prediction platform."""

from __future__ import annotations

__version__ = "0.1.0"
