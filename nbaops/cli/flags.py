"""Numeric task flags: parsed and range-checked by nbaops, never by Invoke's ``int()`` cast.

Tasks declare numeric flags as strings (``limit: str | None = None``) so that a bad value
reaches :func:`integer`/:func:`number` and becomes one :class:`~nbaops.errors.UsageError`
line with exit 2, instead of a ``ValueError`` traceback inside Invoke's parser.
"""

from __future__ import annotations

import math
import re

from nbaops.errors import UsageError

_INT_RE = re.compile(r"^[+-]?\d{1,18}$")


def integer(value: object, flag: str, *, default: int, minimum: int, maximum: int) -> int:
    """``value`` (a flag's text, or None when not given) as an int in [minimum, maximum].

    Raises:
        UsageError: not a whole number, or out of range (the message names the flag).
    """
    if value is None:
        return default
    if isinstance(value, bool) or value == "":
        raise UsageError(f"--{flag} needs a whole number from {minimum} to {maximum}")
    text = str(value).strip()
    if not _INT_RE.match(text):
        raise UsageError(
            f"--{flag}: {text[:40]!r} is not a whole number (expected {minimum} to {maximum})"
        )
    number_ = int(text)
    if not minimum <= number_ <= maximum:
        raise UsageError(f"--{flag}: {number_} is outside {minimum} to {maximum}")
    return number_


def number(value: object, flag: str, *, default: float, minimum: float, maximum: float) -> float:
    """``value`` as a finite float in [minimum, maximum] (``nan``/``inf`` refused).

    Raises:
        UsageError: not a finite number, or out of range (the message names the flag).
    """
    if value is None:
        return default
    if isinstance(value, bool) or value == "":
        raise UsageError(f"--{flag} needs a number from {minimum:g} to {maximum:g}")
    text = str(value).strip()
    try:
        parsed = float(text)
    except ValueError:
        raise UsageError(
            f"--{flag}: {text[:40]!r} is not a number (expected {minimum:g} to {maximum:g})"
        ) from None
    if not math.isfinite(parsed):
        raise UsageError(f"--{flag}: {text[:40]!r} is not a finite number")
    if not minimum <= parsed <= maximum:
        raise UsageError(f"--{flag}: {parsed:g} is outside {minimum:g} to {maximum:g}")
    return parsed
