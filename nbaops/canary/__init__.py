"""Canary analysis: the new revision against its baseline on live request metrics.

:mod:`~nbaops.canary.stats` (the tests, pure Python), :mod:`~nbaops.canary.settings`
(``deploy.canary_analysis``), :mod:`~nbaops.canary.analysis` (verdict per metric, pure)
and :mod:`~nbaops.canary.run` (one call per observation round; reads Cloud Monitoring).
See docs/canary.md.
"""
