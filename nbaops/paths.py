"""Where things live: the project root, the config file, the schemas, local state, and a
repository page as a link."""

from __future__ import annotations

from pathlib import Path

from nbaops.environment import typed

CONFIG_NAME = "nbaops.yaml"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``nbaops.yaml``.

    ``NBAOPS_ROOT`` overrides the search (read as every path variable is: stripped, ``~``
    expanded). Falls back to the folder this package was installed from (an editable
    install of the repository).
    """
    env = typed("NBAOPS_ROOT")
    if env is not None:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return Path(__file__).resolve().parent.parent


def schemas_dir(root: Path) -> Path:
    return root / "schemas"


def state_home(root: Path) -> Path:
    """The one git-ignored folder holding all local state (``$NBAOPS_HOME`` or ``.nbaops/``).

    ``NBAOPS_HOME`` is read as :func:`nbaops.environment.check` checked it (stripped, ``~``
    expanded); a value it refuses is the same UsageError here."""
    home = typed("NBAOPS_HOME")
    return Path(home).resolve() if home is not None else root / ".nbaops"


def shared_data_dir(root: Path) -> Path:
    """The real NBA data folder (``$NBAOPS_DATA`` or ``../shared/data/nba`` beside the repo)."""
    data = typed("NBAOPS_DATA")
    folder = Path(data) if data is not None else root.parent / "shared" / "data" / "nba"
    return folder.resolve()


def doc_url(doc: str, base: str | None) -> str | None:
    """``doc`` (a repository path) as a link under ``base``, or None without a base URL.

    Reports name the page to open next to a problem (a check's playbook, a runbook) and
    the same page as a URL when ``alerts.runbook_base_url`` is configured.
    """
    if not base or not doc:
        return None
    return base.rstrip("/") + "/" + doc.lstrip("/")
