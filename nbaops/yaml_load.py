"""YAML loading with limits: size, alias count, nesting depth, expanded size, finite numbers,
and no key written twice in one mapping.

``yaml.safe_load`` builds anything it is given: a 1,000-deep nesting overflows Python's
stack ("internal error"), and a "billion laughs" alias bomb is cheap to load but
expands to millions of values for whatever walks it next (a schema validator, an error
message). :func:`load_bounded` refuses such input with one :class:`ConfigError` line, fast.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path
from typing import Any

import yaml

from nbaops.errors import ConfigError, first_line

MAX_BYTES = 1024 * 1024  # nbaops.yaml is a few KiB
MAX_DEPTH = 32  # nbaops.yaml nests 6 levels deep
MAX_ALIASES = 100
MAX_VALUES = 100_000  # values after expanding aliases


class _Limit(Exception):
    pass


# libyaml (C) when PyYAML was built with it: ~15x faster on nbaops.yaml (~10 ms vs ~150 ms
# in a process that only needs its config). The pure-Python loader is the reference: it words
# the errors, and it is used when libyaml is missing.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODE = (yaml.ScalarEvent, yaml.AliasEvent, *_COLLECTION_START)


def _check_shape(text: str, loader: Any) -> None:
    """Nesting depth, alias count and duplicate keys, from the parser's events (the parser
    keeps its own stack, so a deep document cannot overflow Python's) before anything is
    composed.

    A key written twice in one mapping is refused with its line: YAML forbids it, but
    PyYAML keeps the last one silently, so a second ``fail_below:`` further down a section
    would quietly replace the first. Keys are compared as the loader builds them: ``yes``
    and ``true`` are one key (True), ``1`` and ``"1"`` two.
    """
    parser = loader(text)
    depth = aliases = 0
    # per open collection: [is a mapping, the next node is a key, the keys seen (as built,
    # with the text of their first writing)]
    open_collections: list[tuple[bool, list[bool], dict[Any, str]]] = []
    try:
        while parser.check_event():
            event = parser.get_event()
            aliases += isinstance(event, yaml.AliasEvent)
            if aliases > MAX_ALIASES:
                raise _Limit(f"more than {MAX_ALIASES} YAML aliases (an alias bomb?)")
            if isinstance(event, _NODE):
                if depth >= MAX_DEPTH:
                    raise _Limit(f"nested more than {MAX_DEPTH} levels deep")
                if open_collections and open_collections[-1][0]:
                    _, key_next, keys = open_collections[-1]
                    if key_next[0] and isinstance(event, yaml.ScalarEvent):
                        _check_key(parser, event, keys)
                    key_next[0] = not key_next[0]
                if isinstance(event, _COLLECTION_START):
                    mapping = isinstance(event, yaml.MappingStartEvent)
                    open_collections.append((mapping, [True], {}))
            elif isinstance(event, _COLLECTION_END):
                open_collections.pop()
            depth += isinstance(event, _COLLECTION_START) - isinstance(event, _COLLECTION_END)
    finally:
        parser.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_key(loader: Any, event: Any, keys: dict[Any, str]) -> None:
    """Refuse a key equal to one already in the mapping, compared as built: the text
    differed (``yes:`` then ``true:``, ``1:`` then ``0x1:``) and the second still silently
    replaced the first. The tag is resolved as PyYAML's composer does; a value that cannot be
    built raises here as it would when the document is loaded."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _MERGE_TAG:  # a merge key may repeat; it is not a key of the mapping
        return
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    key = loader.construct_object(node)
    if key in keys:
        first = keys[key]
        also = "" if first == event.value else f" (as {first!r} before)"
        problem = f"key {event.value!r} appears twice in the same mapping{also}"
        raise yaml.MarkedYAMLError(problem=problem, problem_mark=event.start_mark)
    keys[key] = event.value


def _load(text: str, loader: Any) -> Any:
    try:
        _check_shape(text, loader)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        if loader is yaml.SafeLoader:
            raise
        # libyaml refused it: the reference loader decides, and words the error.
        return _load(text, yaml.SafeLoader)


_FLOW_CHARS = re.compile(r"""[\[\]{}'"#\n]""")


def _flow_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting outside quotes and comments (a cheap pre-scan: the
    YAML scanner looks ahead through a whole flow collection, quadratically deep ones)."""
    depth = deepest = 0
    quote: str | None = None
    comment = False
    for match in _FLOW_CHARS.finditer(text):  # no other character changes the state
        char = match.group()
        if comment:
            comment = char != "\n"
        elif quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _check_values(data: Any) -> None:
    """Count values as a reader would see them (aliases expanded); refuse nan/inf."""
    seen = 0
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, where = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise _Limit(f"expands to more than {MAX_VALUES} values (an alias bomb?)")
        if isinstance(node, float) and not math.isfinite(node):
            raise _Limit(f"{where or 'value'}: {node!r} is not a finite number")
        if isinstance(node, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))


def _unbuildable_at(text: str) -> str:
    """``:LINE:COLUMN`` of the first scalar whose value cannot be built (a date that does not
    exist), or "" (only on that error path: it composes the document once more)."""
    loader = yaml.SafeLoader(text)
    try:
        stack = [loader.get_single_node()]
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except (ValueError, OverflowError):
                    return f":{node.start_mark.line + 1}:{node.start_mark.column + 1}"
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(reversed(node.value))
            elif isinstance(node, yaml.MappingNode):
                stack.extend(n for pair in reversed(node.value) for n in reversed(pair))
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return ""


def read_bounded(path: Path) -> str:
    """A YAML file's text, read no further than :data:`MAX_BYTES` past the limit.

    Only a regular file is read (:func:`nbaops.fsutil.read_regular`):
    ``NBAOPS_CONFIG=/dev/zero`` read for ever (4.5 GB in 5 s) before the size was checked,
    and a FIFO without a writer blocked in ``open``.

    Raises:
        ConfigError: missing, not a regular file, unreadable, too large or not UTF-8.
    """
    from nbaops.fsutil import NotRegularFileError, read_regular

    try:
        data, _size = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except NotRegularFileError as exc:
        raise ConfigError(f"{path}: {exc.strerror}, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB; is this a config file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None


@functools.lru_cache(maxsize=16)
def _checked(text: str) -> Any:
    """The data of ``text`` once every limit held. A function of the text alone, kept for
    the last few texts: a process that loads its config for each context (a deploy's
    phases, a long-lived server, a test run) parses and checks it once (~4 ms, and
    _check_shape is Python) and then pays a deep copy (~0.2 ms). Errors are not kept."""
    if _flow_depth(text) > MAX_DEPTH:
        raise _Limit(f"nested more than {MAX_DEPTH} levels deep")
    data = _load(text, _FAST_LOADER)
    _check_values(data)
    return data


def load_bounded(text: str, where: str) -> Any:
    """Parse YAML ``text`` (from ``where``, named in errors) within the limits.

    Raises:
        ConfigError: too large, too deep, too many aliases, expands too far, a non-finite
            number, or invalid YAML (one line, with line and column when known).
    """
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_BYTES // 1024} KiB; is this a config file?")
    try:
        data = copy.deepcopy(_checked(text))  # a copy: no caller changes the cached data
    except _Limit as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deep") from None
    except (ValueError, OverflowError) as exc:  # a value's constructor: 2027-02-29 is no date
        at = _unbuildable_at(text)
        raise ConfigError(f"{where}{at}: invalid value: {first_line(exc)[:200]}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise ConfigError(f"{where}{at}: invalid YAML: {str(problem)[:200]}") from None
    return data
