"""Test worlds shared by the test directories: a package on ``sys.path`` through the
``pythonpath`` setting of ``[tool.pytest.ini_options]`` (pyproject.toml).

Import what a test needs by name (``from worlds.deploy_world import DeployWorld``); the
fixtures (``world``, ``dworld``, ``standin``…) are registered for every directory by
``tests/conftest.py`` (``pytest_plugins``), so a test module only names them.
"""
