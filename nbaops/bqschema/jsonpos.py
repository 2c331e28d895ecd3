"""Strict JSON decoding that remembers where every object, array and value starts.

The stdlib decoder gives line/column only for syntax errors. Schema findings need the
line of each field object, so this decoder reuses the stdlib's pure-Python scanner with
wrapped object/array parsers that record offsets (strings are still decoded by the C
``scanstring``). Objects become :class:`JObject` (a dict with positions and the keys it
saw twice), arrays :class:`JArray`.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from typing import Any

# The pure-Python scanner and object/array parsers are undocumented in typeshed but stable
# stdlib API since Python 2.7; they are what lets us wrap the parsers.
_py_make_scanner: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009
_JSONObject: Any = getattr(json.decoder, "JSONObject")  # noqa: B009
_JSONArray: Any = getattr(json.decoder, "JSONArray")  # noqa: B009

_NEWLINE = re.compile("\n")


class JObject(dict[str, Any]):
    """A JSON object with the offset of its ``{`` and of each value."""

    pos: int
    value_pos: dict[str, int]
    duplicates: list[tuple[str, int]]


class JArray(list[Any]):
    """A JSON array with the offset of its ``[`` and of each item."""

    pos: int
    item_pos: list[int]


class LineIndex:
    """Maps character offsets to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._starts = [m.end() for m in _NEWLINE.finditer(text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset) + 1


ScanOnce = Callable[[str, int], tuple[Any, int]]


def _recording(scan_once: ScanOnce) -> tuple[list[int], ScanOnce]:
    """``scan_once`` that also records the offset where each value starts."""
    positions: list[int] = []

    def scan(string: str, idx: int) -> tuple[Any, int]:
        positions.append(idx)
        return scan_once(string, idx)

    return positions, scan


def _reject_constant(name: str) -> Any:
    # NaN/Infinity are not JSON; BigQuery's parser rejects them, so do we.
    raise ValueError(f"{name} is not valid JSON")


class PositionalDecoder(json.JSONDecoder):
    """``json.JSONDecoder`` whose objects and arrays carry their source offsets."""

    def __init__(self) -> None:
        super().__init__(strict=True, parse_constant=_reject_constant)
        # py_make_scanner reads the parsers from the decoder (instance attributes: the
        # base __init__ sets its own there)
        self.parse_object = self._parse_object
        self.parse_array = self._parse_array
        self.scan_once = _py_make_scanner(self)

    @staticmethod
    def _parse_object(
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: ScanOnce,
        _object_hook: Any,
        _object_pairs_hook: Any,
        memo: dict[str, str] | None = None,
    ) -> tuple[JObject, int]:
        start = s_and_end[1] - 1
        positions, scan = _recording(scan_once)
        pairs, end = _JSONObject(s_and_end, strict, scan, None, list, memo)
        obj = JObject()
        obj.pos = start
        obj.value_pos = {}
        obj.duplicates = []
        for (key, value), pos in zip(pairs, positions, strict=False):
            if key in obj:
                obj.duplicates.append((key, pos))
            obj[key] = value
            obj.value_pos[key] = pos
        return obj, end

    @staticmethod
    def _parse_array(s_and_end: tuple[str, int], scan_once: ScanOnce) -> tuple[JArray, int]:
        start = s_and_end[1] - 1
        positions, scan = _recording(scan_once)
        values, end = _JSONArray(s_and_end, scan)
        arr = JArray(values)
        arr.pos = start
        arr.item_pos = positions[: len(values)]
        return arr, end


def loads(text: str) -> Any:
    """Decode ``text``; raises ``json.JSONDecodeError`` (with lineno/colno) or
    ``RecursionError`` for absurd nesting."""
    return PositionalDecoder().decode(text)
