"""One convention for a config section as typed, validated settings.

A settings type is a frozen dataclass: each field's type and default are the setting's
type and default, :func:`setting` adds what the JSON Schema cannot say (bounds, choices,
the YAML key when it differs from the field). :func:`load_section` reads a section into
it: absent keys keep their defaults, nested dataclasses load recursively (also as the
items of a ``tuple``), a ``timedelta`` reads a duration (``6h``), a ``date`` an ISO date,
a ``tuple``/``frozenset`` a list (bounds and choices apply to each item), and any bad value
is one
:class:`~nbaops.errors.ConfigError` line naming the key (exit 2). A type may define
``check(self, where)`` for rules across fields. :meth:`nbaops.config.Config.settings`
applies it to a section of ``nbaops.yaml`` with the profile's overrides merged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from nbaops.errors import ConfigError, UsageError, first_line

T = TypeVar("T")
_HINTS: dict[type, dict[str, Any]] = {}  # resolved once per settings type


def setting(
    default: Any = dataclasses.MISSING,
    *,
    key: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: Sequence[str] = (),
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field with its YAML ``key`` and bounds: ``minimum``/``maximum``
    inclusive, ``above``/``below`` exclusive, or one of ``choices``."""
    meta: dict[str, Any] = {"key": key, "minimum": minimum, "maximum": maximum}
    meta.update(above=above, below=below, choices=tuple(choices))
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def load_section(
    values: Mapping[str, Any] | None,
    cls: type[T],
    where: str,
    *,
    base: T | None = None,
    strict: bool = False,
) -> T:
    """``values`` as a ``cls`` (defaults from ``base`` or the class).

    Args:
        strict: refuse keys ``cls`` (or a nested settings type) does not declare (else
            they are left to the schema or to another reader of the same section).

    Raises:
        ConfigError: not a mapping; a value of the wrong type, out of bounds or not a
            choice; an unknown key when ``strict``; a failed ``check``.
    """
    if values is not None and not isinstance(values, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    values = dict(values or {})
    hints = _HINTS.get(cls) or _HINTS.setdefault(cls, typing.get_type_hints(cls))
    changes: dict[str, Any] = {}
    known = set()
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = field.metadata.get("key") or field.name
        known.add(key)
        if values.get(key) is not None:
            kind = hints[field.name]
            changes[field.name] = _value(values[key], kind, field, f"{where}.{key}", strict)
    unknown = sorted(set(values) - known)
    if strict and unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    out = dataclasses.replace(base if base is not None else cls(), **changes)  # type: ignore[type-var]
    check = getattr(out, "check", None)
    if check is not None:
        check(where)
    return out


def _value(raw: Any, kind: Any, field: dataclasses.Field[Any], key: str, strict: bool) -> Any:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if dataclasses.is_dataclass(kind):
        return load_section(raw, kind, key, strict=strict)  # type: ignore[arg-type]
    collection = typing.get_origin(kind)
    if collection in (tuple, frozenset):
        if not isinstance(raw, list | tuple):
            raise ConfigError(f"{key}: must be a list")
        item = typing.get_args(kind)[0]
        return collection(_value(x, item, field, f"{key}[{i}]", strict) for i, x in enumerate(raw))
    try:
        value = _convert(raw, kind, key)
    except (TypeError, ValueError, UsageError) as exc:
        text = first_line(exc)  # (parse_duration already names the key)
        raise ConfigError(text if text.startswith(f"{key}: ") else f"{key}: {text}") from None
    _bounds(value, field.metadata, key)
    return value


def _convert(raw: Any, kind: Any, key: str) -> Any:
    from nbaops.clock import parse_duration

    if kind is dt.timedelta:
        return parse_duration(str(raw), key)
    if kind is dt.date:
        if isinstance(raw, dt.date):  # YAML reads an unquoted date (or timestamp) itself
            return raw.date() if isinstance(raw, dt.datetime) else raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if typing.get_origin(kind) is not None or kind is Any:
        return raw  # a mapping or list the type's own code reads
    if kind in (int, float) and isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if kind is str and not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not text")
    return kind(raw)


def _bounds(value: Any, meta: Mapping[str, Any], key: str) -> None:
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(meta['choices'])}")
    rules: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
        ("minimum", operator.ge, "must be >= {}"),
        ("maximum", operator.le, "must be <= {}"),
        ("above", operator.gt, "must be above {}"),
        ("below", operator.lt, "must be below {}"),
    )
    for name, holds, words in rules:
        bound = meta.get(name)
        if bound is not None and not holds(value, bound):
            raise ConfigError(f"{key}: {value!r} {words.format(bound)}")
