"""Google's published API contracts (discovery documents) applied to requests we serve.

Every request the stand-in serves must be a published method (route and HTTP method), with
only declared query parameters of the declared types and a JSON body that fits the
method's request schema (no unknown field, the right JSON type, enum values from the
list). A violation is answered like Google's front end: 400 ``INVALID_ARGUMENT`` with the
JSON transcoder's messages ("Unknown name ... Cannot find field.", "Invalid value at
'path' (TYPE_STRING), 5", "Cannot bind query parameter") and a ``google.rpc.BadRequest``
detail listing every field violation.

The documents are the ones ``google-api-python-client`` bundles (a dev/test dependency,
found with :func:`importlib.util.find_spec`; nothing is vendored or fetched): without it
:func:`standin_contract` is None and the stand-in serves unvalidated. A new route needs no
registration (:meth:`Contract.validate` finds the method by route among
:data:`STANDIN_APIS`). A document is read when a request first needs it: a request for
``/v2/…`` reads only the APIs of version ``v2`` (run.v2 and logging.v2), since every route
of a document starts with its version (1.6 MB of JSON for all eight: a health run, which
sends only Logging requests, paid ~20 ms for the six it never used). docs/standin.md has
the whole contract and its tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from nbaops.local.cloudrun_state import StandInApiError

DOCUMENTS_PACKAGE = "googleapiclient.discovery_cache"

# The APIs whose documents the contract loads, in the order used to break ties between
# two equally specific matching routes: the Cloud Run ``operations/ID`` route also exists
# in Logging. The stand-in serves the first five. Secret Manager, Cloud Scheduler and Cloud
# Build have no stand-in route (a request for one passes the contract, then the stand-in
# answers 404 "no such endpoint"); their documents are for the test fakes of those APIs,
# which check every request with them (tests/integration/test_schedule.py's FakeScheduler,
# tests/worlds/secretmanager_fake.py and tests/worlds/cloudbuild_fake.py).
STANDIN_APIS = (
    "run.v2",
    "logging.v2",
    "iamcredentials.v1",
    "sts.v1",  # token exchange for Workload Identity (external_account credentials)
    "monitoring.v3",
    "secretmanager.v1",
    "cloudscheduler.v1",
    "cloudbuild.v1",
)

_TYPE_NAMES = {
    ("string", None): "TYPE_STRING",
    ("string", "int64"): "TYPE_INT64",
    ("string", "uint64"): "TYPE_UINT64",
    ("string", "byte"): "TYPE_BYTES",
    ("string", "google-datetime"): "type.googleapis.com/google.protobuf.Timestamp",
    ("string", "google-duration"): "type.googleapis.com/google.protobuf.Duration",
    ("string", "google-fieldmask"): "type.googleapis.com/google.protobuf.FieldMask",
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("number", "double"): "TYPE_DOUBLE",
    ("number", "float"): "TYPE_FLOAT",
    ("boolean", None): "TYPE_BOOL",
}
_DURATION_RE = re.compile(r"^-?\d+(\.\d{1,9})?s\Z")
_INT_RE = re.compile(r"^-?\d+\Z")
_TIMESTAMP_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})\Z"
)
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}\Z")
_SEGMENT_PARAM_RE = re.compile(r"\{[^}]+\}")


class ContractError(StandInApiError):
    """A request the published contract rejects, answered as Google's error JSON."""


@functools.cache
def _documents_dir() -> Path | None:
    """``googleapiclient/discovery_cache/documents``, or None without the package.

    Found with :func:`importlib.util.find_spec`, which does not run the package's
    ``__init__`` (that imports :mod:`logging` and more: ~20 ms of the stand-in's first
    request, which ``importlib.resources.files`` paid).
    """
    spec = importlib.util.find_spec(DOCUMENTS_PACKAGE.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / DOCUMENTS_PACKAGE.split(".", 1)[1] / "documents"


def documents_available() -> bool:
    """True when the discovery documents can be read (``google-api-python-client`` installed)."""
    folder = _documents_dir()
    return folder is not None and (folder / "run.v2.json").is_file()


@functools.cache
def load_document(api: str) -> dict[str, Any]:
    """The discovery document ``api`` (``"run.v2"``) as bundled by google-api-python-client.

    Raises:
        FileNotFoundError: the package or that document is not installed.
    """
    folder = _documents_dir()
    if folder is None:
        raise FileNotFoundError(
            f"discovery document {api}: google-api-python-client is not installed"
        )
    text = (folder / f"{api}.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@dataclass(frozen=True)
class ApiMethod:
    """One published REST method: ``api`` document, method ``id``, HTTP route and schemas."""

    api: str
    id: str
    http_method: str
    flat_path: str
    parameters: Mapping[str, Any]
    request_ref: str | None
    response: Mapping[str, Any] | None = None
    specificity: int = 0

    def query_parameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.parameters.items() if v.get("location") == "query"}

    def matches(self, path: str) -> bool:
        """Whether ``path`` (``/v2/projects/p/…``) is this method's route.

        Literal checks first (the text before the first ``{param}`` and after the last, the
        number of segments), the route's regex only for a path that passes them: a run
        serves a handful of requests, and compiling all ~500 published routes' regexes
        up front cost the first request ~50 ms.
        """
        flat = self.flat_path
        head, brace, _ = flat.partition("{")
        if not brace:
            return path == f"/{flat}"
        return (
            path.startswith(f"/{head}")
            and path.endswith(flat.rsplit("}", 1)[1])
            and path.count("/") == flat.count("/") + 1
            and _route_regex(flat).fullmatch(path) is not None
        )


@functools.cache
def _route_regex(flat_path: str) -> re.Pattern[str]:
    """The regex of a ``flatPath`` (``v2/projects/{projectsId}/…:verb``): each ``{param}``
    is one non-empty run of characters other than ``/``."""
    parts = _SEGMENT_PARAM_RE.split(flat_path)
    return re.compile("/" + "[^/]+".join(re.escape(part) for part in parts))


def _methods(api: str, node: Mapping[str, Any]) -> Iterable[ApiMethod]:
    for spec in node.get("methods", {}).values():
        flat = spec.get("flatPath") or spec["path"]
        yield ApiMethod(
            api=api,
            id=spec["id"],
            http_method=spec["httpMethod"].upper(),
            flat_path=flat,
            parameters=spec.get("parameters", {}),
            request_ref=(spec.get("request") or {}).get("$ref"),
            response=spec.get("response"),
            specificity=len(_SEGMENT_PARAM_RE.sub("", flat)),  # its literal characters
        )
    for child in node.get("resources", {}).values():
        yield from _methods(api, child)


def _snake(name: str) -> str:
    """``latestReadyRevision`` → ``latest_ready_revision`` (error paths use proto names)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    """``update_mask`` → ``updateMask`` (a proto field name as its JSON name)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def query_params(query: str) -> dict[str, list[str]]:
    """A request's query parameters under their JSON names, however they were spelled:
    HTTP transcoding binds a query parameter by its proto field path
    (``update_mask``, google/api/http.proto: "int64 revision = 2; // Mapped to URL query
    parameter `revision`") or its JSON name (``updateMask``, the discovery documents'),
    and :meth:`Contract.validate` accepts both."""
    out: dict[str, list[str]] = {}
    for name, values in parse_qs(query).items():
        out.setdefault(camel(name), []).extend(values)
    return out


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _version(api: str) -> str:
    """``run.v2`` → ``v2``: the first segment of every route of that API's document."""
    return api.rsplit(".", 1)[1]


class Contract:
    """The published methods of several APIs served on one host (see the module docstring).

    Thread-safe: the requests that arrive together at a new stand-in wait for one read of
    the documents they need.
    """

    def __init__(self, apis: Sequence[str] = STANDIN_APIS) -> None:
        self.apis = tuple(apis)
        self._by_version: dict[str, list[ApiMethod]] = {}  # filled as requests need them
        self._loading = threading.Lock()

    @property
    def methods(self) -> list[ApiMethod]:
        """Every published method of every API (all documents read), most specific first."""
        return self._sorted(self.apis)

    def _sorted(self, apis: Iterable[str]) -> list[ApiMethod]:
        """The methods of ``apis``, most specific route first, ties in :attr:`apis` order."""
        order = {api: index for index, api in enumerate(self.apis)}
        methods = [method for api in apis for method in _methods(api, load_document(api))]
        return sorted(methods, key=lambda m: (-m.specificity, order[m.api]))

    def _candidates(self, path: str) -> list[ApiMethod]:
        """The methods whose route may be ``path``: those of the APIs of its first segment,
        their documents read on first need."""
        version = path.split("/", 2)[1] if path.startswith("/") else ""
        with self._loading:
            if version not in self._by_version:
                apis = [api for api in self.apis if _version(api) == version]
                self._by_version[version] = self._sorted(apis)
            return self._by_version[version]

    # ------------------------------------------------------------ routes

    def match(self, http_method: str, path: str) -> ApiMethod:
        """The published method for ``http_method path`` (most specific route first).

        Raises:
            ContractError: 404 NOT_FOUND when no API publishes the path, or publishes it
                only for other HTTP methods (Google's front end answers both with 404).
        """
        other_methods: set[str] = set()
        for method in self._candidates(path):
            if method.matches(path):
                if method.http_method == http_method.upper():
                    return method
                other_methods.add(method.http_method)
        if other_methods:
            raise ContractError(
                404,
                "NOT_FOUND",
                f"{http_method} {path}: the published API allows only "
                f"{', '.join(sorted(other_methods))} on this route",
            )
        raise ContractError(
            404, "NOT_FOUND", f"{http_method} {path}: no method of {', '.join(self.apis)}"
        )

    # ------------------------------------------------------------ validation

    def validate(self, http_method: str, path: str, query: str, body: Any | None) -> ApiMethod:
        """Check one request; the matching method when the contract accepts it.

        Args:
            http_method: ``GET``, ``PATCH``…
            path: the URL path, percent-decoded (``/v2/projects/p/…``).
            query: the raw query string.
            body: the parsed JSON body, None when the request had none.

        Raises:
            ContractError: 404 unknown route or method; 400 INVALID_ARGUMENT for a bad query
                parameter or body field (every violation listed in ``fieldViolations``).
        """
        method = self.match(http_method, path)
        violations = self._check_query(method, query)
        if body is not None:
            if method.request_ref is None:
                if body not in ({}, None):
                    violations.append(
                        ("", f"Invalid JSON payload received. {method.id} takes no request body.")
                    )
            else:
                self._check_value(method.api, {"$ref": method.request_ref}, body, "", violations)
        if violations:
            message = "\n".join(d for _, d in violations)
            raise ContractError(400, "INVALID_ARGUMENT", message, violations=violations)
        return method

    def response_violations(self, method: ApiMethod, payload: Any) -> list[tuple[str, str]]:
        """How a reply body departs from the method's response schema (empty: it fits).

        For the stand-in's own tests: its replies must only hold published fields.
        """
        violations: list[tuple[str, str]] = []
        if method.response:
            self._check_value(method.api, method.response, payload, "", violations)
        return violations

    def _check_query(self, method: ApiMethod, query: str) -> list[tuple[str, str]]:
        document = load_document(method.api)
        declared = method.query_parameters()
        system = document.get("parameters", {})
        violations: list[tuple[str, str]] = []
        values = parse_qs(query, keep_blank_values=True)
        for name, items in values.items():
            # a query parameter may be spelled with its proto (snake_case) name too
            spec = declared.get(name) or declared.get(camel(name))
            if spec is None:
                # System parameters may be spelled with a leading "$" ($alt, $fields):
                # https://cloud.google.com/apis/docs/system-parameters
                bare = name[1:] if name.startswith("$") and not name.startswith("$.") else name
                spec = system.get(bare) or system.get(name)
                if spec is not None and bare == "alt":
                    # "$alt=json;enum-encoding=int": the REST transports' numeric enums
                    items = [i.split(";", 1)[0] for i in items]
            if spec is None:
                text = (
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                    f"parameter. Field '{name}' could not be found in request message."
                )
                violations.append(("", text))
                continue
            if len(items) > 1 and not spec.get("repeated"):
                violations.append(
                    (
                        _snake(name),
                        f"Invalid JSON payload received. Repeated values for field "
                        f"'{name}' that is not repeated.",
                    )
                )
                continue
            for item in items:
                problem = _query_value_problem(spec, item)
                if problem is None and spec.get("format") == "google-fieldmask":
                    problem = self._fieldmask_problem(method, item)
                if problem:
                    violations.append(
                        (_snake(name), f"Invalid value at '{_snake(name)}' ({problem}), \"{item}\"")
                    )
        for name, spec in declared.items():
            if spec.get("required") and name not in values:
                violations.append((_snake(name), f"Missing required query parameter '{name}'."))
        return violations

    def _fieldmask_problem(self, method: ApiMethod, value: str) -> str | None:
        """A field mask's paths must name fields of the request schema."""
        if method.request_ref is None or not value:
            return None
        for path in value.split(","):
            path = path.strip()
            if path in ("*", ""):
                continue
            schema: Mapping[str, Any] | None = self.schema(method.api, method.request_ref)
            for part in path.split("."):
                props = (schema or {}).get("properties", {})
                prop = props.get(part) or props.get(camel(part))
                if prop is None:
                    return f"type.googleapis.com/google.protobuf.FieldMask: no field {path!r}"
                schema = self._resolve(method.api, prop)
        return None

    def schema(self, api: str, ref: str) -> dict[str, Any]:
        """The named schema of ``api``'s document."""
        schema: dict[str, Any] = load_document(api)["schemas"][ref]
        return schema

    def _resolve(self, api: str, spec: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = spec.get("$ref")
        return self.schema(api, ref) if ref else spec

    def _check_value(
        self,
        api: str,
        spec: Mapping[str, Any],
        value: Any,
        path: str,
        violations: list[tuple[str, str]],
    ) -> None:
        """Append a violation for every part of ``value`` that does not fit ``spec``."""
        if value is None:
            return  # proto3 JSON: null is the field's default value
        spec = self._resolve(api, spec)
        kind = spec.get("type", "any")
        if kind == "any":
            return
        if kind == "object":
            if not isinstance(value, dict):
                violations.append(_invalid(path, spec, value, "object"))
                return
            props = spec.get("properties")
            extra = spec.get("additionalProperties")
            for key, item in value.items():
                if props is not None and key in props:
                    self._check_value(api, props[key], item, _join(path, _snake(key)), violations)
                elif props is not None and camel(key) in props:
                    self._check_value(api, props[camel(key)], item, _join(path, key), violations)
                elif extra is not None:
                    self._check_value(api, extra, item, f"{path}[{key!r}]", violations)
                else:
                    where = f" at '{path}'" if path else ""
                    violations.append(
                        (
                            path,
                            f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                            "Cannot find field.",
                        )
                    )
            return
        if kind == "array":
            if not isinstance(value, list):
                violations.append(_invalid(path, spec, value, "array"))
                return
            for index, item in enumerate(value):
                self._check_value(api, spec.get("items", {}), item, f"{path}[{index}]", violations)
            return
        if _scalar_problem(spec, value):
            violations.append(_invalid(path, spec, value, kind))


def _type_name(spec: Mapping[str, Any], kind: str) -> str:
    if "enum" in spec:
        return "TYPE_ENUM"
    if kind in ("object", "array"):
        return "TYPE_MESSAGE" if kind == "object" else "repeated field"
    return _TYPE_NAMES.get((kind, spec.get("format")), f"TYPE_{kind.upper()}")


def _invalid(path: str, spec: Mapping[str, Any], value: Any, kind: str) -> tuple[str, str]:
    shown = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return path, f"Invalid value at '{path}' ({_type_name(spec, kind)}), {shown}"


# proto3 JSON: an integer outside its type's range does not parse (protobuf conformance
# Int32FieldTooLarge, Int32FieldTooSmall, Uint32FieldTooLarge, Int64FieldTooLarge...:
# protocolbuffers/protobuf conformance/binary_json_conformance_suite.cc, "Parsers reject
# out-of-bound integer values")
_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


def _is_int(value: Any, fmt: str | None) -> bool:
    """Whether a JSON value (a number, or a string of digits) is an integer within the
    range of ``fmt`` (an int32 when the document names none)."""
    number: int
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if not value.is_integer():
            return False
        number = int(value)
    elif isinstance(value, str):
        # more digits than any range holds: refused before int(), which raises over 4300
        if not _INT_RE.match(value) or len(value.lstrip("-").lstrip("0")) > 20:
            return False
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        return False
    low, high = _INT_RANGES.get(fmt or "int32", _INT_RANGES["int32"])
    return low <= number <= high


def _enum_number(value: Any) -> bool:
    """Whether ``value`` can be a numeric enum ($alt=json;enum-encoding=int): any int32.
    Proto3 enums are open: a number the enum does not name is accepted and kept (protobuf
    conformance, Required.Proto3.JsonInput.EnumFieldUnknownValue), and the discovery
    document lists names, not numbers, which can have gaps (run.v2
    ``Condition.CommonReason`` has no 2 or 5, and goes up to 17 with 16 names)."""
    return _is_int(value, "int32")


def _scalar_problem(spec: Mapping[str, Any], value: Any) -> bool:
    """True when a JSON scalar does not fit the field (proto3 JSON mapping rules)."""
    kind = spec.get("type")
    fmt = spec.get("format")
    enum = spec.get("enum")
    if enum is not None:
        if isinstance(value, str):
            return value not in enum
        return not _enum_number(value)
    if kind == "boolean":
        return not isinstance(value, bool)
    if kind == "integer":
        return not _is_int(value, fmt)
    if kind == "number":  # a JSON number, or a string that parses as one ("NaN" too)
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return True
            return False
        return isinstance(value, bool) or not isinstance(value, (int, float))
    if kind == "string":
        if fmt in ("int64", "uint64"):
            return not _is_int(value, fmt)
        if not isinstance(value, str):
            return True
        return _string_format_problem(fmt, value)
    return False


def _string_format_problem(fmt: str | None, value: str) -> bool:
    if fmt == "google-datetime":
        # RFC 3339 with a time and an offset, up to nanoseconds (protobuf Timestamp JSON)
        match = _TIMESTAMP_RE.match(value)
        if not match:
            return True
        try:
            dt.datetime.fromisoformat(match.group(1))
        except ValueError:
            return True
        return False
    if fmt == "google-duration":
        return not _DURATION_RE.match(value)
    if fmt == "byte":
        # standard or URL-safe base64, padding optional (proto3 JSON accepts both)
        return not _BASE64_RE.match(value) or len(value.rstrip("=")) % 4 == 1
    return False


def _query_value_problem(spec: Mapping[str, Any], value: str) -> str | None:
    """The proto type name when a query value does not parse as the parameter's type."""
    kind = spec.get("type", "string")
    fmt = spec.get("format")
    if "enum" in spec:
        ok = value in spec["enum"] or _enum_number(value)
        return None if ok else "TYPE_ENUM"
    if kind == "boolean":
        return None if value in ("true", "false") else "TYPE_BOOL"
    if kind == "integer" or fmt in ("int64", "uint64"):
        return None if _is_int(value, fmt) else _type_name(spec, kind)
    if kind == "string" and _string_format_problem(fmt, value):
        return _type_name(spec, kind)
    return None


_CONTRACT_LOCK = threading.Lock()


def standin_contract() -> Contract | None:
    """The stand-in's contract, or None when the documents are not installed (see above).

    Built once per process: the requests that arrive together at a new stand-in (a health
    run's five log queries) share it, and each document it reads (:class:`Contract`).
    """
    with _CONTRACT_LOCK:
        return _build_contract()


@functools.cache
def _build_contract() -> Contract | None:
    if not documents_available():
        return None
    return Contract(STANDIN_APIS)
