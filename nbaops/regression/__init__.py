"""Prediction-quality regression suite: metrics, statistical gates and reports.

Entry point: :func:`nbaops.regression.run.run_regression` (``inv regression``,
``nox -s regression``). Modules: ``stats`` (pure-Python Wilson, exact binomial, McNemar),
``metrics`` (DuckDB SQL), ``gates`` (verdicts), ``golden`` (reference data set from the
real NBA data), ``sources`` (warehouse / file), ``report`` (terminal, HTML, JUnit),
``settings`` (the ``regression:`` config section).
"""
