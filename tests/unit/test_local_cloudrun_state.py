"""The Cloud Run stand-in's state file (nbaops.local.cloudrun_state): what it keeps."""

from __future__ import annotations

from pathlib import Path

from nbaops.local import cloudrun_state, cloudrun_update
from nbaops.local.cloudrun_state import SeedRevision, SeedService

PARENT = "projects/p/locations/us-west2"


def test_a_running_operation_outlives_the_trim_of_old_finished_ones(tmp_path: Path) -> None:
    """The state keeps 200 operations, the oldest dropped first, running or not: a
    slow rollout's operation, once 200 later ones had been written, was gone, so it never
    finished and its service stayed reconciling for good (its GET and operations.get
    could no longer end it). Finished ones go first; a running one stays."""
    seed = SeedService("svc", [SeedRevision("img:1", name="svc-00001-aaa")])
    cloudrun_state.seed_services(tmp_path, "p", "us-west2", [seed])
    full = cloudrun_state.service_name("p", "us-west2", "svc")
    state = cloudrun_state.load_state(tmp_path)
    for minute in range(cloudrun_state.MAX_OPERATIONS):
        when = f"2025-01-15T18:{minute // 60:02d}:{minute % 60:02d}Z"
        op = cloudrun_update.start_operation(state, PARENT, full, None, when=when)
        cloudrun_update.finish_operation(state, op)
    running = cloudrun_update.start_operation(  # older than all of them
        state, PARENT, full, None, when="2025-01-15T17:00:00Z", polls=5
    )
    cloudrun_state.save_state(tmp_path, state)

    state = cloudrun_state.load_state(tmp_path)
    assert running["name"] in state["operations"]
    assert len(state["operations"]) == cloudrun_state.MAX_OPERATIONS
    assert state["services"][full]["reconciling"] is True
    for _ in range(6):  # five polls answered "not done", then it finishes
        cloudrun_update.poll_operation(state, running["name"])
    assert state["operations"][running["name"]]["done"] is True
    assert state["services"][full]["reconciling"] is False
