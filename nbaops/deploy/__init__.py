"""Safe deploys: pre-deploy checklist, locked deploy, observation window, automated rollback.

Modules (each holds one thing):

- :mod:`~nbaops.deploy.predeploy` — the eight pre-deploy checks.
- :mod:`~nbaops.deploy.lock` — the per-service deploy lock (annotation + etag CAS).
- :mod:`~nbaops.deploy.image` — the image: ``--image`` or built from the commit.
- :mod:`~nbaops.deploy.observe` — the observation window and its verdict.
- :mod:`~nbaops.deploy.outcome` — observation verdict → promote / roll back / hold.
- :mod:`~nbaops.deploy.deploy` — ``inv deploy``, the orchestration.
- :mod:`~nbaops.deploy.rollback` — the verified rollback and ``inv rollback``.
- :mod:`~nbaops.deploy.verify` — ``inv verify-deploy``.
- :mod:`~nbaops.deploy.full` — ``inv full-deploy``.
- :mod:`~nbaops.deploy.history` — ``inv deploys``.
- :mod:`~nbaops.deploy.audit` — rows in ``nba_ops.deploys`` (spooled when unreachable).
- :mod:`~nbaops.deploy.settings` — the ``deploy:`` config section.
- :mod:`~nbaops.deploy.progress` — step-by-step progress on stderr.

Nothing here imports a Google client at import time.
"""
