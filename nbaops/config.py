"""Load and validate ``nbaops.yaml``: profiles, services and the per-feature sections.

An invalid config raises :class:`~nbaops.errors.ConfigError` with one line naming the file,
the key and what is wrong (exit 2).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from nbaops.environment import read, typed
from nbaops.errors import ConfigError, UnknownServiceError, UsageError, first_line
from nbaops.fsutil import files_digest
from nbaops.paths import CONFIG_NAME, project_root, schemas_dir, state_home
from nbaops.settings import load_section, setting

SettingsT = TypeVar("SettingsT")
SECTIONS = ("checks", "alerts", "deploy", "drift", "schema_rules", "regression")


@dataclass(frozen=True)
class ServiceConfig:
    """One Cloud Run service of ``services``: its owner, sources, health path, checks."""

    name: str = ""
    owner: str = ""
    source_paths: tuple[str, ...] = ()
    health_path: str = ""
    post_deploy: tuple[dict[str, Any], ...] = ()
    description: str = ""
    model_env: str | None = None
    runbook_path: str | None = setting(None, key="runbook")
    dockerfile_path: str | None = setting(None, key="dockerfile")

    @property
    def runbook(self) -> str:
        """The service's runbook: ``runbook`` or ``docs/runbooks/<service>.md``."""
        return self.runbook_path or f"docs/runbooks/{self.name}.md"

    @property
    def dockerfile(self) -> str:
        """The Dockerfile the image is built from: ``dockerfile`` or the first source path's."""
        if self.dockerfile_path:
            return self.dockerfile_path
        return self.source_paths[0].rstrip("/") + "/Dockerfile"


@dataclass(frozen=True)
class ProfileConfig:
    """One profile of ``profiles``: local or a GCP project, its region and datasets."""

    name: str
    kind: str  # "local" or "gcp"
    project: str
    region: str
    datasets: dict[str, str] = field(default_factory=dict)
    image_repository: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    invoker_service_account: str | None = None
    bigquery_location: str = "US"  # every BigQuery job runs here (profiles.<p>.bigquery)
    # a query that would bill more fails instead (profiles.<p>.bigquery.maximum_bytes_billed)
    bigquery_maximum_bytes_billed: int | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _key_path(parts: Any) -> str:
    # a key with a line break or control character must not split the one-line message
    text = ".".join(
        str(p) if str(p).isprintable() else str(p).encode("unicode_escape").decode("ascii")
        for p in parts
    )
    return text or "(top level)"


@dataclass
class Config:
    """The validated config, bound to one profile."""

    path: Path
    raw: dict[str, Any]
    profile: ProfileConfig

    @property
    def root(self) -> Path:
        """The project: ``NBAOPS_ROOT``, else the config's folder when it is a project
        (holds ``schemas/``), else the nearest project at or above the current folder (a
        config copied elsewhere, ``NBAOPS_CONFIG=/tmp/x/nbaops.yaml``, still checks this
        project's schemas instead of none)."""
        if typed("NBAOPS_ROOT") is not None:
            return project_root()
        if schemas_dir(self.path.parent).is_dir():
            return self.path.parent
        return project_root()

    @cached_property
    def services(self) -> dict[str, ServiceConfig]:
        return {
            name: load_section({**body, "name": name}, ServiceConfig, f"services.{name}")
            for name, body in self.raw["services"].items()
        }

    @property
    def service_names(self) -> list[str]:
        return list(self.services)

    def service(self, name: str) -> ServiceConfig:
        """The named service, or UnknownServiceError listing the known ones."""
        try:
            return self.services[name]
        except KeyError:
            raise UnknownServiceError(name, self.service_names) from None

    def required_service(self, name: str | None) -> ServiceConfig:
        """The service a task's ``--service`` names: given, and one of the known ones."""
        if not name:
            raise UsageError(
                f"--service is required; known services: {', '.join(self.service_names)}"
            )
        return self.service(name)

    def select_services(self, name: str | None) -> list[ServiceConfig]:
        """All services, or just the named one (validated)."""
        return [self.service(name)] if name else list(self.services.values())

    def section(self, name: str) -> dict[str, Any]:
        """A feature section (``checks``, ``deploy``, ...) with the profile's overrides merged."""
        if name not in SECTIONS:
            raise KeyError(name)
        base = self.raw.get(name, {}) or {}
        return _deep_merge(base, self.profile.overrides.get(name, {}) or {})

    def settings(self, name: str, cls: type[SettingsT]) -> SettingsT:
        """Section ``name`` as typed, validated settings (:mod:`nbaops.settings`).

        Raises:
            ConfigError: a value of the section is invalid; the line names the file.
        """
        try:
            loaded = load_section(self.section(name), cls, name)
            against = getattr(loaded, "check_services", None)  # rules that name services
            if against is not None:
                against(self.service_names, name)
            return loaded
        except ConfigError as exc:
            raise self.located(exc) from None

    def located(self, exc: ConfigError) -> ConfigError:
        """``exc`` as the one line the README promises: the file, the key, the problem."""
        here = Path.cwd()
        shown = self.path.relative_to(here) if self.path.is_relative_to(here) else self.path
        return ConfigError(f"{shown}: {first_line(exc)}")

    def dataset(self, logical: str) -> str:
        """The real dataset name for a logical one used in nbaops SQL."""
        return self.profile.datasets.get(logical, logical)


def _load_yaml(path: Path) -> tuple[str, Any]:
    """The file's text and its data (libyaml's safe loader when PyYAML was built with it)."""
    from nbaops.yaml_load import load_bounded, read_bounded

    text = read_bounded(path)
    return text, load_bounded(text, str(path))


VALIDATED_DIR = "config-validated"


def _validator_fingerprint() -> str:
    """The installed jsonschema (its validators module's size and mtime), found without
    importing it."""
    spec = importlib.util.find_spec("jsonschema")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    module = Path(next(iter(spec.submodule_search_locations))) / "validators.py"
    try:
        stat = module.stat()
    except OSError:
        return "unknown"
    return f"{module}:{stat.st_size}:{stat.st_mtime_ns}"


def _code_fingerprint() -> str:
    """nbaops' own code that turns the text into checked data (this module's validation, the
    YAML loader) and PyYAML's version: a state folder shared by two checkouts or kept over
    an upgrade held markers of the other code, which then skipped its own, stricter checks."""
    import yaml

    from nbaops import yaml_load

    return f"{files_digest(__file__, yaml_load.__file__)}:{yaml.__version__}"


def _validated_marker(path: Path, text: str, schema_text: str) -> Path:
    """Where a passed validation of exactly this text against exactly this schema, by
    exactly this validator and nbaops code, is remembered: a run then skips importing
    jsonschema (~0.3 s)."""
    digest = hashlib.sha256()
    for part in (text, schema_text, _validator_fingerprint(), _code_fingerprint()):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return state_home(path.parent) / VALIDATED_DIR / digest.hexdigest()


def _validate(path: Path, data: Any, schema_path: Path, text: str) -> None:
    schema_text = schema_path.read_text(encoding="utf-8")
    marker = _validated_marker(path, text, schema_text)
    if marker.exists():
        return
    _validate_now(path, data, schema_text)
    # Only a config that passed is remembered (failures are re-checked every run), and only
    # in a state folder that already exists: loading a config never creates one.
    if marker.parent.parent.is_dir():
        try:
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
        except OSError:
            pass  # read-only state folder: validate every time


def _validate_now(path: Path, data: Any, schema_text: str) -> None:
    import jsonschema  # local import: only paid when a config is validated

    schema = json.loads(schema_text)
    if data is None:  # jsonschema's "None is not of type 'object'" names no file problem
        raise ConfigError(f"{path}: the file is empty (no YAML document)")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        (e for e in validator.iter_errors(data) if not _unquoted_date_taken(e)),
        key=lambda e: (list(e.absolute_path), e.message),
    )
    if errors:
        best = jsonschema.exceptions.best_match(errors) or errors[0]
        message = _readable(best)
        if len(message) > 200:
            message = message[:197] + "..."
        raise ConfigError(f"{path}: {_key_path(best.absolute_path)}: {message}")


def _takes_a_date(schema: Any) -> bool:
    """The schema is a text that may be a date (a check's ``game_date``)."""
    pattern = schema.get("pattern") if isinstance(schema, dict) else None
    return schema.get("type") == "string" and bool(pattern and re.search(pattern, "2000-01-01"))


def _unquoted_date_taken(error: Any) -> bool:
    """YAML reads an unquoted ``2025-01-15`` as a date: where a date is taken as text it is
    that date (the checks read it with the same bounds as the text, as in a post_deploy
    entry), not an error."""
    return (
        error.validator == "type"
        and type(error.instance) is dt.date
        and _takes_a_date(error.schema)
    )


def _readable(error: Any) -> str:
    """The schema error's message; an unquoted date or timestamp (YAML's own types) is
    shown as written, not as ``datetime.date(2025, 1, 15) is not of type 'string'``."""
    value = error.instance
    if error.validator != "type" or not isinstance(value, dt.date):
        return str(error.message)
    shown = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if _takes_a_date(error.schema):
        return f"{shown} is not a date (YYYY-MM-DD, today, yesterday)"
    return f"{shown} is not text (quote it: '{shown}')"


def load_config(path: Path | None = None, profile: str | None = None) -> Config:
    """Load, validate and bind the config to a profile.

    Args:
        path: the config file; default ``nbaops.yaml`` at the project root
            (``NBAOPS_CONFIG`` overrides).
        profile: profile name; default ``NBAOPS_PROFILE``, then ``default_profile``,
            then ``local``.

    Raises:
        ConfigError: missing, unreadable, malformed or schema-invalid config.
        UsageError: unknown profile.
    """
    if path is None:
        env = typed("NBAOPS_CONFIG")  # stripped, ``~`` expanded
        path = Path(env) if env is not None else project_root() / CONFIG_NAME
    path = path.resolve()
    text, data = _load_yaml(path)
    schema_path = schemas_dir(Path(__file__).resolve().parent.parent) / "config.schema.json"
    if not schema_path.is_file():
        schema_path = schemas_dir(path.parent) / "config.schema.json"
    _validate(path, data, schema_path, text)
    name = profile or read("NBAOPS_PROFILE") or data.get("default_profile") or "local"
    profiles = data["profiles"]
    if name not in profiles:
        where = "" if profile or read("NBAOPS_PROFILE") else f"{path}: default_profile: "
        raise UsageError(f"{where}unknown profile {name!r}; known profiles: {', '.join(profiles)}")
    body = profiles[name]
    bq = body.get("bigquery") or {}
    base = ProfileConfig(name, body["kind"], body["project"], body["region"])
    prof = load_section(
        {
            **body,
            "bigquery_location": bq.get("location"),
            "bigquery_maximum_bytes_billed": bq.get("maximum_bytes_billed"),
        },
        ProfileConfig,
        name,
        base=base,
    )
    return Config(path=path, raw=data, profile=prof)
