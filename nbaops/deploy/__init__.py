"""Safe deploys: checklist, leased and journaled deploy, observation, automated rollback.

Modules (each holds one thing):

- :mod:`~nbaops.deploy.predeploy` — the eight pre-deploy checks (the git ones and their
  shared result in :mod:`~nbaops.deploy.checklist`).
- :mod:`~nbaops.deploy.lock` — the per-service deploy lease (annotation + etag CAS,
  fencing token).
- :mod:`~nbaops.deploy.heartbeat` — renews the lease while a deploy runs.
- :mod:`~nbaops.deploy.journal` — intent + pre-deploy state on the service; crash points.
- :mod:`~nbaops.deploy.recovery` — the next command recovers an interrupted deploy.
- :mod:`~nbaops.deploy.signals` — SIGTERM/SIGHUP handled like Ctrl-C.
- :mod:`~nbaops.deploy.image` — the image: ``--image`` or built from the commit.
- :mod:`~nbaops.deploy.observe` — the observation window and its verdict.
- :mod:`~nbaops.deploy.outcome` — observation verdict → promote / roll back / hold.
- :mod:`~nbaops.deploy.request` — what ``inv deploy`` was asked, validated first.
- :mod:`~nbaops.deploy.deploy` — ``inv deploy``, the orchestration; one deploy in flight
  and its fenced steps in :mod:`~nbaops.deploy.inflight`; how it ends (promote, hold,
  roll back, restore after an error) in :mod:`~nbaops.deploy.settle`.
- :mod:`~nbaops.deploy.deploy_report` — its report; :mod:`~nbaops.deploy.plan` — its dry run.
- :mod:`~nbaops.deploy.restore` — the one verified rollback procedure.
- :mod:`~nbaops.deploy.rollback` — ``inv rollback``.
- :mod:`~nbaops.deploy.verify` — ``inv verify-deploy``.
- :mod:`~nbaops.deploy.full` — ``inv full-deploy``.
- :mod:`~nbaops.deploy.history` — ``inv deploys``.
- :mod:`~nbaops.deploy.audit` — rows in ``nba_ops.deploys`` (spooled when unreachable).
- :mod:`~nbaops.deploy.settings` — the ``deploy:`` config section.
- :mod:`~nbaops.deploy.progress` — step-by-step progress on stderr.

Nothing here imports a Google client at import time.
"""
