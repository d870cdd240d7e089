"""Where the project is, the constants the notebooks share, and CSV reports read back as numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MODELS_IN_ORDER = ("lightgbm", "logistic", "rule", "generator")
HEADLINE_METRICS = ("n", "prevalence", "auc", "auc_ci", "average_precision", "brier", "ece", "oe_ratio",
                    "calibration_slope", "calibration_intercept", "precision_at_capacity", "recall_at_capacity",
                    "lift_at_capacity", "lift_top_0_5pct")
# risk-list columns a notebook may show: no token, no per-person record dates
RISK_LIST_DISPLAY_COLUMNS = ("status", "rank", "risk_percent", "band", "reasons")


def find_project_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding dvc.yaml and params.yaml.

    A notebook opened from ``notebooks/`` and one executed with the project root as its working
    directory both find the same project.

    Raises:
        FileNotFoundError: no such folder above ``start``.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file() and (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no riskpipe project (dvc.yaml and params.yaml) at or above {here}")


def numeric_columns(df: pd.DataFrame) -> pd.DataFrame:
    """CSV text columns whose every non-missing value is a number become float; ``True``/``False`` become bool."""
    out = df.copy()
    for column in out.columns:
        values = out[column]
        if values.dropna().isin(["True", "False"]).all() and values.notna().any():
            out[column] = values.eq("True")
            continue
        converted = pd.to_numeric(values, errors="coerce")
        if converted.notna().sum() == values.notna().sum():
            out[column] = converted.astype("float64")
    return out
