"""The pipeline project the app serves: its parameters and paths, from ``RISKPIPE_ROOT``/``RISKPIPE_PARAMS``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from pipeline.core.config import Params, load_params
from pipeline.core.paths import ProjectPaths, project_paths


@dataclass(frozen=True)
class Project:
    """The project root's parameters and paths, and the configured pseudonymisation key file."""

    params: Params
    paths: ProjectPaths

    @property
    def models(self) -> list[str]:
        return list(self.params.models)

    @property
    def offers_file(self) -> Path:
        """Where ``export_offers`` writes the offers events (``RISKPIPE_OFFERS_FILE`` or the raw interventions)."""
        return Path(settings.RISKPIPE_OFFERS_FILE or self.paths.raw / "interventions" / "app_offers.csv")

    @property
    def pseudo_key_file(self) -> Path:
        return self.paths.root / self.params.pseudonymise.key_file


def current_project() -> Project:
    """The project named by the settings now (read each time: tests and admins may point it elsewhere).

    Raises:
        ConfigError: params.yaml is missing or invalid.
    """
    root = Path(settings.RISKPIPE_ROOT)
    params_file = Path(settings.RISKPIPE_PARAMS or root / "params.yaml")
    return Project(load_params(params_file), project_paths(root))
