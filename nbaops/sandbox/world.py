"""The local profile wired to the sandbox: the one place a local :class:`Context` is built.

:class:`~nbaops.context.Context` knows how to reach the stand-in, not what it serves;
the stand-in (:mod:`nbaops.local`) simulates Google's APIs, not the sandbox's faults.
This module injects the sandbox into both: :func:`open_context` gives a local context a
:class:`SandboxWorld`, which builds the sandbox before first use and hands the stand-in
the sandbox's answers (:data:`HOOKS`: degraded revisions, the seed, canary faults).
Entry points and tests build contexts with :func:`open_context`.
"""

from __future__ import annotations

from pathlib import Path

from nbaops.context import Context
from nbaops.local.world import WorldHooks


def _on_new_revision(home: Path, service: str, revision: str) -> bool:
    from nbaops.sandbox.fault_injection import on_new_revision

    return on_new_revision(home, service, revision)


def _seed(home: Path) -> int:
    from nbaops.sandbox.lifecycle import marker_seed, read_marker

    return marker_seed(home, read_marker(home))


def _canary_effects(home: Path, service: str, created: str) -> set[str]:
    from nbaops.sandbox.faults import canary_effects

    return canary_effects(home, service, created)


HOOKS = WorldHooks(on_new_revision=_on_new_revision, seed=_seed, canary_effects=_canary_effects)


class SandboxWorld:
    """The :class:`~nbaops.context.LocalWorld` of the local profile: the sandbox."""

    hooks = HOOKS

    def ensure(self, ctx: Context) -> None:
        from nbaops.sandbox.lifecycle import ensure_sandbox

        ensure_sandbox(ctx)


def open_context(profile: str | None = None, config_path: Path | None = None) -> Context:
    """The run context for ``profile``; a local one is backed by the sandbox.

    Raises:
        ConfigError: unreadable or invalid config, unknown profile.
    """
    return Context.create(profile, config_path, world=SandboxWorld())
