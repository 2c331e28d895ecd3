"""Deployment drift: code merged to main that is not serving in production.

- :mod:`nbaops.drift.detect`: per-service measurement (:func:`detect_drift`).
- :mod:`nbaops.drift.report`: the report's data, its table, JSON and Markdown.
- :mod:`nbaops.drift.github_issues`: one GitHub issue per drifting service.
- :mod:`nbaops.drift.settings`: the ``drift:`` config section.
- :mod:`nbaops.drift.run`: the ``check-drift`` operation (detect, sync, write files).
"""
