"""The deploy journal: intent and the state to return to, kept on the service itself.

Before each mutating step of a deploy (``lock``, ``revision``, ``traffic``, ``promote``,
``rollback``, and ``finished`` once the outcome is known) the deploy writes the
annotation ``nbaops.dev/deploy-journal`` on the Cloud Run service, holding:

- who and what: ``deploy_id``, ``action``, ``holder``, ``started``, ``commit``,
  ``image``, ``canary``, ``model_version``;
- **the state to return to**: ``before`` — the traffic split that served before the
  deploy (concrete revisions and percents) and ``before_revision`` (its largest share);
- **the intent**: ``phase`` (the step about to run) and ``steps`` (every step with its
  time), plus ``new_revision`` once it exists;
- ``outcome``/``summary`` in the ``finished`` phase.

``inv rollback`` keeps a journal too (``action: rollback``): ``before`` is the traffic when
it took the lease, ``new_revision`` its target, ``commit``/``image``/``model_version``
the target's; it enters phase ``rollback`` before its traffic PATCH. A held deploy's
journal that the rollback's lease write replaces is carried in ``held`` and written back
if the rollback does not end verified (so a later rollback still knows the pre-deploy
revision). Recovery never routes an interrupted rollback's traffic back to ``before``.

The first entry is written in the same compare-and-swap as the lease, every later one
through :func:`record`, which checks the deploy's fencing token on the same read whose
``etag`` the write carries. Any machine that can read the service can therefore tell what
an interrupted deploy was doing and what to restore (:mod:`nbaops.deploy.recovery`). The
same steps end up in the attempt's audit row (``verdicts`` entries of step ``journal``).
A normal end removes the journal together with the lease, in one write; a deploy that
was *held* leaves it (phase ``held``) so ``inv rollback`` knows the pre-deploy revision.

**Test-only crash points.** :func:`crash_point` is called at every step boundary (before
and after each journal write and each mutation, and on every progress line). When the
environment variable ``NBAOPS_CRASH_AT=WHERE:SIGNAL`` is set — ``WHERE`` the ordinal N of
the boundary (1-based) or its label with an optional occurrence, e.g.
``journal:traffic:after#1`` — that boundary sends this process ``SIGNAL`` (``KILL``,
``TERM``, ``HUP``) — or, with ``PAUSE``, waits until the file
``$NBAOPS_HOME/crash-resume`` exists. ``NBAOPS_CRASH_TRACE=FILE`` appends
each boundary's label to FILE. Both exist for the crash-point harness
(``tests/reliability/test_deploy_crash_points.py``); nothing sets them in normal use.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.deploy import lock
from nbaops.environment import read

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun, ServiceInfo, TrafficSplit

JOURNAL_ANNOTATION = "nbaops.dev/deploy-journal"
PHASES = ("lock", "revision", "traffic", "promote", "rollback", "held", "finished")
MUTATED_PHASES = ("revision", "traffic", "promote", "rollback")
CRASH_ENV = "NBAOPS_CRASH_AT"
TRACE_ENV = "NBAOPS_CRASH_TRACE"


@dataclass
class Journal:
    """One deploy's journal (see the module docstring)."""

    deploy_id: str
    action: str
    holder: str
    started: dt.datetime
    before: list[dict[str, Any]]  # [{"revision", "percent"}] with percent > 0
    before_revision: str | None
    phase: str = "lock"
    steps: list[dict[str, str]] = field(default_factory=list)
    new_revision: str | None = None
    commit: str | None = None
    image: str | None = None
    canary: int | None = None
    model_version: str | None = None
    outcome: str | None = None
    summary: str | None = None
    held: dict[str, Any] | None = None  # a rollback's: the held deploy's journal it replaced

    @classmethod
    def start(
        cls,
        deploy_id: str,
        action: str,
        holder: str,
        info: ServiceInfo,
        **extra: Any,
    ) -> Journal:
        """A journal in phase ``lock`` recording ``info``'s traffic as the state to return to."""
        journal = cls(
            deploy_id=deploy_id,
            action=action,
            holder=holder,
            started=clock.now(),
            before=[
                {"revision": r, "percent": p} for r, p in info.traffic_by_revision.items() if p
            ],
            before_revision=info.serving_revision,
            **extra,
        )
        journal.steps.append({"step": "lock", "at": journal.started.isoformat()})
        return journal

    def advance(self, phase: str, **changes: Any) -> Journal:
        """Move to ``phase`` (recording its time); returns self."""
        if phase not in PHASES:
            raise ValueError(f"unknown journal phase {phase!r}")
        self.phase = phase
        for key, value in changes.items():
            setattr(self, key, value)
        self.steps.append({"step": phase, "at": clock.now().isoformat()})
        return self

    @property
    def mutated(self) -> bool:
        """Whether a step that may have changed the service was entered."""
        return any(s["step"] in MUTATED_PHASES for s in self.steps)

    @property
    def rollback_target(self) -> str | None:
        """Where ``inv rollback`` goes for this journal: a rollback's own target, else the
        revision that served before the deploy."""
        return self.new_revision if self.action == "rollback" else self.before_revision

    def held_journal(self) -> Journal | None:
        """The held deploy's journal a rollback carries (None: none)."""
        return Journal.from_annotation(json.dumps(self.held)) if self.held else None

    def left_behind(self, *, ended: bool) -> dict[str, str | None]:
        """The journal annotation written when this journal's command lets go of the
        service: none, or — a rollback that did not end the held deploy it replaced
        (``ended``: verified, or its target serves 100%) — that deploy's journal, so a
        later rollback still knows its pre-deploy revision."""
        held = None if ended else self.held_journal()
        return {JOURNAL_ANNOTATION: held.to_annotation() if held is not None else None}

    def before_splits(self) -> list[TrafficSplit]:
        from nbaops.adapters.cloudrun import TrafficSplit

        return [TrafficSplit(str(b["revision"]), int(b["percent"])) for b in self.before]

    def before_text(self) -> str:
        return ", ".join(f"{b['revision']} {b['percent']}%" for b in self.before) or "nothing"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "started": self.started.isoformat()}

    def to_annotation(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_annotation(cls, text: str | None) -> Journal | None:
        """Parse the annotation; None when absent or unreadable."""
        try:
            data = json.loads(text or "")
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            return cls(
                **{
                    **known,
                    "deploy_id": str(data["deploy_id"]),
                    "action": str(data.get("action", "deploy")),
                    "holder": str(data.get("holder", "?")),
                    "started": clock.as_utc(data["started"]),
                    "before": [
                        {"revision": str(b["revision"]), "percent": int(b["percent"])}
                        for b in data.get("before", [])
                    ],
                    "phase": str(data.get("phase", "lock")),
                    "steps": [dict(s) for s in data.get("steps", [])],
                }
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def traffic_text(traffic: Mapping[str, int]) -> str:
    """The revisions that receive traffic as ``A 80%, B 20%`` ("" when none do)."""
    return ", ".join(f"{revision} {percent}%" for revision, percent in traffic.items() if percent)


def journal_of(info: ServiceInfo) -> Journal | None:
    """The journal carried by a service read (None when there is none)."""
    return Journal.from_annotation(info.annotations.get(JOURNAL_ANNOTATION))


def record(cloudrun: CloudRun, service: str, journal: Journal, token: tuple[str, int]) -> None:
    """Write the journal, fenced by ``token`` (compare-and-swap on the read's etag).

    Raises:
        LeaseLostError: the service no longer carries our lease.
        CloudRunError: the API failed or the compare-and-swap kept losing.
    """

    def changes(info: ServiceInfo) -> dict[str, str | None]:
        lock.check_fence(info, service, token)  # a heartbeat renewal in between: re-read
        return {JOURNAL_ANNOTATION: journal.to_annotation()}

    crash_point(f"journal:{journal.phase}:before")
    lock.write_annotations(cloudrun, service, changes, "write the deploy journal")
    crash_point(f"journal:{journal.phase}:after")


# --------------------------------------------------------------------- crash points

_crash_lock = threading.Lock()
_crash_count = 0
_label_counts: dict[str, int] = {}
_SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}


def crash_point(label: str) -> None:
    """A step boundary; test-only: may kill or pause this process (module docstring)."""
    global _crash_count
    spec = read(CRASH_ENV)
    trace = read(TRACE_ENV)
    if not spec and not trace:
        return
    with _crash_lock:
        _crash_count += 1
        count = _crash_count
        _label_counts[label] = _label_counts.get(label, 0) + 1
        seen = _label_counts[label]
    if trace:
        with Path(trace).open("a", encoding="utf-8") as handle:
            handle.write(f"{count} {label}\n")
    if not spec:
        return
    at, _, how = spec.rpartition(":")
    wanted, _, nth = at.partition("#")
    if wanted.isdigit():
        if int(wanted) != count:
            return
    elif wanted != label or int(nth or 1) != seen:
        return
    if how == "PAUSE":
        home = Path(read("NBAOPS_HOME") or ".")
        (home / "crash-paused").write_text(str(os.getpid()), encoding="utf-8")
        deadline = time.monotonic() + 60
        while not (home / "crash-resume").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return
    os.kill(os.getpid(), _SIGNALS.get(how, signal.SIGKILL))
    time.sleep(1)  # let a handled signal (TERM/HUP) arrive before going on


def reset_crash_points() -> None:
    """Start counting boundaries from zero (a forked test child)."""
    global _crash_count
    with _crash_lock:
        _crash_count = 0
        _label_counts.clear()
