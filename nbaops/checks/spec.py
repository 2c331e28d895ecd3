"""The one declaration of a check: :class:`CheckSpec` with its keys and its queries.

Every ``nbaops/checks/<id>.py`` exports ``SPEC`` (id, service, title, unit, threshold keys
with kind, default and bounds, its queries with typed example parameters, its playbook)
and ``run(ctx, params)``. Everything else is derived from the specs: the registry
(:mod:`nbaops.checks.registry`), the defaults, typing and validation of the ``checks:``
config section (:mod:`nbaops.checks.thresholds`), its JSON schema, the docs reference, the
deploy dry-run plan and the SQL static tests.

This module also holds the typed reading of one value (:func:`coerce`) and the resolved
parameters of one run (:class:`CheckParams`); it imports nothing of the checks, so a
check module can import it without a cycle.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nbaops import clock
from nbaops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.verdict import CheckResult

Kind = Literal["fraction", "number", "integer", "duration", "date", "texts", "text"]

# Every number has an upper bound: a value such as 1e308 would disable a timeout or a
# window silently. Keys without their own bound get these.
DEFAULT_MAXIMUM = {"number": 1_000_000.0, "integer": 1_000_000}
SLOT_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

# The instant the example parameters of every query describe (docs, dry-run estimates):
# a Wednesday of the 2024-25 season, 12:00 ET.
EXAMPLE_NOW = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
EXAMPLE_DAY = dt.date(2025, 1, 15)


@dataclass(frozen=True)
class Key:
    """One tunable of a check: its kind, default and meaning (shown in the schema and docs).

    ``maximum`` bounds a number/integer (default :data:`DEFAULT_MAXIMUM`), ``minimum``
    from below (default 0: a window or sample of 0 would make its check blind, so those
    say 1); ``below`` an exclusive upper bound of a ``fraction`` (a confidence level
    under 1), whose ``minimum`` applies too; ``pattern`` is a regular expression a
    ``text`` value, or every item of a ``texts`` value, must match (``means`` says what
    such a value is, for the error).
    """

    kind: Kind
    default: Any
    help: str
    maximum: float | None = None
    pattern: str | None = None
    minimum: float = 0
    below: float | None = None
    means: str = "a time HH:MM (00:00 to 23:59)"  # what a value matching ``pattern`` is

    @property
    def upper_bound(self) -> float | None:
        if self.kind not in DEFAULT_MAXIMUM:
            return None
        return self.maximum if self.maximum is not None else DEFAULT_MAXIMUM[self.kind]


@dataclass(frozen=True)
class Query:
    """One warehouse query of a check: BigQuery Standard SQL with named ``@parameters``.

    ``example`` binds every parameter to a value of its type (``date`` → DATE,
    ``datetime`` → TIMESTAMP, ``int`` → INT64, ``str`` → STRING, ``list`` → ARRAY; the
    convention of :mod:`nbaops.adapters.bq_params`) at :data:`EXAMPLE_NOW`; the docs show
    the types and the deploy dry run estimates bytes with these values.
    """

    name: str
    sql: str
    example: Mapping[str, Any]

    @property
    def parameters(self) -> list[str]:
        """The ``@parameters`` the SQL names, in order of first use."""
        return list(dict.fromkeys(re.findall(r"@([A-Za-z_][A-Za-z0-9_]*)", self.sql)))

    def example_at(self, now: dt.datetime) -> dict[str, Any]:
        """The example moved to ``now``: timestamps by ``now - EXAMPLE_NOW``, dates by
        whole days, so the windows keep their shape (dry-run byte estimates)."""
        shift = now - EXAMPLE_NOW
        days = dt.timedelta(days=(clock.eastern_date(now) - EXAMPLE_DAY).days)
        moved: dict[str, Any] = {}
        for name, value in self.example.items():
            if isinstance(value, dt.datetime):
                value = value + shift
            elif isinstance(value, dt.date):
                value = value + days
            moved[name] = value
        return moved

    def param_types(self) -> dict[str, str]:
        """BigQuery type of each example parameter (``ARRAY<STRING>`` for a list)."""
        from nbaops.adapters.bq_params import bq_type_of

        types: dict[str, str] = {}
        for name, value in self.example.items():
            if isinstance(value, list | tuple):
                types[name] = f"ARRAY<{bq_type_of(value[0]) if value else 'STRING'}>"
            else:
                types[name] = bq_type_of(value)
        return types


CheckFunction = Callable[["Context", "CheckParams"], "CheckResult"]


@dataclass(frozen=True)
class CheckSpec:
    """A check, declared once.

    Attributes:
        id: stable id, also the module name and the key of its ``checks:`` config.
        service: the service it belongs to, or ``"*"`` for a check run once per service.
        title: what it measures, in a few words.
        unit: the unit of its measured value (``CheckResult.unit``).
        keys: its thresholds and windows (kind, default, bounds, meaning).
        queries: every warehouse query it may run, with typed example parameters.
        revision_aware: whether a revision narrows it (post-deploy of one revision).
        reads_logs: it reads Cloud Logging entries (a filter) instead of the warehouse.
        playbook: its playbook, relative to ``docs/``.
        ordered: pairs of keys ``(a, b)`` whose values must keep ``a <= b`` (a FAIL tier
            no milder than its WARN tier): checked once the config and call-site layers
            are merged, so a swapped pair is a config error, not a tier that never fires.
    """

    id: str
    service: str
    title: str
    unit: str = ""
    keys: Mapping[str, Key] = field(default_factory=dict)
    queries: tuple[Query, ...] = ()
    revision_aware: bool = False
    reads_logs: bool = False
    playbook: str = ""
    ordered: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return f"nbaops.checks.{self.id}"

    @property
    def playbook_doc(self) -> str:
        """The playbook relative to the repository (what a report prints)."""
        return f"docs/{self.playbook}" if self.playbook else ""

    def load(self) -> CheckFunction:
        import importlib

        run: CheckFunction = importlib.import_module(self.module).run
        return run


def _bad(where: str, message: str) -> ConfigError:
    return ConfigError(f"checks: {where}: {message}")


def coerce(kind: Kind, value: Any, where: str, key: Key | None = None) -> Any:
    """Check that ``value`` has the key's kind (and bounds) and normalise it (a duration
    becomes a timedelta, a date a date or ``today``/``yesterday``). ``key`` adds its
    maximum and pattern; numbers are always finite."""
    if kind == "fraction":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise _bad(where, f"{value!r} is not a fraction between 0 and 1")
        if key is not None and value < key.minimum:
            raise _bad(where, f"{value!r} is below the minimum {key.minimum:g}")
        if key is not None and key.below is not None and value >= key.below:
            raise _bad(where, f"{value!r} is not below {key.below:g}")
        return float(value)
    upper = (key.upper_bound if key else None) or DEFAULT_MAXIMUM.get(kind)
    if kind in ("number", "integer"):
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # 4.0: an integer to JSON Schema (and to every other section)
        wanted = int if kind == "integer" else int | float
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise _bad(where, f"{value!r} is not a non-negative {kind}")
        if not math.isfinite(value):
            raise _bad(where, f"{value!r} is not a finite number")
        if value < 0:
            raise _bad(where, f"{value!r} is not a non-negative {kind}")
        if key is not None and value < key.minimum:
            raise _bad(where, f"{value!r} is below the minimum {key.minimum:g}")
        if upper is not None and value > upper:
            raise _bad(where, f"{value!r} is above the maximum {upper:g}")
        return value if kind == "integer" else float(value)
    if kind == "duration":
        if isinstance(value, dt.timedelta):
            return value
        if not isinstance(value, str):
            raise _bad(where, f"{value!r} is not a duration such as 90s, 10m, 6h or 2d")
        try:
            return clock.parse_duration(value, where)
        except UsageError as exc:
            raise ConfigError(f"checks: {exc}") from None
    if kind == "date":
        # a call site's date, or YAML's unquoted 2025-01-15 (a timestamp is no game day):
        # the same bounds as the text
        text = value.isoformat() if type(value) is dt.date else value
        lowered = text.strip().lower() if isinstance(text, str) else ""
        if lowered not in ("today", "yesterday"):
            try:  # the bounds of the run (a game day, at most a year ahead), checked now
                day = clock.parse_date(lowered, where)
            except UsageError as exc:
                reason = str(exc).removeprefix(f"{where}: ")
                if not lowered or "is not a date" in reason:
                    reason = f"{value!r} is not a date (YYYY-MM-DD, today, yesterday)"
                raise _bad(where, reason) from None
            if text is not value:
                return day
        return lowered  # resolved against the clock when the check runs
    if kind == "texts":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _bad(where, f"{value!r} is not a list of strings")
        items = list(value)
    elif not isinstance(value, str) or not value:
        raise _bad(where, f"{value!r} is not a non-empty string")
    else:
        items = [value]
    if key is not None and key.pattern is not None:
        for item in items:  # a text, or every item of texts, matches the key's pattern
            if not re.match(key.pattern, item):
                raise _bad(where, f"{item[:40]!r} is not {key.means}")
    return items if kind == "texts" else value


@dataclass(frozen=True)
class CheckParams:
    """The resolved parameters of one check run.

    Attributes:
        check: the check id.
        values: every key of the check (defaults < config < overrides), normalised.
        service: the service the result is reported for (error_logs runs per service).
        revision: a Cloud Run revision to narrow to (post-deploy validation), or None.
        timeout_s: the per-query timeout, passed to the warehouse.
    """

    check: str
    values: Mapping[str, Any] = field(default_factory=dict)
    service: str | None = None
    revision: str | None = None
    timeout_s: float | None = None

    def _get(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"{self.check}: no parameter {key!r}") from None

    def fraction(self, key: str) -> float:
        return float(self._get(key))

    number = fraction

    def integer(self, key: str) -> int:
        return int(self._get(key))

    def text(self, key: str) -> str:
        return str(self._get(key))

    def texts(self, key: str) -> list[str]:
        return [str(v) for v in self._get(key)]

    def duration(self, key: str) -> dt.timedelta:
        value = self._get(key)
        if isinstance(value, dt.timedelta):
            return value
        return clock.parse_duration(str(value), key)

    def date(self, key: str = "game_date") -> dt.date:
        """A date key resolved against the clock (``today``/``yesterday`` are Eastern)."""
        value = self._get(key)
        if isinstance(value, dt.date):
            return value
        return clock.parse_date(str(value), key)


def resolve(
    spec_keys: Mapping[str, Key], check: str, layers: list[tuple[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    """Defaults of ``spec_keys`` < each ``(source, layer)`` in turn, every value coerced.

    A key the check does not declare raises ConfigError naming where it came from
    (``config`` means the ``checks:`` section; ``check`` is empty for its own keys).
    """

    def where(name: str) -> str:
        return f"{check}.{name}" if check else name

    values = {name: coerce(k.kind, k.default, where(name), k) for name, k in spec_keys.items()}
    for source, layer in layers:
        for name, value in layer.items():
            located = where(name) if source == "config" else f"{source}: {where(name)}"
            if name not in spec_keys:
                raise _bad(located, f"unknown key; known keys: {', '.join(spec_keys)}")
            values[name] = coerce(spec_keys[name].kind, value, located, spec_keys[name])
    return values
