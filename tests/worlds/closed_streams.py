"""Start a command the way a cron line ending ``>&- 2>&-`` does: descriptors 1 and 2 closed.

Closed by ``/bin/sh`` just before it execs the command, not by a ``preexec_fn``: that runs
Python in a ``fork()`` of the pytest worker, and a worker that has used gRPC (a Monitoring
stand-in test) runs gRPC's fork handlers there, which abort the child now and then before
it ever starts (SIGABRT, exit -6; gRPC supports no fork after its objects exist: grpc/grpc
``doc/fork_support.md``). Without a ``preexec_fn`` the child is spawned without those.
"""

from __future__ import annotations

from collections.abc import Sequence


def with_output_closed(command: Sequence[str]) -> list[str]:
    """``command`` run by ``/bin/sh`` with descriptors 1 and 2 closed."""
    return ["/bin/sh", "-c", 'exec "$@" >&- 2>&-', "sh", *command]
