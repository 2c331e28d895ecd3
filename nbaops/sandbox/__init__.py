"""The local sandbox: a realistic game-day state for the ``local`` profile.

- :mod:`nbaops.sandbox.lifecycle` — ``ensure_sandbox(ctx)`` (create on first use, cheap
  when current), ``reset(ctx, seed=, from_logs=)``, ``status(ctx)``.
- :mod:`nbaops.sandbox.league` — synthetic players, schedule and box scores;
  :mod:`nbaops.sandbox.import_logs` — the same from real nba_api game logs.
- :mod:`nbaops.sandbox.generate` — features, lines, batches, predictions (v8, v9),
  grading, heartbeats and log entries of a league.
- :mod:`nbaops.sandbox.faults` (catalog, transforms) and
  :mod:`nbaops.sandbox.fault_injection` — ``inject(ctx, name, service=)``, ``clear(ctx)``
  and the stand-in's ``on_new_revision`` hook.
"""
