"""Invoke task modules: thin entry points that parse flags, call one nbaops function and
map its report to an exit code through :func:`nbaops.cli.runner.finish`."""
