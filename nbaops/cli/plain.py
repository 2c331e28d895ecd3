"""Plain report output for pipes, files and CI logs, without importing Rich when it can.

Reports render to a console (``Report.render(console)``). On a terminal that is Rich's.
Elsewhere Rich writes no colour and wraps nothing (one record per line), so a string or
a Rich ``Text`` comes out as its plain text: :class:`PlainConsole` writes those itself
and imports Rich (~45 ms, plus its rendering) only for anything else — a table, a tab or
control character, markup or emoji asked for, a style or option, any method but
``print`` — which then goes through a Rich console with the settings it always had. The bytes are
the same either way (``tests/unit/test_plain_console.py`` renders reports both ways).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nbaops.environment import read

# Not a terminal (CI logs, pipes, files): never wrap. Lines are soft-wrapped (one record
# per line) and tables get their natural width instead of being squeezed into 80 columns.
PLAIN_WIDTH = 4096

# What Rich would change in a string or a ``Text``: tabs and control characters (its
# consoles read no markup or emoji codes unless a call asks: :func:`rich_console`).
_RICH_TEXT = re.compile(r"[\t\x00-\x08\x0b-\x1f\x7f]")
# Variables that make Rich treat any output as a terminal (colour, tables).
_FORCE_TERMINAL = ("FORCE_COLOR", "TTY_COMPATIBLE")


def rich_console() -> Any:
    """Rich's console for stdout: the interactive one, or the plain (non-wrapping) one.

    Neither reads markup or emoji codes: a report's text is data (a table cell quoting
    ``[/tmp/x]`` raised MarkupError, ``[red]`` became a colour); styles are Rich objects."""
    from rich.console import Console

    if sys.stdout.isatty():
        console = Console(highlight=False, markup=False, emoji=False)
        if console.width >= 1:  # COLUMNS=0 made Rich print every report as nothing
            return console
    return Console(highlight=False, markup=False, emoji=False, soft_wrap=True, width=PLAIN_WIDTH)


def stdout_console() -> Any:
    """The console reports render to: Rich's on a terminal, else a :class:`PlainConsole`."""
    if sys.stdout.isatty() or any(read(name) for name in _FORCE_TERMINAL):
        return rich_console()
    return PlainConsole()


class _Captured:
    def __init__(self, parts: list[str]) -> None:
        self._parts = parts

    def get(self) -> str:
        return "".join(self._parts)


class PlainConsole:
    """The part of Rich's ``Console`` reports use, for output that is not a terminal."""

    is_terminal = False
    width = PLAIN_WIDTH
    soft_wrap = True

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._capturing = 0
        self._rich: Any = None

    def print(
        self,
        *objects: Any,
        sep: str = " ",
        end: str = "\n",
        markup: bool | None = None,
        emoji: bool | None = None,
        **options: Any,
    ) -> None:
        texts = [_plain(o) for o in objects]
        if (
            None in texts
            or markup
            or emoji
            or set(options) - {"highlight", "soft_wrap"}
            or options.get("soft_wrap") is False
        ):
            self._via_rich("print")(
                *objects, sep=sep, end=end, markup=markup, emoji=emoji, **options
            )
        else:
            self._write(sep.join(t for t in texts if t is not None) + end)

    @contextmanager
    def capture(self) -> Iterator[_Captured]:
        """Keep what is printed inside the block (``.get()``) instead of writing it."""
        start = len(self._parts)
        self._capturing += 1
        captured = _Captured([])
        try:
            yield captured
        finally:
            self._capturing -= 1
            captured._parts = self._parts[start:]
            del self._parts[start:]

    def __getattr__(self, name: str) -> Any:
        """Anything else: Rich's console (imported now); its output keeps its place."""
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(self._console(), name)
        return self._via_rich(name) if callable(attribute) else attribute

    def _console(self) -> Any:
        if self._rich is None:
            self._rich = rich_console()
        return self._rich

    def _via_rich(self, name: str) -> Callable[..., Any]:
        console = self._console()

        def call(*args: Any, **kwargs: Any) -> Any:
            with console.capture() as captured:
                result = getattr(console, name)(*args, **kwargs)
            self._write(captured.get())
            return result

        return call

    def _write(self, text: str) -> None:
        if self._capturing:
            self._parts.append(text)
        else:
            sys.stdout.write(text)


def _plain(value: Any) -> str | None:
    """The text Rich would print for ``value``, or None when only Rich can tell."""
    if isinstance(value, str):
        return None if _RICH_TEXT.search(value) else value
    if type(value).__name__ == "Text" and type(value).__module__ == "rich.text":
        plain = str(value.plain)
        if value.justify or value.overflow or value.no_wrap or value.end != "\n":
            return None
        return None if _RICH_TEXT.search(plain) else plain
    return None
