"""The local Google API stand-in: one HTTP server on 127.0.0.1 per state folder per process.

It speaks what the official clients send over REST (docs/standin.md has the whole
contract): Cloud Run Admin API v2 (services, revisions, long-running operations that
finish when read; :mod:`~nbaops.local.cloudrun_update` has the write semantics), Cloud
Logging ``entries:list``, Cloud Monitoring ``timeSeries.list``
(:mod:`~nbaops.local.monitoring_api`; gRPC: :mod:`~nbaops.local.monitoring_grpc`), identity
(OAuth/STS tokens, IAM Credentials, the metadata server: :mod:`~nbaops.local.iam_standin`)
and each revision's own URLs (:mod:`~nbaops.local.run_urls`): the health JSON, 503 when
the revision is degraded or not ready, 403/401 without a valid ID token for its audience.

Every Google API request is first checked against Google's discovery documents
(:mod:`~nbaops.local.discovery`): anything they do not publish gets Google's 400
``INVALID_ARGUMENT`` before a handler runs. Lists come in pages with opaque tokens, as
AIP-158 describes (:mod:`~nbaops.local.paging`, docs/standin.md "Lists come in pages").
State lives in files under ``home``, read fresh per request and written atomically under a
lock, so stand-ins of several processes share it; every request is appended to
``home/standin-requests.jsonl`` (:mod:`~nbaops.local.request_log`). What the served world
decides (a degraded new revision, the metrics' seed and canary faults) comes from injected
:class:`~nbaops.local.world.WorldHooks`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from nbaops.clock import rfc3339
from nbaops.local import (
    api_faults,
    cloudrun_state,
    cloudrun_update,
    discovery,
    iam_standin,
    log_store,
    paging,
    request_log,
    run_urls,
)
from nbaops.local.cloudrun_render import render_operation, render_service
from nbaops.local.cloudrun_state import (
    StandInApiError,
    invalid_argument,
    not_found,
    short,
    strip_private,
)
from nbaops.local.http_server import InFlight, StandInRequestHandler, StandInServer, read_body
from nbaops.local.state_files import locked
from nbaops.local.world import NO_FAULTS, WorldHooks

# Paths of Google API requests (validated against the discovery documents); anything
# else is a revision's own URL or the stand-in's ping.
API_PREFIXES = ("/v1/", "/v2/", "/v3/")
# OAuth 2.0 and STS token endpoints (form-encoded). Plain OAuth ``/token`` has no discovery
# document (nor an API prefix: unvalidated); STS ``/v1/token`` has one (sts.v1). Both
# bodies carry credentials (refresh tokens, subject tokens), so neither is ever logged.
IDENTITY_TOKEN_PATHS = ("/token", "/v1/token")
METADATA_IDENTITY = "/computeMetadata/v1/instance/service-accounts/default/identity"
METADATA_ACCOUNT_INFO = "/computeMetadata/v1/instance/service-accounts/default/"
# Cloud Logging entries:list (logging.v2 ``pageSize``: "Default is 50"); a larger request
# is served 1000 at a time (nbaops' reader asks for at most 1000: adapters/logs.py).
LOG_DEFAULT_PAGE_SIZE = 50
LOG_MAX_PAGE_SIZE = 1000
LOG_ORDERS = ("timestamp asc", "timestamp desc")
# The status of http.server's own refusals and the request deadline's 408 (send_error)
_ERROR_STATUS = {408: "DEADLINE_EXCEEDED", 501: "UNIMPLEMENTED"}


def _flag(query: dict[str, list[str]], name: str) -> bool:
    """A boolean query parameter (the contract has checked it parses as one)."""
    return (query.get(name) or ["false"])[0] == "true"


def _now() -> str:
    """Resource times follow nbaops' clock (``NBAOPS_NOW``), like the sandbox's data."""
    from nbaops import clock

    return rfc3339(clock.now())


@dataclass
class StandIn:
    """A running stand-in server. Use :meth:`start`; one per state folder per process."""

    home: Path
    server: StandInServer
    thread: threading.Thread
    _instances: ClassVar[dict[str, StandIn]] = {}
    _start_lock: ClassVar[threading.Lock] = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (use as ``api_endpoint`` for both clients)."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, home: Path, hooks: WorldHooks | None = None) -> StandIn:
        """The stand-in serving ``home`` in this process, started on first call.

        ``hooks`` answer for the served world (:mod:`nbaops.local.world`); given to a
        running stand-in they replace its hooks, omitted they keep them.
        """
        key = str(Path(home).resolve())
        with cls._start_lock:
            existing = cls._instances.get(key)
            if existing is not None and existing.thread.is_alive():
                if hooks is not None:
                    existing.server.hooks = hooks
                return existing
            home_path = Path(key)
            home_path.mkdir(parents=True, exist_ok=True)
            server = StandInServer(("127.0.0.1", 0), _Handler)
            server.home = home_path
            server.in_flight = InFlight()
            server.hooks = hooks or NO_FAULTS
            thread = threading.Thread(
                target=server.serve_forever,
                # shutdown() waits for the loop's next poll: 0.5 s by default, paid by
                # every test that stops a stand-in; 20 polls a second cost nothing.
                kwargs={"poll_interval": 0.05},
                name=f"nbaops-standin-{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            instance = cls(home=home_path, server=server, thread=thread)
            cls._instances[key] = instance
            return instance

    def stop(self) -> None:
        """Stop serving (tests); a later :meth:`start` starts a new server."""
        self.server.shutdown()
        self.server.server_close()
        with self._start_lock:
            key = str(self.home)
            if self._instances.get(key) is self:
                del self._instances[key]

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until no request is being handled (tests: a delayed ``timeout`` fault's
        request has been answered); False when ``timeout_s`` passed first."""
        flight = self.server.in_flight
        with flight.changed:
            return flight.changed.wait_for(lambda: flight.count == 0, timeout_s)

    @staticmethod
    def requests(home: Path) -> list[dict[str, Any]]:
        """Every request any stand-in for ``home`` received (see :mod:`request_log`)."""
        return request_log.read(Path(home))


class _Handler(StandInRequestHandler):
    server: StandInServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the body waits for the
    # client's delayed ACK of the headers: ~40 ms per request on loopback.
    disable_nagle_algorithm = True
    _raw_body: bytes = b""

    # ------------------------------------------------------------ plumbing

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the request log file has it)."""

    @property
    def home(self) -> Path:
        return self.server.home

    def _body(self) -> dict[str, Any]:
        raw = self._raw_body
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise invalid_argument(f"Invalid JSON payload received. {exc}") from exc
        if not isinstance(data, dict):
            raise invalid_argument("JSON body must be an object")
        return data

    def _contract_body(self) -> Any:
        """The body as the contract sees it: JSON, or a form (STS token exchange) as a dict.

        google-auth sends the STS ``v1/token`` exchange form-encoded, which Google accepts
        for that method; its fields are checked against the request schema like JSON ones.
        """
        if not self._raw_body:
            return None
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        if content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(self._raw_body.decode("utf-8"), keep_blank_values=True))
        return self._body()

    def _is_api_request(self, path: str) -> bool:
        """A Google API call (validated), not a request to a revision's own URL.

        A revision reached through its host (``*.run.app``, ``TAG---SERVICE-…``) serves its
        own paths, whatever they look like.
        """
        host = (self.headers.get("Host") or "").split(":", 1)[0]
        if host.endswith(".run.app") or "---" in host:
            return False
        return path.startswith(API_PREFIXES)

    def _check_contract(self, method: str, path: str, query: str) -> None:
        """Validate an API request against the discovery documents and log it; a request
        to a revision's own URL is logged unvalidated.

        Raises:
            StandInApiError: the body is not JSON, or the contract rejects the request.
        """
        if not self._is_api_request(path):
            request_log.record(self.home, request_log.entry(method, path, query, "service-url"))
            return
        request_log.check_and_record(
            self.home,
            method,
            path,
            query,
            self._contract_body,
            log_body=path not in IDENTITY_TOKEN_PATHS,
        )

    def _send(self, status: int, payload: dict[str, Any] | bytes, **headers: str) -> None:
        """A JSON reply, or ``bytes`` as text/plain (the metadata server's token)."""
        plain = isinstance(payload, bytes)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        content_type = "text/plain" if plain else "application/json; charset=UTF-8"
        try:
            self.send_response(status)
            for name, value in {"Content-Type": content_type, **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:  # the client learns the connection ends here
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout fault); nothing to answer

    def _dispatch(self) -> None:
        with self.server.in_flight:
            self._handle(self.command)

    # PUT too: Google's clients use it, and an API route answers it 404 in JSON (discovery).
    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (an unknown method, a malformed request line) in
        Google's JSON error shape, which the official clients parse, not its HTML page."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        self._send(
            code,
            StandInApiError(code, _ERROR_STATUS.get(code, "INVALID_ARGUMENT"), text).to_json(),
        )

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = discovery.query_params(split.query)  # updateMask or update_mask alike
        host = run_urls.parse_host(self.headers.get("Host") or "")
        try:
            # Read the whole body first: a reply sent before reading it (a fault) would
            # leave it in the keep-alive stream and corrupt the next request.
            self._raw_body = read_body(self)
            self._check_contract(method, path, split.query)
            if host is not None:
                self._health_host(method, host)
            elif path in IDENTITY_TOKEN_PATHS or iam_standin.is_iam_path(path):
                self._identity(method, path)
            elif path == METADATA_IDENTITY and method == "GET":
                self._metadata_identity(query)
            elif path == METADATA_ACCOUNT_INFO and method == "GET":
                self._metadata_flavor()
                self._send(200, iam_standin.metadata_account_info())
            elif path.startswith("/v2/entries:list"):
                if method != "POST":
                    raise StandInApiError(405, "UNIMPLEMENTED", "use POST for entries:list")
                self._logging(method)
            elif path.startswith("/v2/projects/"):
                self._admin(method, path, query)
            elif path.startswith("/v3/projects/"):
                self._monitoring(method, path, query)
            elif path == "/_standin/ping":
                self._send(200, {"ok": True})
            else:
                raise not_found(f"no such endpoint: {method} {path}")
        except StandInApiError as exc:
            self._send(exc.code, exc.to_json())
        except Exception as exc:  # a stand-in bug must still answer like an API
            bug = StandInApiError(500, "INTERNAL", f"stand-in error: {type(exc).__name__}: {exc}")
            self._send(500, bug.to_json())

    # ------------------------------------------------------------ faults

    def _fault(self, scope: str, service: str | None, method: str) -> dict[str, Any] | None:
        fault = api_faults.take_fault(self.home, scope, service=service, method=method)
        if fault is None:
            return None
        kind = fault["kind"]
        if kind in ("timeout", "health-timeout"):
            delay = fault.get("delay_s")  # a fault file written by hand may leave it out
            time.sleep(float(api_faults.TIMEOUT_DELAY_S if delay is None else delay))
            return None
        if kind in api_faults.DEFAULT_STATUS:
            raise api_faults.fault_error(fault)
        return fault  # lro-fail: the caller applies it

    # ------------------------------------------------------------ Cloud Run Admin API

    def _admin(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        parts = path.strip("/").split("/")
        # v2 projects P locations L (services S (revisions R)?)? | operations ID
        if len(parts) < 6 or parts[1] != "projects" or parts[3] != "locations":
            raise not_found(f"no such resource: {path}")
        project, region, collection = parts[2], parts[4], parts[5]
        service = parts[6] if collection == "services" and len(parts) > 6 else None
        self._fault("admin", service, method)
        parent = f"projects/{project}/locations/{region}"
        if collection == "operations" and len(parts) == 7 and method == "GET":
            self._get_operation(f"{parent}/operations/{parts[6]}")
            return
        if collection != "services":
            raise not_found(f"no such collection: {collection}")
        if len(parts) == 6:
            if method == "GET":
                state = cloudrun_state.load_state(self.home)
                names = sorted(k for k in state["services"] if k.startswith(parent + "/services/"))
                page, token = paging.run_list_page(names, parent, query)
                services = [render_service(state, state["services"][k]) for k in page]
                self._send(200, paging.listing("services", services, token))
                return
            if method == "POST":
                service_id = (query.get("serviceId") or [""])[0]
                self._create_service(parent, service_id, self._body(), query)
                return
        if service and service.endswith(":testIamPermissions") and len(parts) == 7:
            if method != "POST":
                raise StandInApiError(405, "UNIMPLEMENTED", "use POST for testIamPermissions")
            self._test_iam_permissions(f"{parent}/services/{service.split(':', 1)[0]}")
            return
        full = f"{parent}/services/{service}"
        if len(parts) == 7:
            if method == "GET":
                state = self._progress(full)
                svc = state["services"].get(full)
                if svc is None:
                    raise cloudrun_state.not_found_service(full)
                self._send(200, render_service(state, svc))
                return
            if method == "PATCH":
                self._patch_service(full, self._body(), query)
                return
        if len(parts) in (8, 9) and parts[7] == "revisions" and method == "GET":
            state = cloudrun_state.load_state(self.home)
            if full not in state["services"]:
                raise cloudrun_state.not_found_service(full)
            if len(parts) == 8:
                revs = cloudrun_state.revisions_of(state, full)
                page, token = paging.run_list_page(revs, full, query)
                reply = paging.listing("revisions", [strip_private(r) for r in page], token)
                self._send(200, reply)
                return
            rev = state["revisions"].get(f"{full}/revisions/{parts[8]}")
            if rev is None:
                raise not_found(f"Revision '{parts[8]}' of service '{service}' does not exist.")
            self._send(200, strip_private(rev))
            return
        raise StandInApiError(
            501, "UNIMPLEMENTED", f"{method} {path} is not supported by the local stand-in"
        )

    def _get_operation(self, name: str) -> None:
        with locked(self.home):
            state = cloudrun_state.load_state(self.home)
            op = cloudrun_update.poll_operation(state, name)
            if op is None:
                raise not_found(f"operation {name} does not exist")
            cloudrun_state.save_state(self.home, state)
            rendered = render_operation(state, op)
        self._send(200, rendered)

    def _progress(self, full: str) -> dict[str, Any]:
        """The state after a read of service ``full``: its pending operations advance.

        A rollout progresses while someone watches it, through ``operations.get`` or by
        reading the service (what nbaops does, see ``CloudRun._update``).
        """
        state = cloudrun_state.load_state(self.home)
        if not cloudrun_update.pending_operations(state, full):
            return state
        with locked(self.home):
            state = cloudrun_state.load_state(self.home)
            for name in cloudrun_update.pending_operations(state, full):
                cloudrun_update.poll_operation(state, name)
            cloudrun_state.save_state(self.home, state)
        return state

    def _lro_polls(self, service: str | None) -> int:
        """How many polls the next operation stays ``done: false`` (``slow-lro`` fault)."""
        fault = api_faults.take_fault(self.home, "lro-slow", service=service, method="PATCH")
        return int(fault.get("polls") or 0) if fault else 0

    def _patch_service(self, full: str, body: dict[str, Any], query: dict[str, list[str]]) -> None:
        """``services.patch``; with ``allowMissing=true`` a missing service is created,
        every field applied whatever the mask (run.v2 "If set to true, and if the Service
        does not exist, it will create a new one"; AIP-134 "All fields are applied
        regardless of any provided field mask"), and an existing one updated (AIP-134:
        "only fields declared in the field mask are updated"). Which of the two is decided
        under the lock the write takes: two upserts of a missing service at once both
        found it missing, and the second was refused 409 ALREADY_EXISTS."""
        with locked(self.home):
            state = cloudrun_state.load_state(self.home)
            if _flag(query, "allowMissing") and full not in state["services"]:
                parent, service = full.rsplit("/services/", 1)
                rendered = self._created(parent, service, body, query)
            else:
                rendered = self._updated(state, full, body, query)
        self._send(200, rendered)

    def _updated(
        self, state: dict[str, Any], full: str, body: dict[str, Any], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """Update the existing service ``full`` of ``state``; the operation, rendered. Call
        under :func:`locked` (``state`` read under it)."""
        service = short(full)
        parent = full.rsplit("/services/", 1)[0]
        update_mask = (query.get("updateMask") or [""])[0] or None
        # lro-fail is about a new revision failing to become ready: it waits for an update
        # that can create one (template in the mask, or no mask), not a lease/traffic write.
        # A validateOnly dry run starts no rollout: the faults wait for the real update.
        paths = cloudrun_update.mask_paths(update_mask)
        creates = paths is None or any(p.split(".")[0] == "template" for p in paths)
        dry_run, force = _flag(query, "validateOnly"), _flag(query, "forceNewRevision")
        # a refused write takes no fault (check_write)
        options: dict[str, Any] = {"update_mask": update_mask, "force_new_revision": force}
        cloudrun_update.check_write(state, full, body, create=False, **options)
        fault = self._fault("lro", service, "PATCH") if creates and not dry_run else None
        fail = "Revision failed to become ready (injected fault lro-fail)" if fault else None
        polls = 0 if dry_run else self._lro_polls(service)
        _svc, _new, error = cloudrun_update.update_service(
            state,
            full,
            body,
            when=_now(),
            on_new_revision=self._new_revision_hook(query),
            fail_new_revision=fail,
            **options,
        )
        op = cloudrun_update.start_operation(state, parent, full, error, when=_now(), polls=polls)
        return self._commit(state, op, query)

    def _new_revision_hook(
        self, query: dict[str, list[str]]
    ) -> cloudrun_update.NewRevisionHook | None:
        """The world's hook for a new revision; none for a ``validateOnly`` dry run, whose
        revision is never made (the sandbox's hook consumes its armed fault and degrades
        its data: the real deploy after the dry run got a healthy revision)."""
        if _flag(query, "validateOnly"):
            return None
        return lambda service, revision: self.server.hooks.on_new_revision(
            self.home, service, revision
        )

    def _commit(
        self, state: dict[str, Any], op: dict[str, Any], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """Save ``state`` and render ``op``; with ``validateOnly=true`` nothing is saved and
        the operation is answered finished (a server-side dry run: "validated and default
        values populated, without persisting the request"). Call under :func:`locked`."""
        if _flag(query, "validateOnly"):
            cloudrun_update.finish_operation(state, op)
        else:
            cloudrun_state.save_state(self.home, state)
        return render_operation(state, op)

    def _create_service(
        self, parent: str, service_id: str, body: dict[str, Any], query: dict[str, list[str]]
    ) -> None:
        self._send(200, self._created(parent, service_id, body, query))

    def _created(
        self, parent: str, service_id: str, body: dict[str, Any], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """Create service ``service_id`` under ``parent``; the operation, rendered."""
        if not service_id:  # Google then generates an id: the stand-in does not guess one
            raise StandInApiError(
                501, "UNIMPLEMENTED", "the local stand-in needs a serviceId to create a service"
            )
        with locked(self.home):  # a refused create takes no fault (check_write)
            state = cloudrun_state.load_state(self.home)
            cloudrun_update.check_write(state, f"{parent}/services/{service_id}", body, create=True)
            polls = 0 if _flag(query, "validateOnly") else self._lro_polls(service_id)
            svc, _new, error = cloudrun_update.create_service(
                state,
                parent,
                service_id,
                body,
                when=_now(),
                on_new_revision=self._new_revision_hook(query),
            )
            op = cloudrun_update.start_operation(
                state, parent, svc["name"], error, when=_now(), polls=polls
            )
            return self._commit(state, op, query)

    # ------------------------------------------------------------ Cloud Logging

    def _logging(self, method: str) -> None:
        """``entries:list`` (logging.v2): filter, ``orderBy``, pages with a cursor token.

        ``orderBy``: "the only permitted values are "timestamp asc" (default) and "timestamp
        desc"", anything else is 400. ``pageSize``: "Default is 50. If the value is
        negative, the request is rejected". The ``nextPageToken`` is a cursor, the last
        entry returned (timestamp, insertId) and a digest of filter, order and resource
        names: the next page continues strictly after that entry, so an entry ingested
        between two pages of a newest-first listing is not returned twice (an offset would
        repeat the last one). A token that is not ours, or was issued for another filter,
        order or resourceNames, is 400 ``INVALID_ARGUMENT`` ("The values of other method
        parameters should be identical to those in the previous call").

        Faults come after those checks and the filter's (a refused request spends none):
        ``logging-empty-pages`` answers no entries and a token that continues where the
        request was (its own, or the first page's), as when the search ran out of time.
        """
        body = self._body()
        names = [str(name) for name in body.get("resourceNames") or []]
        # a project, or one of its LogViews (projects/P/locations/L/buckets/B/views/V); the
        # deprecated projectIds name projects too
        projects = [name.split("/")[1] for name in names if name.startswith("projects/")]
        projects += [str(project) for project in body.get("projectIds") or []]
        if not names and not projects:  # resourceNames: "Required."
            raise paging.invalid_field("resource_names", "resourceNames must not be empty.")
        order = " ".join(str(body.get("orderBy") or LOG_ORDERS[0]).lower().split())
        if order not in LOG_ORDERS:
            message = (
                f'Invalid orderBy {body.get("orderBy")!r}: use "timestamp asc" or "timestamp desc".'
            )
            raise paging.invalid_field("order_by", message)
        desc = order == "timestamp desc"
        size = paging.page_size(
            body.get("pageSize"), default=LOG_DEFAULT_PAGE_SIZE, maximum=LOG_MAX_PAGE_SIZE
        )
        filter_ = str(body.get("filter", ""))
        scope = paging.scope_digest(filter_, order, sorted(names), sorted(projects))
        after = log_store.page_cursor(str(body.get("pageToken") or ""), scope, desc=desc)
        try:
            entries = log_store.query(self.home, filter_, order_desc=desc, projects=projects)
        except log_store.FilterError as exc:
            raise invalid_argument(f"invalid filter: {exc}") from exc
        fault = self._fault("logging", None, method)  # a refused request takes none
        if fault is not None and fault["kind"] == "logging-empty-pages":
            again = str(body.get("pageToken") or "") or log_store.first_page_token(scope)
            self._send(200, {"nextPageToken": again})
            return
        if after is not None:
            entries = [e for e in entries if log_store.position(e, desc=desc) > after]
        page = entries[:size]
        fallback = projects[0] if projects else log_store.DEFAULT_PROJECT
        for entry in page:
            entry.setdefault("logName", f"projects/{fallback}/logs/{log_store.DEFAULT_LOG}")
        reply: dict[str, Any] = {"entries": page}
        if len(entries) > size:
            reply["nextPageToken"] = log_store.next_page_token(page[-1], scope)
        self._send(200, reply)

    def _test_iam_permissions(self, full: str) -> None:
        """The local caller owns the project: it holds every valid permission asked for,
        except a service's private ``_denied_permissions`` (tests of a missing grant)."""
        state = cloudrun_state.load_state(self.home)
        if full not in state["services"]:
            raise cloudrun_state.not_found_service(full)
        asked = self._body().get("permissions") or []
        for permission in asked:
            if not isinstance(permission, str) or not permission.startswith("run."):
                raise invalid_argument(f"Permission {permission!r} is not valid.")
            if "*" in permission:  # run.v2 TestIamPermissionsRequest.permissions
                raise invalid_argument(f"Permission {permission!r}: wildcards are not allowed.")
        denied = set(state["services"][full].get("_denied_permissions") or [])
        held = [p for p in asked if p not in denied]
        self._send(200, {"permissions": held} if held else {})

    # ------------------------------------------------------------ identity

    def _identity(self, method: str, path: str) -> None:
        if method != "POST":
            raise StandInApiError(405, "UNIMPLEMENTED", f"use POST for {path}")
        if path in IDENTITY_TOKEN_PATHS:
            handler = iam_standin.oauth_token if path == "/token" else iam_standin.sts_token
            try:
                form = dict(parse_qsl(self._raw_body.decode("utf-8", "replace")))
                if not form and self._raw_body:
                    form = {k: str(v) for k, v in self._body().items()}
                self._send(200, handler(self.home, form))
            except StandInApiError as exc:
                # A token endpoint (OAuth and STS alike) refuses as RFC 6749 5.2 says,
                # {"error": CODE, "error_description": …}, which google-auth reads; not
                # in the Google API error shape.
                code, _, description = exc.message.partition(": ")
                if " " in code or not description:
                    code, description = "invalid_request", exc.message
                self._send(exc.code, {"error": code, "error_description": description})
            return
        reply = iam_standin.iam_credentials(
            self.home, path, self.headers.get("Authorization"), self._body()
        )
        self._send(200, reply)

    def _metadata_flavor(self) -> None:
        if self.headers.get("Metadata-Flavor") != "Google":
            raise StandInApiError(403, "PERMISSION_DENIED", "Missing Metadata-Flavor: Google")

    def _metadata_identity(self, query: dict[str, list[str]]) -> None:
        """The metadata server's identity endpoint (``GCE_METADATA_HOST`` = the stand-in)."""
        self._metadata_flavor()
        audience = (query.get("audience") or [""])[0]
        if not audience:
            raise invalid_argument("audience is required")
        token = iam_standin.metadata_id_token(self.home, audience).encode("ascii")
        self._send(200, token, **{"Metadata-Flavor": "Google"})

    # ------------------------------------------------------------ Cloud Monitoring

    def _monitoring(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        from nbaops.local import monitoring_api

        self._fault("monitoring", None, method)
        self._send(200, monitoring_api.route(self.home, method, path, query, self.server.hooks))

    # ------------------------------------------------------------ revision endpoints

    def _health_host(self, method: str, host: run_urls.RunHost) -> None:
        state = cloudrun_state.load_state(self.home)
        for full in sorted(state["services"]):
            _, project, _, region, _, service = full.split("/")[:6]
            if run_urls.service_host(project, region, service) == host.service_host:
                self._serve_revision(method, project, region, service, host.tag)
                return
        self._send(404, {"status": "not-found", "error": "no service has this URL"})

    def _serve_revision(
        self, method: str, project: str, region: str, service: str, tag: str | None
    ) -> None:
        """The service URL (``tag`` None: the serving revision) or a tag URL's revision."""
        full = cloudrun_state.service_name(project, region, service)
        self._fault("health", service, method)
        state = cloudrun_state.load_state(self.home)
        svc = state["services"].get(full)
        if svc is None:
            raise not_found(f"no service {service} here")
        audiences = [run_urls.service_url(project, region, service)]
        if tag:
            audiences.append(run_urls.tag_url(project, region, service, tag))
        audiences.extend(str(a) for a in svc.get("customAudiences") or [])
        denial = iam_standin.invoker_denial(
            self.home, self.headers.get("Authorization"), audiences, svc.get("_invokers")
        )
        if denial is not None:
            status, reason = denial
            state_name = "forbidden" if status == 403 else "unauthorized"
            self._send(status, {"status": state_name, "service": service, "error": reason})
            return
        revision = cloudrun_state.serving_revision(state, svc)
        if tag:
            statuses = cloudrun_state.resolve_traffic(state, svc)
            revision = next((e["revision"] for e in statuses if e.get("tag") == tag), None)
        rev = state["revisions"].get(f"{full}/revisions/{revision}") if revision else None
        if rev is None:
            self._send(
                404,
                {"status": "not-found", "service": service, "error": "no revision serves this URL"},
            )
            return
        body: dict[str, Any] = {
            "service": service,
            "revision": short(rev["name"]),
            "commit": rev.get("labels", {}).get("commit-sha"),
        }
        if not cloudrun_state.is_ready(rev):
            self._send(503, {"status": "not-ready", **body, "error": "revision is not ready"})
        elif rev.get("_degraded"):
            error = "dependency check failed: upstream data degraded"
            self._send(503, {"status": "degraded", **body, "error": error})
        else:
            self._send(200, {"status": "ok", **body})
