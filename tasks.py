"""nbaops tasks: `inv --list` shows them, `inv --help TASK` explains each flag.

This file only wires the task collections of ``nbaops.cli``. No Google client is imported
here or by those modules at import time, so `inv --list` stays fast.
"""

from __future__ import annotations

from invoke import Collection

from nbaops.cli import checks as check_tasks
from nbaops.cli import deploy as deploy_tasks
from nbaops.cli import docs as docs_tasks
from nbaops.cli import drift as drift_tasks
from nbaops.cli import regression as regression_tasks
from nbaops.cli import sandbox, services
from nbaops.cli import schedule as schedule_tasks
from nbaops.cli import schema as schema_tasks
from nbaops.cli import slack as slack_tasks

ns = Collection()
for task in services.TASKS:
    ns.add_task(task)
for task in [*check_tasks.TASKS, *drift_tasks.TASKS]:
    ns.add_task(task)
for task in [*deploy_tasks.TASKS, *regression_tasks.TASKS]:
    ns.add_task(task)
for task in schema_tasks.TASKS:
    ns.add_task(task)
ns.add_collection(sandbox.ns)
ns.add_collection(slack_tasks.ns)
ns.add_collection(schedule_tasks.ns)
ns.add_collection(docs_tasks.ns)
