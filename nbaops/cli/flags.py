"""Task flags: their names (:func:`flag_name`), and numeric ones parsed and range-checked by
nbaops, never by Invoke's ``int()`` cast.

Tasks declare numeric flags as strings (``limit: str | None = None``) so that a bad value
reaches :func:`integer`/:func:`number` and becomes one :class:`~nbaops.errors.UsageError`
line with exit 2, instead of a ``ValueError`` traceback inside Invoke's parser.
"""

from __future__ import annotations

import math
import re

from nbaops.errors import UsageError


def flag_name(parameter: str) -> str:
    """The command-line flag of a task's parameter, as Invoke spells it: ``from_`` (a
    Python keyword's stand-in) is ``--from``, ``skip_tests`` is ``--skip-tests``."""
    return "--" + parameter.strip("_").replace("_", "-")


_INT_RE = re.compile(r"^[+-]?[0-9]+\Z")  # ASCII digits: int() also reads "١٢"
_MAX_DIGITS = 18  # beyond every range a flag has; longer text is never converted


def integer(value: object, flag: str, *, default: int, minimum: int, maximum: int) -> int:
    """``value`` (a flag's text, or None when not given) as an int in [minimum, maximum].

    Raises:
        UsageError: not a whole number, or out of range (the message names the flag).
    """
    return int(_bounded(value, flag, default, minimum, maximum, whole=True))


def number(value: object, flag: str, *, default: float, minimum: float, maximum: float) -> float:
    """``value`` as a finite float in [minimum, maximum] (``nan``/``inf`` refused).

    Raises:
        UsageError: not a finite number, or out of range (the message names the flag).
    """
    return _bounded(value, flag, default, minimum, maximum, whole=False)


def _bounded(
    value: object, flag: str, default: float, minimum: float, maximum: float, *, whole: bool
) -> float:
    if value is None:
        return default
    noun, shown = ("whole number", "{}") if whole else ("number", "{:g}")
    span = f"{shown.format(minimum)} to {shown.format(maximum)}"
    if isinstance(value, bool) or value == "":
        raise UsageError(f"--{flag} needs a {noun} from {span}")
    text = str(value).strip()
    if whole and _INT_RE.match(text) and len(text.lstrip("+-")) > _MAX_DIGITS:
        raise UsageError(f"--{flag}: {text[:40]!r} is outside {span}")
    try:
        if not text.isascii() or "_" in text or (whole and not _INT_RE.match(text)):
            # float() and int() read other scripts' digits too, and float() Python's digit
            # separators ('1_0' is 10), which a whole-number flag refuses
            raise ValueError(text)
        parsed = int(text) if whole else float(text)
    except ValueError:
        raise UsageError(f"--{flag}: {text[:40]!r} is not a {noun} (expected {span})") from None
    if not math.isfinite(parsed):
        raise UsageError(f"--{flag}: {text[:40]!r} is not a finite number")
    if not minimum <= parsed <= maximum:
        raise UsageError(f"--{flag}: {shown.format(parsed)} is outside {span}")
    return parsed
