"""nbaops tasks: `inv --list` shows them, `inv --help TASK` explains each flag.

This file only wires the task collections of ``nbaops.cli``. No Google client is imported
here or by those modules at import time, so `inv --list` stays fast.
"""

from __future__ import annotations

from invoke.collection import Collection

from nbaops.cli import checks as check_tasks
from nbaops.cli import deploy as deploy_tasks
from nbaops.cli import docs as docs_tasks
from nbaops.cli import drift as drift_tasks
from nbaops.cli import regression as regression_tasks
from nbaops.cli import sandbox, services
from nbaops.cli import schedule as schedule_tasks
from nbaops.cli import schema as schema_tasks
from nbaops.cli import slack as slack_tasks
from nbaops.cli.program import adopt_running_program

ns = Collection()
for module in (services, check_tasks, drift_tasks, deploy_tasks, schema_tasks):
    for task in module.TASKS:
        ns.add_task(task)
for collection in (
    sandbox.ns,
    slack_tasks.ns,
    schedule_tasks.ns,
    docs_tasks.ns,
    regression_tasks.ns,
):
    ns.add_collection(collection)

# `inv` parses the tasks' flags after loading this file: bad flags, values and task names
# then exit 2 with one line (and a JSON document with --json), like every other usage error.
adopt_running_program()
