"""Create, refresh, reset and describe the local sandbox.

The sandbox is everything the ``local`` profile runs on, under the state folder
(``.nbaops/`` or ``$NBAOPS_HOME``):

- ``warehouse.duckdb`` — every table of ``schemas/`` filled with a realistic game-day
  state relative to :func:`nbaops.clock.now` (see :mod:`nbaops.sandbox.generate`);
- ``cloudrun.json`` — the Cloud Run stand-in's five services, each with three revisions
  labelled ``commit-sha`` with real commits of this repository (``git rev-list HEAD``);
  some services serve an older commit than HEAD, so drift is visible;
- ``logs.jsonl`` — Cloud Logging entries of those revisions;
- ``sandbox.json`` — the marker: format version, seed, build time, the clock it was
  built for, the schema fingerprint, row counts; ``sandbox-faults.json`` — active faults.

:func:`ensure_sandbox` is called by every local task: when the marker is current it
returns after reading one small JSON file and hashing the schema files (well under a
millisecond of work). It rebuilds everything when the marker is missing, the format
version or the config's local profile or services changed (:func:`config_changed`),
migrates the warehouse when the schema files changed (additive DDL in place, breaking
changes rebuilt into a new file swapped in atomically; the stand-in, deploy history and
``nba_ops`` tables kept: :mod:`nbaops.sandbox.migrate`), and refreshes only the data
(keeping the same) when the data was built for a clock more than :data:`STALE_AFTER`
away from now. ``sandbox.status`` counts rows in the warehouse itself. Builds are
serialised between processes by the stand-in's state lock, and the warehouse contents are
replaced in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from nbaops import clock
from nbaops.errors import ConfigError, DamagedStateError, UsageError, WarehouseError, first_line
from nbaops.fsutil import write_json_atomic
from nbaops.local.state_files import damaged
from nbaops.local.world import DEFAULT_SEED
from nbaops.report import CheckReport
from nbaops.sandbox.build_settings import Settings
from nbaops.stdio import stderr_line
from nbaops.table_catalog import catalog_files
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.sandbox import league  # imported where used: a warm check needs none

# 2: model skill recalibrated into the 55-58% hit-rate band;
# 3: realistic Cloud Run templates (secret env, service account, resources, scaling)
FORMAT_VERSION = 3
MARKER_NAME = "sandbox.json"
# Data built for a clock further than this from now is regenerated (the data only): a
# frozen game day goes wrong as the pipeline's next step falls due (features, a batch,
# heartbeats older than 2 h), so this stays shorter than every such lead: the sandbox's
# features are complete 20 min before lines_coverage's features_due, a batch is only due
# 30 min after its slot (recent_predictions' slot_grace).
STALE_AFTER = dt.timedelta(minutes=15)
OPS_DATASET = "nba_ops"  # written by nbaops itself (deploy audit, check history): kept on refresh


def settings_for(ctx: Context) -> Settings:
    if not ctx.is_local:
        raise UsageError(
            f"the sandbox exists only on the local profile (this is {ctx.profile!r}); "
            "use --profile local"
        )
    profile = ctx.config.profile
    repo = profile.image_repository or f"{profile.region}-docker.pkg.dev/{profile.project}/services"
    return Settings(
        home=ctx.home,
        root=ctx.root,
        project=profile.project,
        region=profile.region,
        datasets=dict(profile.datasets),
        services=list(ctx.config.service_names),
        model_env={s.name: s.model_env for s in ctx.config.services.values() if s.model_env},
        image_repository=repo,
        invoker_service_account=profile.invoker_service_account,
    )


# --------------------------------------------------------------------------- marker


def marker_path(home: Path) -> Path:
    return home / MARKER_NAME


def read_marker(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def marker_seed(home: Path, marker: dict[str, Any] | None) -> int:
    """The seed ``marker`` (read from ``home``) records; DEFAULT_SEED when there is none.

    Raises:
        DamagedStateError: the seed is not a non-negative integer (edited by hand).
    """
    seed = (marker or {}).get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise damaged(marker_path(home), f"seed {seed!r} is not a non-negative integer")
    return seed


def marker_source(home: Path, marker: dict[str, Any] | None) -> str | None:
    """The game-log path ``marker`` records (None: generated data).

    Raises:
        DamagedStateError: it is not a path (edited by hand).
    """
    source = (marker or {}).get("from_logs")
    if source is not None and not isinstance(source, str):
        raise damaged(marker_path(home), f"from_logs {source!r} is not a path")
    return source or None


def marker_object(home: Path, marker: dict[str, Any], key: str) -> dict[str, Any]:
    """The JSON object ``marker`` (read from ``home``) records under ``key`` ({} when absent).

    Raises:
        DamagedStateError: it is not an object (edited by hand).
    """
    value = marker.get(key, {})
    if not isinstance(value, dict):
        raise damaged(marker_path(home), f"{key} {value!r:.40} is not a JSON object")
    return value


_REDO_ORDER = ("refresh", "migrate", "build")  # a later kind redoes the earlier ones too


def mark_incomplete(home: Path, kind: str, **fields: Any) -> None:
    """Flag the sandbox as mid-change (``incomplete``: ``kind``, or the larger kind already
    pending) before the first change is made — the fault list, a table, the stand-in — so
    a process killed from here on leaves a marker that makes the next use redo the work
    (:func:`_needs`), never a "current" marker over half-changed state. ``fields`` (the
    seed, the source of a reset) are what the redo uses. No sandbox yet: a build."""
    previous = read_marker(home)
    pending = (previous or {}).get("incomplete")
    if previous is None:
        kind = "build"
    elif pending in _REDO_ORDER and _REDO_ORDER.index(pending) > _REDO_ORDER.index(kind):
        kind = str(pending)
    base = previous or {"format": FORMAT_VERSION}
    write_json_atomic(marker_path(home), {**base, **fields, "incomplete": kind})


def schema_fingerprint(root: Path) -> str:
    """A hash of ``schemas/tables.yaml`` and every table schema file."""
    base = root / "schemas"
    digest = hashlib.sha256()
    for path in catalog_files(base):
        if path.is_file():
            digest.update(path.relative_to(base).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_changed(settings: Settings, marker: dict[str, Any] | None) -> bool:
    """The config's local profile or services are not those the sandbox was built from (a
    service added, the region changed: its stand-in answered 404 for them, check-all-services
    ERROR, until a reset). A marker without recorded settings counts as built from them."""
    recorded = (marker or {}).get("settings")
    if not isinstance(recorded, dict):
        return False
    return any(recorded.get(key, value) != value for key, value in settings.config_part().items())


def _needs(settings: Settings, marker: dict[str, Any] | None, now: dt.datetime) -> str | None:
    """None when current; ``"build"`` (everything, also when the config's local profile or
    services changed), ``"migrate"`` (schema files changed: migrate the warehouse, keep the
    stand-in) or ``"refresh"`` (data only)."""
    if marker is None or marker.get("format") != FORMAT_VERSION:
        return "build"
    if marker.get("incomplete") in _REDO_ORDER:
        return str(marker["incomplete"])  # a build that was interrupted: do it again
    home = settings.home
    if not (home / "warehouse.duckdb").is_file() or not (home / "cloudrun.json").is_file():
        return "build"
    if config_changed(settings, marker):
        return "build"
    if marker.get("schema_fingerprint") != schema_fingerprint(settings.root):
        return "migrate"
    try:
        built_for = dt.datetime.fromisoformat(marker["now"])
    except (KeyError, TypeError, ValueError):
        return "build"
    if built_for.tzinfo is None:  # edited by hand: no zone to compare the clock with
        raise damaged(marker_path(home), f"now {marker['now']!r} has no time zone")
    if abs(now - built_for) > STALE_AFTER:
        return "refresh"
    return None


# --------------------------------------------------------------------------- public API


def ensure_sandbox(ctx: Context) -> None:
    """Create the sandbox on first use; keep it current (cheap when it already is).

    A no-op on non-local profiles.
    """
    if not ctx.is_local:
        return
    settings = settings_for(ctx)
    if _needs(settings, read_marker(settings.home), clock.now()) is None:
        check_state_files(settings.home)
        return
    from nbaops.local.state_files import locked

    writable_home(settings.home)
    with locked(settings.home):
        marker = read_marker(settings.home)
        need = _needs(settings, marker, clock.now())
        if need is None:
            check_state_files(settings.home)
            return
        seed = marker_seed(settings.home, marker)
        from_logs = marker_source(settings.home, marker)
        from nbaops.heartbeat import heartbeat
        from nbaops.table_catalog import load_catalog

        load_catalog(settings.root)  # a schema file that does not parse: ConfigError, no work
        if from_logs and not Path(from_logs).exists():
            raise ConfigError(
                f"the sandbox was built from real game logs at {from_logs}, which are no "
                "longer there: `inv sandbox.reset` rebuilds it from generated data (or "
                "`inv sandbox.reset --from-logs PATH` from other logs)"
            )
        what = first_run_line(settings.home, marker, need)
        if need == "build" and config_changed(settings, marker):
            what = f"nbaops: rebuilding the sandbox in {settings.home} (the config's local "
            what += "profile or services changed)"
        stderr_line(what)  # stdout stays for the report (--json)
        with heartbeat(f"the sandbox build in {settings.home}"):
            _build(settings, seed, from_logs, full=need == "build", migrate=need == "migrate")
        check_state_files(settings.home)  # a refresh keeps the stand-in's file as it was


def writable_home(home: Path) -> None:
    """Make the state folder and its lock file, before a build or reset takes the lock.

    Raises:
        DamagedStateError: the folder cannot be made or written (``NBAOPS_HOME=/proc``, a
            read-only mount, a folder without write permission): one line naming it, exit
            2, the run stopped; every check of system-health was its own ERROR, an alert
            each, and ``sandbox.status`` an internal error.
    """
    from nbaops.local.state_files import LOCK_NAME

    try:
        home.mkdir(parents=True, exist_ok=True)
        os.close(os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644))  # as file_lock
    except OSError as exc:
        raise DamagedStateError(
            f"{home}: the sandbox's state folder cannot be written "
            f"({exc.strerror or type(exc).__name__}); set NBAOPS_HOME to a folder nbaops "
            "can write"
        ) from None


def check_state_files(home: Path) -> None:
    """Read the stand-in's and the faults' state files (a millisecond): a damaged one is
    one ConfigError (exit 2) before a task uses it, not an HTTP 500 from the stand-in in
    every check, nor an ERROR in every check (and an alert each) at the next data refresh.

    Raises:
        DamagedStateError: a state file that cannot be read (``inv sandbox.reset`` sets
            it aside).
    """
    from nbaops.local.api_faults import active_api_faults
    from nbaops.local.cloudrun_state import load_state
    from nbaops.local.iam_accounts import load_accounts
    from nbaops.sandbox.fault_records import read_records

    load_state(home)
    read_records(home)
    active_api_faults(home)
    load_accounts(home)


def first_run_line(home: Path, marker: dict[str, Any] | None, need: str) -> str:
    """What the user is waiting for before the first report appears (stderr)."""
    if marker is None:
        return (
            f"nbaops: building the sandbox in {home} (first run: warehouse, Cloud Run "
            "stand-in, logs; a few seconds)"
        )
    if marker.get("incomplete"):
        return f"nbaops: redoing the interrupted sandbox {marker['incomplete']} in {home}"
    if need == "build":
        return f"nbaops: rebuilding the sandbox in {home} (its format changed)"
    if need == "migrate":
        return f"nbaops: migrating the sandbox warehouse in {home} (the schemas changed)"
    return f"nbaops: refreshing the sandbox data in {home} for the current clock"


def reset(
    ctx: Context, seed: int | None = None, from_logs: Path | str | None = None
) -> CheckReport:
    """Rebuild the sandbox from scratch: warehouse, stand-in services, logs; faults cleared.

    Args:
        seed: the random seed (default: the current sandbox's seed, else 7).
        from_logs: a CSV file or folder in the nba_api LeagueGameLog format: real
            players, games and box scores instead of generated ones.

    Raises:
        UsageError: not the local profile, a bad seed, or an unreadable ``from_logs``.
    """
    settings = settings_for(ctx)
    if seed is not None and seed < 0:
        raise UsageError(f"--seed: {seed} must be a non-negative integer")
    source: str | None = None
    if from_logs is not None:
        path = Path(from_logs).expanduser()
        try:
            found = path.exists()
        except OSError as exc:  # a name too long for the file system: bad input too
            raise UsageError(f"--from-logs: {exc.strerror or exc}") from None
        if not found:
            raise UsageError(f"--from-logs: {path} does not exist")
        source = str(path.resolve())
    from nbaops.local import api_faults
    from nbaops.local.state_files import locked
    from nbaops.sandbox import faults

    writable_home(settings.home)
    with locked(settings.home):
        marker = read_marker(settings.home)
        if seed is None:  # the way out a damaged marker names: its seed may be the damage
            with contextlib.suppress(DamagedStateError):
                seed = marker_seed(settings.home, marker)
        chosen = DEFAULT_SEED if seed is None else seed
        # the league first: logs that cannot be read are bad input, and nothing is changed
        now = clock.now()
        prepared = _league(chosen, source, now)
        mark_incomplete(settings.home, "build", seed=chosen, from_logs=source)
        _set_aside_damaged(settings)
        faults.write_records(settings.home, [])
        api_faults.clear_api_faults(settings.home)
        built = _build(settings, chosen, source, full=True, prepared=(prepared, now))
    return sandbox_report("sandbox reset", describe(settings.home, built))


def _set_aside_damaged(settings: Settings) -> None:
    """Before a reset rebuilds everything: a stand-in state or warehouse file that cannot
    be read (cut short, overwritten) is renamed ``*.damaged``, so the reset — the way out
    every such error names — does not fail on the file it replaces."""
    from nbaops.adapters.duckdb_files import DamagedWarehouseError
    from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE, DuckDBWarehouse
    from nbaops.local import cloudrun_state

    def aside(path: Path) -> None:
        path.replace(path.with_name(path.name + ".damaged"))

    try:
        cloudrun_state.load_state(settings.home)
    except ConfigError:
        aside(cloudrun_state.state_path(settings.home))
    path = settings.home / WAREHOUSE_FILE
    if path.exists():
        try:
            with DuckDBWarehouse(path, datasets=settings.datasets, root=settings.root).session():
                pass
        except DamagedWarehouseError:
            aside(path)


def refresh(settings: Settings) -> dict[str, Any]:
    """Regenerate the data (same seed and source, current clock, active faults re-applied).

    Keeps the stand-in's services and the ``nba_ops`` tables. Used after a fault is
    injected or cleared.
    """
    from nbaops.local.state_files import locked

    with locked(settings.home):
        marker = read_marker(settings.home) or {}
        need = _needs(settings, marker or None, clock.now())
        seed, source = marker_seed(settings.home, marker), marker_source(settings.home, marker)
        return _build(settings, seed, source, full=need == "build", migrate=need == "migrate")


def settings_from_marker(home: Path) -> Settings | None:
    """The build settings the marker in ``home`` records (None: no marker, or one written
    before a build completed), for the sandbox in ``home``: a sandbox folder copied or
    moved keeps the home its marker was written in, which is not the one to refresh.

    Raises:
        DamagedStateError: they are not the object a build writes (edited by hand).
    """
    marker = read_marker(home)
    if not marker or "settings" not in marker:
        return None
    recorded = marker_object(home, marker, "settings")
    try:
        return Settings.from_json({**recorded, "home": str(home)})
    except (KeyError, TypeError) as exc:  # a key missing or unknown, a path not a string
        raise damaged(marker_path(home), f"settings are not a build's: {first_line(exc)}") from None


# --------------------------------------------------------------------------- build


def _league(seed: int, from_logs: str | None, now: dt.datetime) -> league.League:
    from nbaops.sandbox import league

    if from_logs:
        from nbaops.sandbox.import_logs import import_league

        return import_league(Path(from_logs), now, seed)
    return league.synthetic_league(seed, now)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _gc_paused(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """``func`` with Python's cyclic garbage collector paused (re-enabled after, if it was).

    A build allocates ~100,000 row dicts and their values, none in a reference cycle:
    the collections those allocations trigger walk every live object again and again
    for nothing (~0.45 s of a ~3.7 s refresh). Reference counting still frees
    everything; a cycle made meanwhile is collected on the next collection after.
    """

    @functools.wraps(func)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_gc_paused
def _build(
    settings: Settings,
    seed: int,
    from_logs: str | None,
    *,
    full: bool,
    migrate: bool = False,
    prepared: tuple[league.League, dt.datetime] | None = None,
) -> dict[str, Any]:
    """Generate and write everything. Call under the stand-in lock.

    ``full`` recreates every table and reseeds the stand-in; ``migrate`` (schema files
    changed) migrates the warehouse (:mod:`nbaops.sandbox.migrate`) and keeps the
    stand-in and the ``nba_ops`` rows; otherwise only the generated data is replaced.
    ``prepared``: the league (and the clock it was built for) the caller already read.
    """
    from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE, DuckDBWarehouse
    from nbaops.sandbox import faults, generate, services_seed
    from nbaops.sandbox.migrate import (
        apply_in_place,
        fit_rows,
        plan_migration,
        rebuild_atomically,
    )
    from nbaops.table_catalog import load_catalog

    started = time.perf_counter()
    # Before anything else: an interrupted build (Ctrl-C, kill -9) must not leave the last
    # complete marker claiming the half-written state; the next use sees "incomplete" and
    # does this build again (same seed and source).
    previous = read_marker(settings.home) or {"format": FORMAT_VERSION}
    kind = "build" if full else "migrate" if migrate else "refresh"
    mark_incomplete(settings.home, kind, seed=seed, from_logs=from_logs)
    if prepared is None:
        now = clock.now()
        league = _league(seed, from_logs, now)
    else:
        league, now = prepared
    git_source = services_seed.seed_cloudrun(settings, now) if full else None
    revisions = services_seed.service_revisions(settings)
    data = generate.build_tables(
        league, now, seed, project=settings.project, region=settings.region, revisions=revisions
    )
    records = faults.read_records(settings.home)
    faults.apply_all(
        data,
        records,
        now=now,
        project=settings.project,
        region=settings.region,
        revisions=revisions,
    )
    generate.recount_batches(data.tables)

    catalog = load_catalog(settings.root)
    contents = fit_rows(
        catalog,
        {
            spec.ref: data.tables.get(spec.ref, [])
            for spec in catalog
            if spec.dataset != OPS_DATASET
        },
    )

    def open_warehouse(path: Path) -> DuckDBWarehouse:
        return DuckDBWarehouse(path, datasets=settings.datasets, root=settings.root)

    path = settings.home / WAREHOUSE_FILE
    warehouse = open_warehouse(path)
    migration: dict[str, Any] | None = None
    if migrate:
        with warehouse.session():
            plan = plan_migration(warehouse, catalog)
        migration = {
            "rebuilt": plan.rebuild,
            "ddl": [s.sql for s in plan.ddl],
            "breaking": plan.breaking,
        }
        if plan.rebuild:
            try:
                rebuild_atomically(
                    path,
                    catalog,
                    make_warehouse=open_warehouse,
                    keep_datasets=(OPS_DATASET,),
                    fill=lambda new: new.replace_contents(contents),
                )
            except WarehouseError as exc:
                raise WarehouseError(
                    f"sandbox migration to the edited schema files failed ({first_line(exc)}); "
                    "the warehouse is as it was: revert the schema edit of "
                    f"{', '.join(plan.breaking_tables)} or fix the file so the sandbox's rows "
                    "fit it"
                ) from None
        else:
            with warehouse.session():
                apply_in_place(warehouse, catalog, plan)
    if migration is None or not migration["rebuilt"]:
        with warehouse.session():
            warehouse.create_tables(catalog, replace=full)
            warehouse.replace_contents(contents)
    write_logs(settings.home, data.logs)

    counts = {ref: len(rows) for ref, rows in sorted(contents.items())}
    marker = {
        "format": FORMAT_VERSION,
        "seed": seed,
        "from_logs": from_logs,
        "built_at": dt.datetime.now(dt.UTC).isoformat(),
        "now": now.isoformat(),
        "build_seconds": round(time.perf_counter() - started, 3),
        "schema_fingerprint": schema_fingerprint(settings.root),
        "commits": git_source or previous.get("commits", "unknown"),
        "counts": counts,
        "log_entries": len(data.logs),
        "summary": data.summary,
        "settings": settings.to_json(),
    }
    if migration is not None:
        marker["last_migration"] = migration
    write_json_atomic(marker_path(settings.home), marker)
    return marker


def write_logs(home: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the stand-in's log store with ``entries`` (atomically)."""
    from nbaops.local import log_store

    log_store.replace_entries(home, entries)


# --------------------------------------------------------------------------- reports


def sandbox_report(title: str, info: dict[str, Any]) -> CheckReport:
    """What ``sandbox.reset`` built or ``sandbox.status`` found: an action report (PASS)
    whose JSON is ``info`` and whose lines describe it (the lists and tables indented)."""
    lines = []
    for key, value in info.items():
        if key not in ("counts", "services", "faults"):
            shown = " .. ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"{key}: {'-' if shown is None else shown}")
    if info.get("counts"):
        lines.append("rows per table:")
        lines += [f"  {ref}: {n}" for ref, n in info["counts"].items()]
    if info.get("services"):
        lines.append("Cloud Run stand-in:")
        lines += [
            f"  {s['service']}: serving {s.get('serving')} at {s.get('commit')}, "
            f"{s['revisions']} revision(s)"
            for s in info["services"]
        ]
    for name, records in (info.get("faults") or {}).items():
        for rec in records:
            detail = ", ".join(
                f"{k}={v}" for k, v in rec.items() if k not in ("name", "service") and v is not None
            )
            lines.append(f"active fault {name} [{rec.get('service') or '-'}]: {detail}")
    faults = f"; {len(info['faults']) or 'no'} active fault(s)" if "faults" in info else ""
    return CheckReport(
        title,
        extra=info,
        notes=lines,
        summary=f"{title}: {info.get('home') or 'built'}{faults}",
        outcome=Verdict.PASS,
    )


def describe(home: Path, marker: dict[str, Any]) -> dict[str, Any]:
    """What the marker in ``home`` says was built (DamagedStateError: its summary is not an
    object)."""
    summary = marker_object(home, marker, "summary")
    return {
        "seed": marker.get("seed"),
        "source": marker.get("from_logs") or "synthetic",
        "built_at": marker.get("built_at"),
        "built_for_now": marker.get("now"),
        "build_seconds": marker.get("build_seconds"),
        "today": summary.get("today"),
        "game_days": [summary.get("first_day"), summary.get("last_day")],
        "players": summary.get("players"),
        "commits": marker.get("commits"),
        "counts": marker.get("counts", {}),
        "log_entries": marker.get("log_entries"),
    }


def status(ctx: Context) -> CheckReport:
    """Describe the sandbox (creating it first if needed): data, services, faults."""
    from nbaops.local import cloudrun_state
    from nbaops.sandbox import faults

    ensure_sandbox(ctx)
    settings = settings_for(ctx)
    marker = read_marker(settings.home) or {}
    info = {
        "home": str(settings.home),
        "format": marker.get("format"),
        **describe(settings.home, marker),
    }
    info["counts"] = warehouse_counts(ctx)  # what the warehouse holds now, never the marker
    state = cloudrun_state.load_state(settings.home)
    services = []
    for service in settings.services:
        full = cloudrun_state.service_name(settings.project, settings.region, service)
        svc = state["services"].get(full)
        if svc is None:
            services.append({"service": service, "serving": None, "revisions": 0})
            continue
        serving = cloudrun_state.serving_revision(state, svc)
        revs = cloudrun_state.revisions_of(state, full)
        labels = {cloudrun_state.short(r["name"]): r.get("labels", {}) for r in revs}
        commit = labels.get(serving or "", {}).get("commit-sha")
        services.append(
            {"service": service, "serving": serving, "commit": commit, "revisions": len(revs)}
        )
    info["services"] = services
    info["faults"] = faults.active(settings.home)
    return sandbox_report("sandbox", info)


def warehouse_counts(ctx: Context) -> dict[str, int | str]:
    """Rows per catalog table, counted in the warehouse now (a missing table says so)."""
    from nbaops.table_catalog import load_catalog

    counts: dict[str, int | str] = {}
    warehouse = ctx.warehouse
    session = getattr(warehouse, "session", None)
    with session() if session is not None else contextlib.nullcontext():
        for spec in load_catalog(ctx.root):
            try:
                sql = f"SELECT COUNT(*) AS n FROM `{spec.ref}`"  # noqa: S608 - identifiers only
                counts[spec.ref] = int(warehouse.query(sql).rows[0]["n"])
            except WarehouseError as exc:
                counts[spec.ref] = f"unreadable: {first_line(exc)[:80]}"
    return counts
