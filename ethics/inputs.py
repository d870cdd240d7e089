"""Reading what the governance stages judge: the ethics files and the evaluation outputs.

The checklist, thresholds and per-model context files are the packaged ones under ``ethics/`` unless
``govern.checklist_file`` / ``thresholds_file`` / ``contexts_dir`` name others (relative to the project
root). Evaluation outputs follow docs/contracts.md; CSV text columns that hold numbers become numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ethics.checklist import CHECKLIST_FILE, CONTEXTS_DIR, THRESHOLDS_FILE, Checklist, parse_checklist
from ethics.thresholds import Thresholds, model_thresholds
from pipeline.core.config import GovernParams
from pipeline.core.io import read_csv_table, read_json, read_yaml
from pipeline.core.paths import ConfiguredFileMissing, ProjectPaths


def ethics_file(paths: ProjectPaths, configured: Path | None, packaged: Path, *, key: str = "") -> Path:
    """A configured ethics file (checklist, thresholds, contexts) under the root, else the packaged one.

    Raises:
        ConfiguredFileMissing: params.yaml names a file (``govern.<key>``) that does not exist.
    """
    if configured is None:
        return packaged
    path = paths.root / configured
    if not path.exists():
        raise ConfiguredFileMissing(f"govern.{key or 'file'} in params.yaml names {configured}, which does not exist "
                                    f"under the project root; fix the path, or set it to null to use the packaged "
                                    f"{packaged.relative_to(packaged.parents[1])}")
    return path


def thresholds_file(paths: ProjectPaths, cfg: GovernParams) -> Path:
    """The pre-registered thresholds file in use."""
    return ethics_file(paths, cfg.thresholds_file, THRESHOLDS_FILE, key="thresholds_file")


def read_checklist(paths: ProjectPaths, cfg: GovernParams) -> Checklist:
    """The checklist in use, validated (:func:`ethics.checklist.parse_checklist`)."""
    return parse_checklist(read_yaml(ethics_file(paths, cfg.checklist_file, CHECKLIST_FILE, key="checklist_file")))


def read_thresholds(paths: ProjectPaths, cfg: GovernParams, model: str) -> Thresholds:
    """The thresholds that apply to ``model`` (the defaults when it has no entry under ``models:``)."""
    return model_thresholds(read_yaml(thresholds_file(paths, cfg)), model)


def read_context(paths: ProjectPaths, cfg: GovernParams, model: str) -> dict[str, Any]:
    """``<contexts_dir>/<model>.yaml`` written by people; empty when the model has none yet."""
    path = ethics_file(paths, cfg.contexts_dir, CONTEXTS_DIR, key="contexts_dir") / f"{model}.yaml"
    return (read_yaml(path) or {}) if path.exists() else {}


def numeric_columns(df: pd.DataFrame) -> pd.DataFrame:
    """CSV text columns that hold numbers become numbers (group_metrics.csv, calibration.csv)."""
    out = df.copy()
    for column in out.columns:
        converted = pd.to_numeric(out[column], errors="coerce")
        if converted.notna().sum() == out[column].notna().sum():
            out[column] = converted
    return out


def read_numeric_csv(path: Path) -> pd.DataFrame:
    """A CSV report with its number columns as numbers (:func:`numeric_columns`)."""
    return numeric_columns(read_csv_table(path))


def read_optional_json(path: Path) -> Any:
    """A JSON report, or None when the stage that writes it has not run."""
    return read_json(path) if path.exists() else None
