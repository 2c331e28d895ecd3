"""The Slack webhook URL is a credential: :class:`Secret` and :func:`redact` (re-exported).

Both live in the kernel (:mod:`nbaops.redact`) so every module, not only alerts, masks
secrets with the same function.
"""

from __future__ import annotations

from nbaops.redact import MASK, Secret, redact

__all__ = ["MASK", "Secret", "redact"]
