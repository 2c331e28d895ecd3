"""What a sandbox build needs (:class:`Settings`): from a Context, or inside the
stand-in's refresh hook from the marker the last build wrote."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """What a build needs, from a Context or (inside the stand-in's hook) from the marker."""

    home: Path
    root: Path
    project: str
    region: str
    datasets: dict[str, str]
    services: list[str]
    model_env: dict[str, str]
    image_repository: str
    # profiles.local.invoker_service_account (None in a marker written before it was kept)
    invoker_service_account: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["home"], data["root"] = str(self.home), str(self.root)
        return data

    def config_part(self) -> dict[str, Any]:
        """What a build takes from the config (:meth:`to_json` less the two folders)."""
        data = self.to_json()
        del data["home"], data["root"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """The settings :meth:`to_json` wrote into the marker."""
        return cls(**{**data, "home": Path(data["home"]), "root": Path(data["root"])})
