"""Cloud Run adapter: services, revisions, deploys and traffic through ``google.cloud.run_v2``.

Always the REST transport. Local profile: anonymous credentials and the stand-in's
``http://127.0.0.1:PORT`` as ``api_endpoint``; prod: Application Default Credentials and
the real endpoint. Google modules are imported lazily (the first call pays ~0.4 s), so
building a :class:`CloudRun` is free. Every API failure raises
:class:`~nbaops.errors.CloudRunError` with one line; a stale ``etag`` on an update raises
:class:`ConcurrentModificationError`.

Writes are partial updates: a Service holding only ``name``, ``etag`` (AIP-154, a stale
one is 409 ``ABORTED``) and what changes, with an ``update_mask`` naming exactly those
top-level fields (AIP-134: fields outside the mask, also ones this client does not know,
are left alone): ``annotations`` (the deploy lock), ``traffic`` (promote, rollback),
``template,labels,traffic`` (a deploy). A traffic or annotation write sends no template:
re-sending ``template.revision`` with a template that differs is answered 409
``ALREADY_EXISTS``, mask or not (googleapis/google-cloud-python#14259). docs/standin.md,
"How nbaops writes to Cloud Run", has the whole reasoning with its sources.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import (
    NotFoundError,
    api_error_text,
    error_status,
    google_call,
    typed_as,
)
from nbaops.clock import as_utc
from nbaops.errors import CloudRunError

if TYPE_CHECKING:
    from nbaops.config import ProfileConfig

T = TypeVar("T")

COMMIT_LABEL = "commit-sha"
REVISION_INDEX_RE = re.compile(r"-(\d{5})-[a-z]{3}$")
_CONDITION_FAILED = 3  # google.cloud.run.v2.Condition.State.CONDITION_FAILED
_BEHIND_READS = 3  # reads of a settled service still behind before it is a failure
_CONDITION_SUCCEEDED = 4  # google.cloud.run.v2.Condition.State.CONDITION_SUCCEEDED
_TRAFFIC_LATEST = 1
_TRAFFIC_REVISION = 2
# what a settled service lacks of a write that creates no revision; None: nothing
Lacking = Callable[[Any], str | None] | None


class ConcurrentModificationError(CloudRunError):
    """The service changed since it was read (stale ``etag``): read it again and retry."""


@dataclass(frozen=True)
class TrafficSplit:
    """A traffic target resolved to a concrete revision (short id)."""

    revision: str
    percent: int
    tag: str = ""


@dataclass(frozen=True)
class RevisionInfo:
    name: str
    service: str
    labels: dict[str, str]
    image: str
    env: dict[str, str]
    ready: bool
    create_time: dt.datetime | None
    message: str = ""

    @property
    def commit(self) -> str | None:
        """The ``commit-sha`` label: the commit this revision was built from."""
        return self.labels.get(COMMIT_LABEL)

    def model_version(self, model_env: str | None) -> str | None:
        """The model version this revision runs: its ``model_env`` variable (None when the
        service has no model or the variable is unset)."""
        return self.env.get(model_env) if model_env else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "commit": self.commit,
            "image": self.image,
            "ready": self.ready,
            "create_time": self.create_time.isoformat() if self.create_time else None,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    uri: str
    ready: bool
    latest_ready_revision: str | None
    latest_created_revision: str | None
    traffic: list[TrafficSplit]
    tag_urls: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    etag: str
    image: str
    generation: int = 0
    message: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # the generation serving: below ``generation`` after a failed rollout (run.v2)
    observed_generation: int = 0
    reconciling: bool = False  # a rollout still in progress (run.v2 Service.reconciling)

    @property
    def serving_revision(self) -> str | None:
        """The revision with the largest traffic share (None when nothing serves): its
        entries summed (a revision can be named twice: untagged and tagged, or LATEST
        and by name); on a tie the latest ready revision, else the newest name."""
        shares = {r: p for r, p in self.traffic_by_revision.items() if p > 0 and r}
        if not shares:
            return None
        latest = self.latest_ready_revision
        return max(shares, key=lambda r: (shares[r], r == latest, r))

    @property
    def traffic_by_revision(self) -> dict[str, int]:
        """Percent per revision (tag-only targets count 0)."""
        out: dict[str, int] = {}
        for split in self.traffic:
            out[split.revision] = out.get(split.revision, 0) + split.percent
        return out

    def tag_url(self, revision: str) -> str | None:
        """The URL of a tag that routes to ``revision`` (None: no tag with a URL yet)."""
        tags = (split.tag for split in self.traffic if split.revision == revision)
        return next((self.tag_urls[tag] for tag in tags if tag in self.tag_urls), None)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] if name else ""


def _routed_to(svc: Any, status: Any) -> str:
    """The revision a traffic status sends to: the one it names, or, for a LATEST target
    whose status names none, the service's latest ready revision (what LATEST means:
    "Allocates instances to the Service's latest ready Revision", run v2
    TrafficTargetAllocationType). A status read without it lost that revision's traffic:
    no serving revision, and a canary split that dropped the current 100%."""
    if status.revision:
        return _short(status.revision)
    if int(status.type_) == _TRAFFIC_LATEST:
        return _short(svc.latest_ready_revision)
    return ""


def _to_datetime(value: Any) -> dt.datetime | None:
    """proto-plus timestamps arrive as DatetimeWithNanoseconds (a datetime); unset = epoch."""
    if not isinstance(value, dt.datetime):
        return None
    value = as_utc(value)
    return None if value.timestamp() <= 0 else value


def _is_secret_ref(env_var: Any) -> bool:
    """True for an env var whose value comes from ``value_source`` (a Secret Manager ref)."""
    return bool(type(env_var).pb(env_var).HasField("value_source"))


def _env_of(container: Any) -> dict[str, str]:
    """Literal env values; secret-backed variables are left out (their value is not here)."""
    return {e.name: e.value for e in getattr(container, "env", []) if not _is_secret_ref(e)}


def new_revision_name(service: str, existing: list[str]) -> str:
    """``{service}-{NNNNN}-{abc}``: one past the highest index, random letters (like gcloud)."""
    index = max((_revision_index(n) for n in existing), default=0) + 1
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
    return f"{service}-{index:05d}-{letters}"


class CloudRun:
    """Cloud Run Admin API v2 for one project/region (see the module docstring).

    Args:
        profile: project and region come from here.
        endpoint: ``http://127.0.0.1:PORT`` for the local stand-in; None for the real API.
        timeout_s: per-request timeout.
        lro_timeout_s: how long to wait for a deploy/traffic operation to finish.
        retries: False disables the client's default retries (fault tests).
        sleep: how to wait between the reads of a service that is still rolling out a
            write (tests inject a recorder): first 1 s against the real API, 0.01 s
            against a local endpoint, ×1.5 each time, at most ten times the first.
    """

    def __init__(
        self,
        profile: ProfileConfig,
        endpoint: str | None = None,
        *,
        timeout_s: float = 30.0,
        lro_timeout_s: float = 600.0,
        retries: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.project = profile.project
        self.region = profile.region
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.lro_timeout_s = lro_timeout_s
        self.retries = retries
        self.poll_initial_s = 0.01 if endpoint else 1.0
        self.poll_max_s = self.poll_initial_s * 10
        self._sleep = sleep or time.sleep

    # ------------------------------------------------------------ clients

    @cached_property
    def services_client(self) -> Any:
        return self._client("ServicesClient")

    @cached_property
    def revisions_client(self) -> Any:
        return self._client("RevisionsClient")

    def _client(self, name: str) -> Any:
        from google.cloud import run_v2

        make = getattr(run_v2, name)
        return self._guard("connect", "", lambda: make(**client_kwargs(self.endpoint)))

    def _call_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"timeout": self.timeout_s}
        if not self.retries:
            options["retry"] = None
        return options

    @property
    def location(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def service_path(self, service: str) -> str:
        return f"{self.location}/services/{service}"

    def _guard(
        self, what: str, service: str, call: Callable[[], T], missing: str | None = None
    ) -> T:
        """Run one client call; every failure is one CloudRunError line (``google_call``).

        A 404 names what is missing (``missing``, else the service with its
        project/region); a 409 ``ABORTED`` (stale etag) is a
        :class:`ConcurrentModificationError`.
        """
        from google.api_core import exceptions as gexc

        from nbaops.heartbeat import heartbeat

        def cloud_run_call() -> T:
            try:
                return call()
            except gexc.NotFound as exc:
                gone = missing or f"service {service!r} not found in {self.project}/{self.region}"
                raise typed_as(NotFoundError, CloudRunError)(
                    f"Cloud Run {what}: {gone}: {api_error_text(exc)}"
                ) from exc
            except gexc.Conflict as exc:
                if error_status(exc) != "ABORTED":
                    raise
                raise ConcurrentModificationError(
                    f"Cloud Run {what} {service}: the service was modified concurrently "
                    "(stale etag); read it again and retry"
                ) from exc

        label = f"{what} {service}".rstrip()
        # A request may take timeout_s (with retries, more): say so every 10 s instead of
        # going silent.
        with heartbeat(f"Cloud Run {label}", self.timeout_s):
            return google_call(
                "Cloud Run",
                label,
                cloud_run_call,
                error=CloudRunError,
                timeout_s=self.timeout_s,
                typed=False,
            )

    # ------------------------------------------------------------ conversion

    @staticmethod
    def _service_info(svc: Any) -> ServiceInfo:
        traffic = [
            TrafficSplit(revision=_routed_to(svc, t), percent=int(t.percent), tag=t.tag)
            for t in svc.traffic_statuses
        ]
        containers = list(svc.template.containers)
        cond = svc.terminal_condition
        return ServiceInfo(
            name=_short(svc.name),
            uri=svc.uri,
            ready=int(cond.state) == _CONDITION_SUCCEEDED and not svc.reconciling,
            latest_ready_revision=_short(svc.latest_ready_revision) or None,
            latest_created_revision=_short(svc.latest_created_revision) or None,
            traffic=traffic,
            # an empty uri is no URL yet (googleapis google/cloud/run/v2/traffic_target.proto)
            tag_urls={t.tag: t.uri for t in svc.traffic_statuses if t.tag and t.uri},
            labels=dict(svc.labels),
            annotations=dict(svc.annotations),
            etag=svc.etag,
            image=containers[0].image if containers else "",
            generation=int(svc.generation),
            observed_generation=int(svc.observed_generation),
            reconciling=bool(svc.reconciling),
            message=cond.message,
            env=_env_of(containers[0]) if containers else {},
        )

    @staticmethod
    def _revision_info(rev: Any) -> RevisionInfo:
        ready = False
        message = ""
        for cond in rev.conditions:
            if cond.type_ == "Ready":
                ready = int(cond.state) == _CONDITION_SUCCEEDED
                message = cond.message
        containers = list(rev.containers)
        return RevisionInfo(
            name=_short(rev.name),
            service=_short(rev.service) or rev.name.split("/")[5],
            labels=dict(rev.labels),
            image=containers[0].image if containers else "",
            env=_env_of(containers[0]) if containers else {},
            ready=ready,
            create_time=_to_datetime(rev.create_time),
            message=message,
        )

    # ------------------------------------------------------------ reads

    def _get_service_raw(self, service: str) -> Any:
        return self._guard(
            "get service",
            service,
            lambda: self.services_client.get_service(
                name=self.service_path(service), **self._call_options()
            ),
        )

    def get_service(self, service: str) -> ServiceInfo:
        """The service with its traffic resolved to concrete revisions."""
        return self._service_info(self._get_service_raw(service))

    def list_services(self) -> list[ServiceInfo]:
        """Every service in the project/region."""

        def call() -> list[Any]:
            return list(
                self.services_client.list_services(parent=self.location, **self._call_options())
            )

        return [self._service_info(s) for s in self._guard("list services", "", call)]

    def list_revisions(self, service: str) -> list[RevisionInfo]:
        """The service's revisions, newest first."""

        def call() -> list[Any]:
            return list(
                self.revisions_client.list_revisions(
                    parent=self.service_path(service), **self._call_options()
                )
            )

        revisions = [self._revision_info(r) for r in self._guard("list revisions", service, call)]
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        return sorted(
            revisions,
            key=lambda r: (r.create_time or epoch, _revision_index(r.name)),
            reverse=True,
        )

    def get_revision(self, service: str, revision: str) -> RevisionInfo:
        """One revision by short id; CloudRunError naming it when it does not exist."""

        def call() -> Any:
            return self.revisions_client.get_revision(
                name=f"{self.service_path(service)}/revisions/{revision}", **self._call_options()
            )

        missing = f"revision {revision!r} of service {service!r} not found"
        return self._revision_info(self._guard("get revision", service, call, missing))

    def revision_url(self, service: str, revision: str) -> str:
        """A URL that reaches ``revision``: its tag URL, else the service URI if it serves all.

        Raises:
            CloudRunError: the revision has no tag with a URL and does not serve 100%.
        """
        info = self.get_service(service)
        if url := info.tag_url(revision):
            return url
        if info.traffic_by_revision.get(revision, 0) == 100:
            return info.uri
        raise CloudRunError(
            f"revision {revision!r} of {service} has no tag with a URL (yet) and does not "
            "serve all traffic; deploy it with a tag to reach it"
        )

    # ------------------------------------------------------------ writes

    def _update(
        self, service: str, body: Any, mask: list[str], what: str, lacking: Lacking = None
    ) -> ServiceInfo:
        """PATCH ``body`` (only the fields in ``mask``), wait until it has rolled out.

        The wait reads the *service* until ``reconciling`` is false rather than polling
        the operation: google-api-core's operations REST transport parses an operation
        strictly (``json_format.Parse(..., ignore_unknown_fields=False)``), so an
        operation whose Service response carries a field newer than this client (any
        field the real API adds and a service sets) would fail to parse, while the
        service GET ignores unknown fields. A failed rollout shows as the service's
        terminal condition (``CONDITION_FAILED`` with the reason), which is reported as
        the operation's failure.
        """
        from google.protobuf import field_mask_pb2

        def call() -> Any:
            operation = self.services_client.update_service(
                service=body,
                update_mask=field_mask_pb2.FieldMask(paths=mask),
                **self._call_options(),
            )
            return operation.operation

        op = self._guard(what, service, call)
        if op.done and op.error.code:
            raise CloudRunError(f"Cloud Run {what} {service}: operation failed: {op.error.message}")
        from nbaops.heartbeat import heartbeat

        with heartbeat(f"Cloud Run {what} {service} to roll out", self.lro_timeout_s):
            return self._service_info(self._wait_reconciled(service, what, lacking))

    def _wait_reconciled(self, service: str, what: str, lacking: Lacking = None) -> Any:
        """The service once it is no longer ``reconciling`` (see :meth:`_update`).

        run.v2 Service.reconciling: "While reconciliation is in process,
        observedGeneration, latest_ready_revison, trafficStatuses, and uri will have
        transient values ... If reconciliation failed, trafficStatuses,
        observedGeneration, and latest_ready_revision will have the state of the last
        serving revision". So: done when it is no longer reconciling; a failure when
        observedGeneration stayed behind, its reason in the terminal condition (a few
        more reads allow for a reply that has not caught up yet).

        A write that creates no revision (traffic, annotations) is judged by ``lacking``,
        what the settled service lacks of it (None: nothing): the terminal condition stays
        CONDITION_FAILED while the latest *created* revision is failed ("If reconciliation
        succeeded ... latest_ready_revision and latest_created_revision [will match]";
        Knative: Ready = ConfigurationsReady and RoutesReady,
        knative/serving pkg/apis/serving/v1/service_lifecycle.go), so after a failed
        deploy the traffic restore and lease release, carried out, still end failed.
        """
        delay = self.poll_initial_s
        waited = 0.0
        behind = 0
        while True:
            svc = self._get_service_raw(service)
            if not svc.reconciling:
                cond = svc.terminal_condition
                failed = int(cond.state) == _CONDITION_FAILED
                if lacking is not None:
                    lack = lacking(svc)
                    if lack is None:
                        return svc
                    reason = f"{lack} ({cond.message})" if failed and cond.message else lack
                elif int(svc.observed_generation) >= int(svc.generation):
                    if not failed:
                        return svc
                    reason = cond.message  # rolled out, and failed: raised below
                else:
                    reason = cond.message or (
                        f"generation {int(svc.generation)} was not rolled out (still serving "
                        f"generation {int(svc.observed_generation)})"
                    )
                behind += 1
                if failed or behind > _BEHIND_READS:
                    raise CloudRunError(f"Cloud Run {what} {service}: operation failed: {reason}")
            if waited >= self.lro_timeout_s:
                raise CloudRunError(
                    f"Cloud Run {what} {service}: timed out (still reconciling after "
                    f"{self.lro_timeout_s:g}s)"
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 1.5, self.poll_max_s)

    def deploy_revision(
        self,
        service: str,
        *,
        image: str,
        labels: dict[str, str],
        env: dict[str, str] | None = None,
        tag: str | None = None,
        no_traffic: bool = False,
        revision_name: str | None = None,
        fence: Callable[[ServiceInfo], None] | None = None,
    ) -> ServiceInfo:
        """Create a new revision from the current template with ``image``, labels and env.

        Labels are merged into the template's labels (``commit-sha`` is also set on the
        service); ``env`` entries set (or add) literal variables of the first container,
        every other variable, secret-backed ones (``value_source``) included, is kept as
        it is. The new revision is named like gcloud does (``{service}-{NNNNN}-{abc}``)
        unless ``revision_name`` is given. Traffic: 100% to the new revision (existing
        tags kept at 0%), or with ``no_traffic`` the current split pinned to its concrete
        revisions and the new revision added at 0% (reachable through ``tag``). The
        update carries the service's ``etag`` and the mask ``template,labels,traffic``,
        so a concurrent change raises :class:`ConcurrentModificationError`. Waits for the
        operation. ``fence`` is called with the service as read (the read whose etag the
        update carries) and may raise to stop the write (the deploy lease's fencing check).
        """
        from google.cloud import run_v2

        svc = self._get_service_raw(service)
        if fence is not None:
            fence(self._service_info(svc))
        existing = [r.name for r in self.list_revisions(service)]
        name = revision_name or new_revision_name(service, existing)
        template = run_v2.RevisionTemplate(svc.template)
        template.revision = name
        for key, value in labels.items():
            template.labels[key] = value
        service_labels = dict(svc.labels)
        if COMMIT_LABEL in labels:
            service_labels[COMMIT_LABEL] = labels[COMMIT_LABEL]
        if not template.containers:
            template.containers.append(run_v2.Container())
        container = template.containers[0]
        container.image = image
        for key, value in (env or {}).items():
            for var in container.env:
                if var.name == key:
                    var.value = value  # a literal replaces a secret ref (oneof ``values``)
                    break
            else:
                container.env.append(run_v2.EnvVar(name=key, value=value))

        targets: list[Any] = []
        if no_traffic:
            for split in self._current_splits(svc):
                if tag and split.tag == tag:
                    if split.percent:
                        targets.append(_target(run_v2, split.revision, split.percent, ""))
                    continue
                targets.append(_target(run_v2, split.revision, split.percent, split.tag))
        else:
            targets.append(run_v2.TrafficTarget(type_=_TRAFFIC_LATEST, percent=100))
            for split in self._current_splits(svc):
                if split.tag and split.tag != tag:
                    targets.append(_target(run_v2, split.revision, 0, split.tag))
        if tag:
            targets.append(_target(run_v2, name, 0, tag))
        body = run_v2.Service(
            name=svc.name,
            etag=svc.etag,
            template=template,
            labels=service_labels,
            traffic=targets,
        )
        return self._update(service, body, ["template", "labels", "traffic"], "deploy")

    @staticmethod
    def _current_splits(svc: Any) -> list[TrafficSplit]:
        """Current traffic resolved to revisions; repeated untagged targets merged."""
        return _merged(
            TrafficSplit(revision, int(t.percent), t.tag)
            for t in svc.traffic_statuses
            if (revision := _routed_to(svc, t))
        )

    def set_traffic(
        self,
        service: str,
        splits: list[TrafficSplit],
        *,
        fence: Callable[[ServiceInfo], None] | None = None,
    ) -> ServiceInfo:
        """Route traffic to concrete revisions (rollback: ``[TrafficSplit(rev, 100)]``).

        ``splits`` must sum to 100. Existing tags not named in ``splits`` stay, at 0%.
        Creates no revision. Carries the ``etag`` (concurrent change →
        :class:`ConcurrentModificationError`). ``fence`` as in :meth:`deploy_revision`.
        """
        from google.cloud import run_v2

        svc = self._get_service_raw(service)
        if fence is not None:
            fence(self._service_info(svc))
        new_tags = {s.tag for s in splits if s.tag}
        kept = [
            TrafficSplit(split.revision, 0, split.tag)
            for split in self._current_splits(svc)
            if split.tag and split.tag not in new_tags
        ]
        wanted = _merged([*splits, *kept])
        targets = [_target(run_v2, s.revision, s.percent, s.tag) for s in [*splits, *kept]]
        body = run_v2.Service(name=svc.name, etag=svc.etag, traffic=targets)

        def lacking(now: Any) -> str | None:
            shown = self._current_splits(now)
            if sorted(map(astuple, shown)) == sorted(map(astuple, wanted)):
                return None
            return f"traffic is {_splits_text(shown)}, not {_splits_text(wanted)}"

        return self._update(service, body, ["traffic"], "set traffic", lacking)

    def set_annotations(
        self, service: str, annotations: dict[str, str | None], *, etag: str
    ) -> ServiceInfo:
        """Set (value) or remove (None) service annotations if the service still has ``etag``.

        A compare-and-swap: no revision is created, and when the service changed since
        ``etag`` was read the API answers 409 ABORTED →
        :class:`ConcurrentModificationError`. Sends only the annotations map (mask
        ``annotations``), so nothing else of the service can be touched.
        """
        from google.cloud import run_v2

        svc = self._get_service_raw(service)
        merged = dict(svc.annotations)
        for key, value in annotations.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        body = run_v2.Service(name=svc.name, etag=etag, annotations=merged)
        # metadata, nothing rolls out: settled is done (a renewal may already change them)
        return self._update(service, body, ["annotations"], "set annotations", lambda _: None)

    def test_iam_permissions(self, service: str, permissions: list[str]) -> list[str]:
        """The subset of ``permissions`` the caller holds on the service (read-only).

        ``POST /v2/{service}:testIamPermissions``; e.g. ``run.services.update`` (deploy,
        traffic, lock) and ``run.routes.invoke`` (probe the service).
        """
        from google.iam.v1 import iam_policy_pb2

        request = iam_policy_pb2.TestIamPermissionsRequest(
            resource=self.service_path(service), permissions=permissions
        )

        def call() -> list[str]:
            reply = self.services_client.test_iam_permissions(
                request=request, **self._call_options()
            )
            return list(reply.permissions)

        return self._guard("testIamPermissions", service, call)


def _merged(splits: Iterable[TrafficSplit]) -> list[TrafficSplit]:
    """Untagged splits of one revision summed (0% ones dropped); tagged ones as they are."""
    merged: dict[str, int] = {}
    tagged: list[TrafficSplit] = []
    for split in splits:
        if split.tag:
            tagged.append(split)
        else:
            merged[split.revision] = merged.get(split.revision, 0) + split.percent
    return [TrafficSplit(r, p) for r, p in merged.items() if p] + tagged


def _splits_text(splits: list[TrafficSplit]) -> str:
    parts = [f"{s.revision} {s.percent}%" + (f" (tag {s.tag})" if s.tag else "") for s in splits]
    return ", ".join(parts) or "nowhere"


def _target(run_v2: Any, revision: str, percent: int, tag: str) -> Any:
    return run_v2.TrafficTarget(
        type_=_TRAFFIC_REVISION, revision=revision, percent=percent, tag=tag
    )


def _revision_index(name: str) -> int:
    match = REVISION_INDEX_RE.search(name)
    return int(match.group(1)) if match else 0
