"""Local stand-ins for Google Cloud services (local profile and tests).

:mod:`~nbaops.local.standin` serves the Google APIs nbaops calls on 127.0.0.1 (its
docstring lists them and the modules behind each); what the served world decides comes
from injected :class:`~nbaops.local.world.WorldHooks`, so ``local/`` never imports the sandbox.
"""
